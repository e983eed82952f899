"""The device's secrets: its BIP-39 seed words, the BIP-32 master key, xfp and xpubs.

The master fingerprint travels on the wire as a little-endian 32-bit integer ("xfp"),
so the fingerprint bytes ``0F 05 69 43`` are the integer ``0x4369050F``. Paths are
written the firmware's way: lower case, ``h`` for hardened, an ``m/`` prefix.
"""

from __future__ import annotations

import hashlib
import re
import struct

import coincurve
from coincurve._libsecp256k1 import ffi
from embit import bip32, bip39
from embit.networks import NETWORKS

from backends.outside_input import is_decimal

# The official simulator's default seed (public; printed by its --help and in its tests).
SIMULATOR_WORDS = (
    "wife shiver author away frog air rough vanish fantasy frozen noodle athlete "
    "pioneer citizen symptom firm much faith extend rare axis garment kiwi clarify"
)
MAX_PATH_DEPTH = 12
HARDENED = 0x80000000

# chain code -> embit network name used to serialize extended keys
CHAIN_NETWORK = {"BTC": "main", "XTN": "test", "XRT": "regtest"}


def cleanup_deriv_path(raw: bytes | str, *, allow_star: bool = False) -> str:
    """Normalise a derivation path as the firmware does, with its assertion texts."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode("ascii")
        text = text.strip()
        if not text.isascii() or not text.isprintable():
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise AssertionError("must be ascii printable") from None
    s = text.lower()
    if s == "":
        return "m"
    s = s.replace("p", "h").replace("'", "h")
    star = r"(\*h|\*|)" if allow_star else ""
    mat = re.match(r"(m|m/|)[0-9/h]*" + star, s)
    assert mat.group(0) == s, "invalid characters in path"
    parts = s.split("/")
    if parts and parts[0] == "m":
        parts = parts[1:]
    if not parts:
        return "m"
    assert len(parts) <= MAX_PATH_DEPTH, "too deep"
    for p in parts:
        assert p and p != "h", "empty path component"
        if allow_star and "*" in p:
            assert p in ("*", "*h"), "bad wildcard"
            continue
        digits = p[:-1] if p[-1] == "h" else p
        ip = int(digits) if is_decimal(digits, max_digits=10) else -1
        assert 0 <= ip < HARDENED and digits == str(ip), "bad component: " + digits
    return "m/" + "/".join(parts)


def path_to_ints(path: str) -> list[int]:
    if path == "m":
        return []
    out = []
    for part in path[2:].split("/"):
        out.append(int(part[:-1]) | HARDENED if part.endswith("h") else int(part))
    return out


def ints_to_path(ints) -> str:
    if not ints:
        return "m"
    return "m/" + "/".join(str(i & 0x7FFFFFFF) + ("h" if i & HARDENED else "") for i in ints)


def xfp_to_str(xfp: int) -> str:
    return struct.pack("<I", xfp).hex().upper()


def str_to_xfp(text: str) -> int:
    return struct.unpack("<I", bytes.fromhex(text))[0]


class DeviceKeys:
    """The master key of one emulated device. Never logged; never in ``repr``."""

    def __init__(self, words: str, chain: str) -> None:
        words = " ".join(words.split())
        if not bip39.mnemonic_is_valid(words):
            raise ValueError("seed words are not a valid BIP-39 mnemonic")
        self._root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(words))
        self.chain = chain
        self.fingerprint = self._root.my_fingerprint
        self.xfp = struct.unpack("<I", self.fingerprint)[0]

    def __repr__(self) -> str:
        return f"DeviceKeys(xfp={xfp_to_str(self.xfp)})"

    @property
    def network(self) -> dict:
        return NETWORKS[CHAIN_NETWORK[self.chain]]

    def node(self, path: str | list[int]) -> bip32.HDKey:
        ints = path_to_ints(path) if isinstance(path, str) else list(path)
        return self._root.derive(ints) if ints else self._root

    def xpub(self, path: str | list[int] = "m") -> str:
        return self.node(path).to_public().to_base58(version=self.network["xpub"])

    def pubkey(self, path: str | list[int]) -> bytes:
        return self.node(path).get_public_key().sec()

    def private_key(self, path: str | list[int]) -> coincurve.PrivateKey:
        return coincurve.PrivateKey(self.node(path).key.secret)

    def sign_compact(self, path: str | list[int], digest: bytes, header_base: int) -> bytes:
        """A 65-byte recoverable signature, header byte = ``header_base`` + recid."""
        raw = self.private_key(path).sign_recoverable(digest, hasher=None)
        return bytes([header_base + raw[64]]) + raw[:64]

    def sign_ecdsa_der(self, path: list[int], digest: bytes) -> bytes:
        """A DER signature with low S and, by grinding, low R (``psbt.ecdsa_grind_sign``).

        As ``ngu.secp256k1.sign(pk, digest, n)``: RFC 6979, with retry ``n`` (n > 0) passed
        as 32 bytes of extra nonce data (LE32 ``n`` then zeros), until R's first byte is
        below 0x80; so the bytes are the device's and never 72 long.
        """
        key = self.private_key(path)
        counter = 0
        while True:
            nonce = (ffi.NULL, ffi.NULL)
            if counter:
                nonce = (ffi.NULL, ffi.new("unsigned char[32]", struct.pack("<I", counter) + bytes(28)))
            der = key.sign(digest, hasher=None, custom_nonce=nonce)
            if der[3] <= 32:  # R encodes without a 0x00 pad: its first byte is below 0x80
                return der
            counter += 1


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()
