"""The threshold key as a Taproot output: key-path only, BIP-341 tweak with no script tree.

ChillDKG's threshold key already commits to an unspendable script path, so no participant
can hide a script in it. On top of that, the output key is the usual BIP-341 key-path
tweak Q = with_even_y(P) + H_TapTweak(x(P))·G, and signing applies that tweak as a BIP-445
x-only tweak so the group's signature is valid for Q.
"""

from __future__ import annotations

from backends.wallet.addresses import address_from_script
from backends.wallet.network import Network

from . import frost
from .secp import XonlyKey, tagged_hash


def key_path_tweak(thresh_pk: bytes) -> bytes:
    """H_TapTweak(x(P)): the BIP-341 tweak for an output with no script tree."""
    internal = frost.tweak_ctx_init(thresh_pk).Q.to_bytes_xonly()
    return tagged_hash("TapTweak", internal)


def signing_tweaks(thresh_pk: bytes) -> tuple[tuple[bytes, ...], tuple[bool, ...]]:
    """The (tweaks, is_xonly) to pass to BIP-445 signing for a key-path spend."""
    return (key_path_tweak(thresh_pk),), (True,)


def internal_key(thresh_pk: bytes) -> XonlyKey:
    return frost.tweak_ctx_init(thresh_pk).Q.xonly()


def output_key(thresh_pk: bytes) -> XonlyKey:
    ctx = frost.apply_tweak(frost.tweak_ctx_init(thresh_pk), key_path_tweak(thresh_pk), True)
    return ctx.Q.xonly()


def output_script(thresh_pk: bytes) -> bytes:
    """OP_1 <32-byte output key>."""
    return b"\x51\x20" + bytes(output_key(thresh_pk))


def address(thresh_pk: bytes, network: Network | str) -> str:
    """The bech32m address of the group's key-path output on ``network``."""
    return address_from_script(output_script(thresh_pk), network)


def descriptor(thresh_pk: bytes) -> str:
    """``tr(<internal key>)``, for a watch-only chain backend to follow the output."""
    return f"tr({bytes(internal_key(thresh_pk)).hex()})"
