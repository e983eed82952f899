"""RSA keys for the mint tests: from vector numbers, or generated once per session."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backends.mint.blindrsa import SecretKey


def der_from_numbers(p: int, q: int, e: int, d: int) -> bytes:
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@lru_cache(maxsize=4)
def session_key_der(slot: int = 0) -> bytes:
    """A 2048-bit key per slot, generated once per test session (generation takes ~0.1 s)."""
    return SecretKey.generate_der(2048)
