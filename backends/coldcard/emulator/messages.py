"""BIP-137 message signing: the firmware's text rules, the digest, the address shown."""

from __future__ import annotations

import hashlib
import struct

from embit import ec

from .keys import DeviceKeys
from .outputs import CHAIN_ADDRESS_NETWORK

MSG_MAX_LENGTH = 240
AF_CLASSIC, AF_P2WPKH, AF_P2WPKH_P2SH = 0x01, 0x07, 0x13
SIG_HEADER_BASE = {AF_CLASSIC: 31, AF_P2WPKH_P2SH: 35, AF_P2WPKH: 39}


def validate_text_for_signing(raw: bytes) -> str:
    try:
        text = bytes(raw).decode("ascii")
        if not text.isprintable():
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise AssertionError("must be ascii printable") from None
    assert len(text) >= 2, "msg too short (min. 2)"
    assert len(text) <= MSG_MAX_LENGTH, "msg too long (max. %d)" % MSG_MAX_LENGTH
    assert "   " not in text, "too many spaces together in msg(max. 3)"
    assert text[0] != " ", "leading space(s) in msg"
    assert text[-1] != " ", "trailing space(s) in msg"
    return text


def check_msg_addr_fmt(addr_fmt: int) -> int:
    if addr_fmt not in SIG_HEADER_BASE:
        raise ValueError("Invalid address format: '%s'\n\nChoose from p2pkh, p2wpkh, p2sh-p2wpkh." % addr_fmt)
    return addr_fmt


def message_digest(text: str) -> bytes:
    msg = text.encode()
    prefix = b"\x18Bitcoin Signed Message:\n"
    n = len(msg)
    size = bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n)
    return hashlib.sha256(hashlib.sha256(prefix + size + msg).digest()).digest()


def single_address(keys: DeviceKeys, path: str, addr_fmt: int) -> str:
    from embit.networks import NETWORKS
    from embit.script import p2pkh, p2sh, p2wpkh

    pub = ec.PublicKey.parse(keys.pubkey(path))
    net = NETWORKS[CHAIN_ADDRESS_NETWORK[keys.chain]]
    if addr_fmt == AF_CLASSIC:
        return p2pkh(pub).address(net)
    if addr_fmt == AF_P2WPKH:
        return p2wpkh(pub).address(net)
    if addr_fmt == AF_P2WPKH_P2SH:
        return p2sh(p2wpkh(pub)).address(net)
    raise AssertionError("Unknown/unsupported addr format")


def sign_message(keys: DeviceKeys, text: str, path: str, addr_fmt: int) -> bytes:
    return keys.sign_compact(path, message_digest(text), SIG_HEADER_BASE[addr_fmt])
