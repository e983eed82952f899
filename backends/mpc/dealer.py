"""Trusted-dealer key shares, for tests and benchmarks of BIP-445 signing only.

The dealer knows the whole secret, so this never makes keys for funds: real groups come
from ChillDKG (``backends.mpc.chilldkg``), which no single party can cheat.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import InvalidInputError
from .secp import ORDER, Scalar, mul_g


@dataclass(frozen=True)
class DealtShares:
    thresh_pk: bytes
    secshares: tuple[bytes, ...]
    pubshares: tuple[bytes, ...]

    def __repr__(self) -> str:
        return f"DealtShares(thresh_pk={self.thresh_pk.hex()}, n={len(self.pubshares)})"


def trusted_dealer_keygen(t: int, n: int) -> DealtShares:
    """Shamir shares of a random key: participant id i holds f(i + 1) (ids are 0-based)."""
    if not 1 <= t <= n:
        raise InvalidInputError("the threshold must be between 1 and n", check="threshold_range")
    coeffs = [Scalar(1 + secrets.randbelow(ORDER - 1)) for _ in range(t)]

    def f(x: int) -> Scalar:
        acc = Scalar(0)
        for c in reversed(coeffs):  # Horner
            acc = acc * Scalar(x) + c
        return acc

    secshares = tuple(f(i + 1).to_bytes() for i in range(n))
    pubshares = tuple(mul_g(Scalar.from_bytes_wrapping(s)).to_bytes_compressed() for s in secshares)
    return DealtShares(mul_g(coeffs[0]).to_bytes_compressed(), secshares, pubshares)
