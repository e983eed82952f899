"""NIP-44 v2 encryption (nips 44.md, with the 2026-06 extended length prefix).

Names follow the spec's pseudocode. ChaCha20 comes from ``cryptography`` (PyNaCl offers
only the AEAD variants); the ECDH x coordinate from libsecp256k1 through coincurve.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

from coincurve import PublicKey

from backends.bunker.errors import DecryptionFailed, InvalidKey, InvalidPlaintext
from backends.bunker.nostr import SECP256K1_ORDER

VERSION = 2
MIN_PLAINTEXT_SIZE = 1
MAX_PLAINTEXT_SIZE = 2**32 - 1
EXTENDED_PREFIX_THRESHOLD = 65536
_SALT = b"nip44-v2"


def get_conversation_key(secret: bytes, public_x: bytes) -> bytes:
    """HKDF-extract(salt="nip44-v2", ikm=unhashed shared x): the same in both directions."""
    if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < SECP256K1_ORDER:
        raise InvalidKey("the secret key must be in 1..n-1 of secp256k1")
    try:
        # coincurve's ecdh() hashes the point; NIP-44 needs the bare x, so multiply instead
        shared_x = PublicKey(b"\x02" + bytes(public_x)).multiply(bytes(secret)).format()[1:]
    except ValueError:
        raise InvalidKey("the public key is not a point on secp256k1") from None
    return hmac.new(_SALT, shared_x, hashlib.sha256).digest()


def get_message_keys(conversation_key: bytes, nonce: bytes) -> tuple[bytes, bytes, bytes]:
    if len(conversation_key) != 32:
        raise InvalidKey("a conversation key is 32 bytes")
    if len(nonce) != 32:
        raise DecryptionFailed("a NIP-44 nonce is 32 bytes")
    from cryptography.hazmat.primitives.hashes import SHA256
    from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

    keys = HKDFExpand(algorithm=SHA256(), length=76, info=nonce).derive(conversation_key)
    return keys[0:32], keys[32:44], keys[44:76]


def calc_padded_len(unpadded_len: int) -> int:
    if unpadded_len <= 32:
        return 32
    next_power = 1 << ((unpadded_len - 1).bit_length())
    chunk = 32 if next_power <= 256 else next_power // 8
    return chunk * ((unpadded_len - 1) // chunk + 1)


def pad(plaintext: str) -> bytes:
    unpadded = plaintext.encode()
    length = len(unpadded)
    if not MIN_PLAINTEXT_SIZE <= length <= MAX_PLAINTEXT_SIZE:
        raise InvalidPlaintext(f"a NIP-44 plaintext is 1 to {MAX_PLAINTEXT_SIZE} bytes, not {length}")
    if length >= EXTENDED_PREFIX_THRESHOLD:
        prefix = b"\x00\x00" + length.to_bytes(4, "big")
    else:
        prefix = length.to_bytes(2, "big")
    return prefix + unpadded + bytes(calc_padded_len(length) - length)


def unpad(padded: bytes) -> str:
    first_two = int.from_bytes(padded[0:2], "big")
    if first_two == 0:
        unpadded_len = int.from_bytes(padded[2:6], "big")
        if unpadded_len < EXTENDED_PREFIX_THRESHOLD:
            raise DecryptionFailed("invalid padding")
        prefix_len = 6
    else:
        unpadded_len, prefix_len = first_two, 2
    unpadded = padded[prefix_len:prefix_len + unpadded_len]
    if (
        unpadded_len == 0
        or len(unpadded) != unpadded_len
        or len(padded) != prefix_len + calc_padded_len(unpadded_len)
    ):
        raise DecryptionFailed("invalid padding")
    try:
        return unpadded.decode()
    except UnicodeDecodeError:
        raise DecryptionFailed("plaintext is not UTF-8") from None


def _chacha20(key: bytes, nonce12: bytes, data: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    # cryptography's ChaCha20 nonce is a 4-byte little-endian counter (0) then the IETF nonce
    encryptor = Cipher(algorithms.ChaCha20(key, b"\x00\x00\x00\x00" + nonce12), mode=None).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def _hmac_aad(key: bytes, message: bytes, aad: bytes) -> bytes:
    if len(aad) != 32:
        raise DecryptionFailed("AAD associated data must be 32 bytes")
    return hmac.new(key, aad + message, hashlib.sha256).digest()


def encrypt(plaintext: str, conversation_key: bytes, nonce: bytes | None = None) -> str:
    nonce = secrets.token_bytes(32) if nonce is None else nonce
    chacha_key, chacha_nonce, hmac_key = get_message_keys(conversation_key, nonce)
    ciphertext = _chacha20(chacha_key, chacha_nonce, pad(plaintext))
    mac = _hmac_aad(hmac_key, ciphertext, nonce)
    return base64.b64encode(bytes([VERSION]) + nonce + ciphertext + mac).decode()


def decode_payload(payload: str) -> tuple[bytes, bytes, bytes]:
    if not isinstance(payload, str):
        raise DecryptionFailed("a NIP-44 payload is a string")
    plen = len(payload)
    if plen == 0 or payload[0] == "#":
        raise DecryptionFailed("unknown encryption version")
    if plen < 132:
        raise DecryptionFailed("invalid payload size")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("invalid base64") from None
    if len(data) < 99:
        raise DecryptionFailed("invalid data size")
    if data[0] != VERSION:
        raise DecryptionFailed(f"unknown encryption version {data[0]}")
    return data[1:33], data[33:-32], data[-32:]


def decrypt(payload: str, conversation_key: bytes) -> str:
    nonce, ciphertext, mac = decode_payload(payload)
    chacha_key, chacha_nonce, hmac_key = get_message_keys(conversation_key, nonce)
    # the MAC is checked in constant time before anything is decrypted
    if not hmac.compare_digest(_hmac_aad(hmac_key, ciphertext, nonce), mac):
        raise DecryptionFailed("invalid MAC")
    return unpad(_chacha20(chacha_key, chacha_nonce, ciphertext))
