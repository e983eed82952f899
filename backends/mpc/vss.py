"""Verifiable secret sharing for ChillDKG (chilldkg-bip.md, "DKG Protocol SimplPedPop").

Participant id i holds f(i + 1): ids are 0-based, like BIP-445's.
"""

from __future__ import annotations

from .errors import InvalidInputError
from .secp import Point, Scalar, cpoint_ext, mul_g, multi_mul, tagged_hash

BIP_TAG = "BIP DKG/"


def tagged_hash_bip_dkg(tag: str, msg: bytes) -> bytes:
    return tagged_hash(BIP_TAG + tag, msg)


class VSS:
    """A secret polynomial f of degree t - 1; its repr shows nothing."""

    __slots__ = ("coeffs",)

    def __init__(self, coeffs: list[Scalar]) -> None:
        self.coeffs = coeffs

    @classmethod
    def generate(cls, seed: bytes, t: int) -> VSS:
        coeffs = [
            Scalar.from_bytes_checked(tagged_hash_bip_dkg("vss coeffs", seed + i.to_bytes(4, "big")), "vss coefficient")
            for i in range(t)
        ]
        return cls(coeffs)

    def secshare_for(self, i: int) -> Scalar:
        x = Scalar(i + 1)  # never f(0), the secret itself
        value = Scalar(0)
        for coeff in reversed(self.coeffs):
            value = value * x + coeff
        return value

    def secshares(self, n: int) -> list[Scalar]:
        return [self.secshare_for(i) for i in range(n)]

    def commit(self) -> VSSCommitment:
        return VSSCommitment([mul_g(c) for c in self.coeffs])

    def secret(self) -> Scalar:
        return self.coeffs[0]

    def __repr__(self) -> str:
        return f"VSS(t={len(self.coeffs)})"


class VSSCommitment:
    """Commitments to f's coefficients; infinity is allowed so nobody can make a sum invalid."""

    __slots__ = ("ges",)

    def __init__(self, ges: list[Point]) -> None:
        self.ges = ges

    @classmethod
    def from_bytes(cls, b: bytes, t: int) -> VSSCommitment:
        if len(b) != 33 * t:
            raise InvalidInputError("a VSS commitment has the wrong length", check="vss_commitment_length")
        return cls([cpoint_ext(b[i : i + 33], "VSS commitment") for i in range(0, 33 * t, 33)])

    def to_bytes(self) -> bytes:
        return b"".join(ge.to_bytes_compressed_with_infinity() for ge in self.ges)

    def t(self) -> int:
        return len(self.ges)

    def pubshare(self, i: int) -> Point:
        """Σ_j (i+1)^j · C_j, one combined sum."""
        x = i + 1
        return multi_mul([(Scalar(pow(x, j)), self.ges[j]) for j in range(len(self.ges))])

    @staticmethod
    def verify_secshare(secshare: Scalar, pubshare: Point) -> bool:
        return mul_g(secshare) == pubshare

    def __add__(self, other: VSSCommitment) -> VSSCommitment:
        return VSSCommitment([a + b for a, b in zip(self.ges, other.ges, strict=True)])

    def commitment_to_secret(self) -> Point:
        return self.ges[0]

    def commitment_to_nonconst_terms(self) -> list[Point]:
        return self.ges[1:]

    def invalid_taproot_commit(self) -> tuple[VSSCommitment, Scalar, Point]:
        """Add t·G, t = TapTweak(xonly(constant term)), so the key commits to no script path (BIP-341).

        Without this a participant could slip a hidden script path into the summed commitment.
        Returns the tweaked commitment, the tweak every secret share must add, and t·G.
        """
        pk = self.commitment_to_secret()
        tweak = Scalar.from_bytes_checked(tagged_hash("TapTweak", pk.to_bytes_xonly()), "taproot tweak")
        pubtweak = mul_g(tweak)
        return VSSCommitment([pk + pubtweak] + self.ges[1:]), tweak, pubtweak

