"""RSA keys for the mint tests: from vector numbers, or a session pool of real 2048-bit keys."""

from __future__ import annotations

import itertools
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backends.mint.blindrsa import SecretKey

_GENERATE = SecretKey.generate_der  # the real generator, before any test swaps in the pool


def der_from_numbers(p: int, q: int, e: int, d: int) -> bytes:
    numbers = rsa.RSAPrivateNumbers(
        p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key().private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@lru_cache(maxsize=None)
def session_key_der(slot: int = 0) -> bytes:
    """A real 2048-bit key per slot, generated once per test session (~0.1 s each)."""
    return _GENERATE(2048)


class KeyPool:
    """Hands out distinct session keys in turn: keysets in tests cost no key generation."""

    def __init__(self, size: int = 12) -> None:
        self._slots = itertools.cycle(range(size))

    def __call__(self, bits: int = 2048) -> bytes:
        assert bits == 2048, "the pool holds 2048-bit keys"
        return session_key_der(next(self._slots))
