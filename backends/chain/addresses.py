"""The payout script of mined blocks: a scriptPubKey as given, or an address parsed by the
wallet layer (which refuses another network's address)."""

from __future__ import annotations

from .errors import ChainError


def payout_script(address_or_script: str | bytes, network: str) -> bytes:
    if isinstance(address_or_script, (bytes, bytearray)):
        if not address_or_script:
            raise ChainError("the payout scriptPubKey is empty")
        return bytes(address_or_script)
    from backends.wallet import parse_address

    return parse_address(address_or_script, network)
