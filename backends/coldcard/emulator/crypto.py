"""Link encryption set up by ``ncry``: ECDH session key, AES-256-CTR streams, v3 tags.

v1 and v2 share one wire format: one AES-256-CTR stream per direction, both keyed with
SHA-256 of the ECDH point and both starting at counter 0, continuous across messages.
v2 additionally binds the link (plaintext refused, no second ``ncry``). v3, as
ckcc-protocol 1.6.0 speaks it, derives per-direction AES and HMAC keys from a transcript
of both public keys and appends a 16-byte tag over direction, sequence number, length
and ciphertext to every message.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import coincurve
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .framing import V3_TAG_LEN, FramingError

NCRY_V1, NCRY_V2, NCRY_V3 = 1, 2, 3
V3_LABEL = b"ccncry3"
V3_C2D = b"C2D\0"
V3_D2C = b"D2C\0"


def _ctr(key: bytes):
    return Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def v3_keys(session_key: bytes, host_pub: bytes, device_pub: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """(host->device AES, host->device MAC, device->host AES, device->host MAC)."""
    transcript = hashlib.sha256(V3_LABEL + struct.pack("<I", NCRY_V3) + host_pub + device_pub).digest()
    prk = hmac.new(transcript, session_key, hashlib.sha256).digest()
    okm = _hkdf_expand(prk, V3_LABEL, 128)
    return okm[0:32], okm[32:64], okm[64:96], okm[96:128]


def ecdh_session_key(private: coincurve.PrivateKey, host_pub64: bytes) -> bytes:
    """SHA-256 over X||Y of the shared point (not the compressed-point hash of libsecp)."""
    try:
        point = coincurve.PublicKey(b"\x04" + host_pub64).multiply(private.secret)
    except (ValueError, TypeError):
        raise AssertionError("bad pubkey") from None
    return hashlib.sha256(point.format(compressed=False)[1:]).digest()


class LinkCrypto:
    """The encryption state of the one USB link; replaced by every accepted ``ncry``."""

    def __init__(self, version: int, session_key: bytes, host_pub: bytes, device_pub: bytes) -> None:
        self.version = version
        self.session_key = session_key
        if version == NCRY_V3:
            h2d_key, self._h2d_mac, d2h_key, self._d2h_mac = v3_keys(session_key, host_pub, device_pub)
        else:
            h2d_key = d2h_key = session_key
        self._decryptor = _ctr(h2d_key)
        self._encryptor = _ctr(d2h_key)
        self._rx_seq = 0
        self._tx_seq = 0

    @property
    def bound(self) -> bool:
        return self.version in (NCRY_V2, NCRY_V3)

    def decrypt_request(self, wire: bytes) -> bytes:
        if self.version != NCRY_V3:
            return self._decryptor.update(wire)
        if len(wire) < 4 + V3_TAG_LEN:
            raise FramingError("badsz")
        ciphertext, tag = wire[:-V3_TAG_LEN], wire[-V3_TAG_LEN:]
        expect = hmac.new(
            self._h2d_mac, struct.pack("<4sII", V3_C2D, self._rx_seq, len(ciphertext)) + ciphertext, hashlib.sha256
        ).digest()[:V3_TAG_LEN]
        if not hmac.compare_digest(tag, expect):
            # the stream does not advance: the message was never accepted
            raise FramingError("bad auth")
        self._rx_seq += 1
        return self._decryptor.update(ciphertext)

    def encrypt_response(self, plain: bytes) -> bytes:
        ciphertext = self._encryptor.update(plain)
        if self.version != NCRY_V3:
            return ciphertext
        tag = hmac.new(
            self._d2h_mac, struct.pack("<4sII", V3_D2C, self._tx_seq, len(ciphertext)) + ciphertext, hashlib.sha256
        ).digest()[:V3_TAG_LEN]
        self._tx_seq += 1
        return ciphertext + tag
