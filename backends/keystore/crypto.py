"""Passphrase key derivation (Argon2id) and authenticated encryption (XChaCha20-Poly1305).

Thin, typed wrappers over libsodium through PyNaCl. Keys live in ``bytearray`` so that
``wipe`` can zero them; libsodium's Python binding needs ``bytes``, so each call makes a
short-lived immutable copy that the garbage collector reclaims (a limit of Python).
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.pwhash

from backends.keystore.errors import InvalidKdfParams, InvalidPassphrase

SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES  # 16
NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES  # 32
TAG_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES  # 16

# Bounds accepted when reading a file: a tampered header must not make unlock run for an
# hour or allocate the machine's memory.
OPSLIMIT_MIN = nacl.pwhash.argon2id.OPSLIMIT_MIN
OPSLIMIT_MAX = 64
MEMLIMIT_MIN = 8 * 1024 * 1024
MEMLIMIT_MAX = 4 * 1024 * 1024 * 1024

MIB = 1024 * 1024


class DecryptionFailed(Exception):
    """The AEAD tag did not verify: wrong key, or ciphertext/associated data modified.

    Internal: callers translate it into WrongPassphrase or KeystoreCorrupt, which they
    can tell apart because they know whether the key was already verified.
    """


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost: ``opslimit`` passes over ``memlimit`` bytes (parallelism is 1)."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not self.in_bounds():
            raise InvalidKdfParams(
                f"Argon2id cost out of range: opslimit {self.opslimit} must be in "
                f"{OPSLIMIT_MIN}..{OPSLIMIT_MAX}, memlimit {self.memlimit} bytes in "
                f"{MEMLIMIT_MIN}..{MEMLIMIT_MAX}"
            )

    def in_bounds(self) -> bool:
        return (
            OPSLIMIT_MIN <= self.opslimit <= OPSLIMIT_MAX
            and MEMLIMIT_MIN <= self.memlimit <= MEMLIMIT_MAX
        )

    @classmethod
    def default(cls) -> KdfParams:
        """Production cost: 3 passes over 256 MiB (about a second on a laptop)."""
        return cls(opslimit=3, memlimit=256 * MIB)

    @classmethod
    def fast(cls) -> KdfParams:
        """Test cost: 1 pass over 8 MiB. Never use it for real secrets."""
        return cls(opslimit=1, memlimit=8 * MIB)

    def describe(self) -> str:
        return f"Argon2id t={self.opslimit} m={self.memlimit // MIB} MiB"


def new_salt() -> bytes:
    return os.urandom(SALT_BYTES)


def new_nonce() -> bytes:
    return os.urandom(NONCE_BYTES)


def nfkd_utf8(text: str, what: str = "the passphrase") -> bytes:
    """NFKD-normalised UTF-8, so the same passphrase typed on another system matches.

    Bytes a terminal could not decode reach Python as lone surrogates; they have no UTF-8
    form, so they are refused (without showing the text) rather than crash the caller."""
    try:
        return unicodedata.normalize("NFKD", text).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPassphrase(f"{what} is not valid UTF-8 text",
                                hint="check the terminal's or the environment's encoding") from None


def passphrase_bytes(passphrase: str) -> bytearray:
    """The passphrase as the KDF takes it (see :func:`nfkd_utf8`), wipeable."""
    return bytearray(nfkd_utf8(passphrase))


def derive_key(passphrase: str, salt: bytes, params: KdfParams) -> bytearray:
    """Argon2id(passphrase, salt) → 32-byte key, as a wipeable bytearray."""
    secret = passphrase_bytes(passphrase)
    try:
        key = nacl.pwhash.argon2id.kdf(
            KEY_BYTES, bytes(secret), salt, opslimit=params.opslimit, memlimit=params.memlimit
        )
    finally:
        wipe(secret)
    return bytearray(key)


def seal(key: bytearray, nonce: bytes, plaintext: bytes | bytearray, associated: bytes) -> bytes:
    """XChaCha20-Poly1305 encrypt; the result is ciphertext || 16-byte tag."""
    return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        bytes(plaintext), associated, nonce, bytes(key)
    )


def open_sealed(key: bytearray, nonce: bytes, sealed: bytes, associated: bytes) -> bytearray:
    """XChaCha20-Poly1305 decrypt into a wipeable bytearray, or raise DecryptionFailed."""
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            sealed, associated, nonce, bytes(key)
        )
    except nacl.exceptions.CryptoError:
        raise DecryptionFailed() from None
    return bytearray(plain)


def wipe(buffer: bytearray | None) -> None:
    """Overwrite a secret buffer with zeros in place."""
    if buffer is None:
        return
    buffer[:] = bytes(len(buffer))
