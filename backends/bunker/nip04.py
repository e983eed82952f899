"""NIP-04 (deprecated) encryption, for the older clients a token may explicitly allow.

AES-256-CBC with PKCS#7 padding; the key is the unhashed x coordinate of the ECDH point;
the payload is ``base64(ciphertext) + "?iv=" + base64(iv)``. NIP-04 has no MAC: the
bunker never uses it for its own transport, only for ``nip04_*`` requests a token grants.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from coincurve import PublicKey

from backends.bunker.errors import DecryptionFailed, InvalidKey


def shared_key(secret: bytes, public_x: bytes) -> bytes:
    try:
        return PublicKey(b"\x02" + bytes(public_x)).multiply(bytes(secret)).format()[1:]
    except ValueError:
        raise InvalidKey("the public key is not a point on secp256k1") from None


def encrypt(plaintext: str, key: bytes, iv: bytes | None = None) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = secrets.token_bytes(16) if iv is None else iv
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    return f"{base64.b64encode(ciphertext).decode()}?iv={base64.b64encode(iv).decode()}"


def decrypt(payload: str, key: bytes) -> str:
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    body, sep, iv_text = payload.partition("?iv=")
    try:
        ciphertext = base64.b64decode(body, validate=True)
        iv = base64.b64decode(iv_text, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionFailed("a NIP-04 payload is base64?iv=base64") from None
    if not sep or len(iv) != 16 or not ciphertext or len(ciphertext) % 16:
        raise DecryptionFailed("a NIP-04 payload is base64?iv=base64 with a 16-byte IV")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    try:
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode()
    except (ValueError, UnicodeDecodeError):
        raise DecryptionFailed("NIP-04 payload does not decrypt with this key") from None
