"""Network-aware addresses: text to scriptPubKey and back.

embit's ``address_to_scriptpubkey`` ignores the network (it accepts ``bc1...`` on regtest),
so decoding is done here: base58check (BIP-13 prefixes) and bech32/bech32m (BIP-173,
BIP-350), each checked against the network it is used on.
"""

from __future__ import annotations

import hashlib

from backends.outside_input import excerpt

from .errors import AddressError, NetworkMismatch
from .network import NETWORKS_BY_NAME, Network

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

OP_DUP, OP_HASH160, OP_EQUAL, OP_EQUALVERIFY, OP_CHECKSIG = 0x76, 0xA9, 0x87, 0x88, 0xAC


_LABEL = {"main": "mainnet", "test": "testnet", "signet": "signet", "regtest": "regtest"}


# --- bech32 / bech32m (BIP-173, BIP-350) ---------------------------------------------------


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int] | None:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return out


def _bech32_decode(text: str) -> tuple[str, list[int], int]:
    """(hrp, data without checksum, checksum constant) or AddressError."""
    if any(ord(c) < 33 or ord(c) > 126 for c in text):
        raise AddressError("address has characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise AddressError("address mixes upper and lower case")
    text = text.lower()
    pos = text.rfind("1")
    if pos < 1 or pos + 7 > len(text) or len(text) > 90:
        raise AddressError("address has a bad bech32 length or separator")
    hrp, rest = text[:pos], text[pos + 1 :]
    if any(c not in _BECH32_CHARSET for c in rest):
        raise AddressError("address has a character that is not in the bech32 alphabet")
    data = [_BECH32_CHARSET.find(c) for c in rest]
    const = _bech32_polymod(_hrp_expand(hrp) + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        raise AddressError("address checksum is wrong (a typo?)")
    return hrp, data[:-6], const


def _bech32_encode(hrp: str, data: list[int], const: int) -> str:
    values = _hrp_expand(hrp) + data
    polymod = _bech32_polymod(values + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32_CHARSET[d] for d in data + checksum)


def _decode_segwit(text: str, network: Network) -> bytes:
    hrp, data, const = _bech32_decode(text)
    if hrp != network.bech32_hrp:
        raise _wrong_network_bech32(text, hrp, network)
    if not data:
        raise AddressError("segwit address has no witness version")
    version = data[0]
    if version > 16:
        raise AddressError(f"segwit address has invalid witness version {version}")
    program = _convertbits(data[1:], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        raise AddressError("segwit address has an invalid witness program length")
    if version == 0 and len(program) not in (20, 32):
        raise AddressError(
            f"segwit v0 address must hold 20 or 32 bytes, this one holds {len(program)}"
        )
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if const != expected:
        kind = "bech32" if version == 0 else "bech32m"
        raise AddressError(f"segwit v{version} address must be encoded as {kind} (BIP-350)")
    return bytes([version + 0x50 if version else 0, len(program)]) + bytes(program)


def _wrong_network_bech32(text: str, hrp: str, network: Network) -> NetworkMismatch:
    owners = [_LABEL[n.name] for n in NETWORKS_BY_NAME.values() if n.bech32_hrp == hrp]
    where = f"a {'/'.join(owners)} address" if owners else f"an address with prefix {hrp!r}"
    return NetworkMismatch(
        f"{text} is {where}; this wallet is on {network.name} (expects {network.bech32_hrp}1...)"
    )


# --- base58check ----------------------------------------------------------------------------


def _b58decode_check(text: str) -> bytes:
    num = 0
    for c in text:
        i = _B58_ALPHABET.find(c)
        if i < 0:
            raise AddressError(f"address has character {c!r} that is not in base58")
        num = num * 58 + i
    body = num.to_bytes((num.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(text) - len(text.lstrip("1"))) + body
    if len(raw) < 5:
        raise AddressError("address is too short")
    payload, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
        raise AddressError("address checksum is wrong (a typo?)")
    return payload


def _b58encode_check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    num = int.from_bytes(raw, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58_ALPHABET[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + out


def _decode_base58(text: str, network: Network) -> bytes:
    payload = _b58decode_check(text)
    if len(payload) != 21:
        raise AddressError(f"base58 address must hold 21 bytes, this one holds {len(payload)}")
    prefix, hash160 = payload[0], payload[1:]
    if prefix == network.p2pkh_prefix:
        return bytes([OP_DUP, OP_HASH160, 20]) + hash160 + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
    if prefix == network.p2sh_prefix:
        return bytes([OP_HASH160, 20]) + hash160 + bytes([OP_EQUAL])
    owners = sorted(
        {
            "mainnet" if n.is_mainnet else "testnet/signet/regtest"
            for n in NETWORKS_BY_NAME.values()
            if prefix in (n.p2pkh_prefix, n.p2sh_prefix)
        }
    )
    if owners:
        raise NetworkMismatch(f"{text} is a {owners[0]} address; this wallet is on {network.name}")
    raise AddressError(f"address has unknown base58 version byte 0x{prefix:02x}")


# --- public API -----------------------------------------------------------------------------


def parse_address(text: str, network: Network | str) -> bytes:
    """The scriptPubKey an address pays to, refusing addresses of another network."""
    network = Network.of(network)
    text = text.strip()
    if not text:
        raise AddressError("address is empty")
    lowered = text.lower()
    hrp = lowered[: lowered.rfind("1")] if "1" in lowered else ""
    if hrp in {n.bech32_hrp for n in NETWORKS_BY_NAME.values()}:
        return _decode_segwit(text, network)
    if all(c in _B58_ALPHABET for c in text) and 25 <= len(text) <= 35:
        return _decode_base58(text, network)
    if hrp and all(c in _BECH32_CHARSET for c in lowered[len(hrp) + 1 :]):
        return _decode_segwit(text, network)  # names the foreign prefix, or the bad checksum
    raise AddressError(f"{excerpt(text)!r} is not a bitcoin address")


def address_from_script(script_pubkey: bytes, network: Network | str) -> str:
    """The address of a standard scriptPubKey on ``network``; AddressError if it has none."""
    network = Network.of(network)
    spk = bytes(script_pubkey)
    if (
        len(spk) == 25
        and spk[:3] == bytes([OP_DUP, OP_HASH160, 20])
        and spk[23:] == bytes([OP_EQUALVERIFY, OP_CHECKSIG])
    ):
        return _b58encode_check(bytes([network.p2pkh_prefix]) + spk[3:23])
    if len(spk) == 23 and spk[:2] == bytes([OP_HASH160, 20]) and spk[22] == OP_EQUAL:
        return _b58encode_check(bytes([network.p2sh_prefix]) + spk[2:22])
    if 4 <= len(spk) <= 42 and (spk[0] == 0 or 0x51 <= spk[0] <= 0x60) and spk[1] == len(spk) - 2:
        version = 0 if spk[0] == 0 else spk[0] - 0x50
        program = spk[2:]
        if version == 0 and len(program) not in (20, 32):
            raise AddressError("scriptPubKey is a segwit v0 output of invalid length; it has no address")
        data = [version] + (_convertbits(program, 8, 5, True) or [])
        const = _BECH32_CONST if version == 0 else _BECH32M_CONST
        return _bech32_encode(network.bech32_hrp, data, const)
    raise AddressError(f"scriptPubKey {spk.hex()} is not a standard form with an address")


def script_type(script_pubkey: bytes) -> str:
    """``p2pkh``, ``p2sh``, ``p2wpkh``, ``p2wsh``, ``p2tr``, ``witness_unknown`` or ``nonstandard``."""
    spk = bytes(script_pubkey)
    if len(spk) == 25 and spk[:3] == b"\x76\xa9\x14" and spk[23:] == b"\x88\xac":
        return "p2pkh"
    if len(spk) == 23 and spk[:2] == b"\xa9\x14" and spk[22] == OP_EQUAL:
        return "p2sh"
    if len(spk) == 22 and spk[:2] == b"\x00\x14":
        return "p2wpkh"
    if len(spk) == 34 and spk[:2] == b"\x00\x20":
        return "p2wsh"
    if len(spk) == 34 and spk[:2] == b"\x51\x20":
        return "p2tr"
    if 4 <= len(spk) <= 42 and 0x51 <= spk[0] <= 0x60 and spk[1] == len(spk) - 2:
        return "witness_unknown"
    return "nonstandard"
