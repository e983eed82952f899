"""Address → scriptPubKey for the payout of mined blocks, refusing another network's address.

(The wallet layer owns address handling for spends; this is the chain's small need of it.)
"""

from __future__ import annotations

from .errors import ChainError

_HRP = {"main": "bc", "test": "tb", "testnet4": "tb", "signet": "tb", "regtest": "bcrt"}
_BASE58 = {"main": (0x00, 0x05)}
_BASE58_TEST = (0x6F, 0xC4)


def script_for_address(address: str, network: str) -> bytes:
    from embit import base58, bech32

    address = address.strip()
    hrp = _HRP.get(network, "tb")
    if address.lower().startswith(hrp + "1"):
        version, program = bech32.decode(hrp, address)
        if version is None or program is None:
            raise ChainError(f"not a valid {network} address: {address}")
        return bytes([0x50 + version if version else 0, len(program)]) + bytes(program)
    try:
        payload = base58.decode_check(address)
    except Exception:
        raise ChainError(f"not a valid {network} address: {address}") from None
    p2pkh, p2sh = _BASE58.get(network, _BASE58_TEST)
    if len(payload) == 21 and payload[0] == p2pkh:
        return b"\x76\xa9\x14" + payload[1:] + b"\x88\xac"
    if len(payload) == 21 and payload[0] == p2sh:
        return b"\xa9\x14" + payload[1:] + b"\x87"
    raise ChainError(f"not a valid {network} address: {address}")


def payout_script(address_or_script: str | bytes, network: str) -> bytes:
    if isinstance(address_or_script, (bytes, bytearray)):
        if not address_or_script:
            raise ChainError("the payout scriptPubKey is empty")
        return bytes(address_or_script)
    return script_for_address(address_or_script, network)
