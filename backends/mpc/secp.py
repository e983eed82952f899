"""secp256k1 types for the threshold code: scalars, points, x-only keys.

Scalars are Python ints mod n wrapped in :class:`Scalar`; every point operation runs in
libsecp256k1 through coincurve. The three types cannot be confused: a ``Point`` never
accepts an int, a ``Scalar`` never a point, and an x-only key is a separate type.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from coincurve import PublicKey

from .errors import InvalidInputError

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@lru_cache(maxsize=64)
def _tag_prefix(tag: str) -> bytes:
    digest = hashlib.sha256(tag.encode()).digest()
    return digest + digest


def tagged_hash(tag: str, data: bytes) -> bytes:
    """BIP-340 tagged hash: SHA256(SHA256(tag) || SHA256(tag) || data)."""
    return hashlib.sha256(_tag_prefix(tag) + data).digest()


class Scalar:
    """An integer mod the group order. Its repr never shows the value (it may be secret)."""

    __slots__ = ("v",)

    def __init__(self, value: int) -> None:
        self.v = value % ORDER

    @classmethod
    def from_bytes_checked(cls, b: bytes, what: str = "scalar") -> Scalar:
        if len(b) != 32:
            raise InvalidInputError(f"{what} must be 32 bytes, got {len(b)}", check=f"{what}_length")
        v = int.from_bytes(b, "big")
        if v >= ORDER:
            raise InvalidInputError(f"{what} is out of range (not below the group order)", check=f"{what}_range")
        return cls(v)

    @classmethod
    def from_bytes_nonzero_checked(cls, b: bytes, what: str = "scalar") -> Scalar:
        s = cls.from_bytes_checked(b, what)
        if s.v == 0:
            raise InvalidInputError(f"{what} is out of range (zero)", check=f"{what}_range")
        return s

    @classmethod
    def from_bytes_wrapping(cls, b: bytes) -> Scalar:
        return cls(int.from_bytes(b, "big"))

    def to_bytes(self) -> bytes:
        return self.v.to_bytes(32, "big")

    def __add__(self, other: Scalar) -> Scalar:
        return Scalar(self.v + other.v)

    def __sub__(self, other: Scalar) -> Scalar:
        return Scalar(self.v - other.v)

    def __mul__(self, other: Scalar) -> Scalar:
        if not isinstance(other, Scalar):
            return NotImplemented
        return Scalar(self.v * other.v)

    def __neg__(self) -> Scalar:
        return Scalar(-self.v)

    def inverse(self) -> Scalar:
        return Scalar(pow(self.v, -1, ORDER))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scalar) and self.v == other.v

    def __hash__(self) -> int:
        return hash(("Scalar", self.v))

    def __bool__(self) -> bool:
        return self.v != 0

    def __repr__(self) -> str:
        return "Scalar(<hidden>)"


class Point:
    """A secp256k1 group element, or the point at infinity (``Point.INFINITY``)."""

    __slots__ = ("_pk", "_c")

    INFINITY: Point

    def __init__(self, pk: PublicKey | None, compressed: bytes | None = None) -> None:
        self._pk = pk
        self._c = compressed

    @property
    def infinity(self) -> bool:
        return self._pk is None

    def to_bytes_compressed(self) -> bytes:
        if self._pk is None:
            raise InvalidInputError("the point at infinity has no compressed encoding", check="infinity")
        if self._c is None:
            self._c = self._pk.format(compressed=True)
        return self._c

    def to_bytes_compressed_with_infinity(self) -> bytes:
        return bytes(33) if self._pk is None else self.to_bytes_compressed()

    def to_bytes_xonly(self) -> bytes:
        return self.to_bytes_compressed()[1:]

    def xonly(self) -> XonlyKey:
        return XonlyKey(self.to_bytes_xonly())

    def has_even_y(self) -> bool:
        return self.to_bytes_compressed()[0] == 2

    def __neg__(self) -> Point:
        if self._pk is None:
            return self
        c = self.to_bytes_compressed()
        flipped = bytes([c[0] ^ 1]) + c[1:]
        return Point(PublicKey(flipped), flipped)

    def __add__(self, other: Point) -> Point:
        if self._pk is None:
            return other
        if other._pk is None:
            return self
        return point_sum([self, other])

    def __sub__(self, other: Point) -> Point:
        return self + (-other)

    def __rmul__(self, k: Scalar) -> Point:
        if not isinstance(k, Scalar):
            return NotImplemented
        if k.v == 0 or self._pk is None:
            return Point.INFINITY
        return Point(self._pk.multiply(k.v.to_bytes(32, "big")))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return False
        if self._pk is None or other._pk is None:
            return self._pk is other._pk
        return self.to_bytes_compressed() == other.to_bytes_compressed()

    def __hash__(self) -> int:
        return hash(self.to_bytes_compressed_with_infinity())

    def __repr__(self) -> str:
        return "Point(infinity)" if self._pk is None else f"Point({self.to_bytes_compressed().hex()})"


Point.INFINITY = Point(None)


def point_sum(points: list[Point]) -> Point:
    """Sum of points in one libsecp256k1 call (infinity terms skipped, an infinite sum allowed)."""
    keys = [p._pk for p in points if p._pk is not None]
    if not keys:
        return Point.INFINITY
    if len(keys) == 1:
        return Point(keys[0])
    try:
        return Point(PublicKey.combine_keys(keys))
    except ValueError:  # the sum is the point at infinity
        return Point.INFINITY


def mul_g(k: Scalar) -> Point:
    """k·G (infinity for k = 0)."""
    if k.v == 0:
        return Point.INFINITY
    return Point(PublicKey.from_valid_secret(k.v.to_bytes(32, "big")))


def multi_mul(terms: list[tuple[Scalar, Point]]) -> Point:
    """Σ k_i·P_i: the products in libsecp256k1, then one combined addition."""
    return point_sum([k * p for k, p in terms])


G = mul_g(Scalar(1))


def cpoint(b: bytes, what: str = "point") -> Point:
    """A 33-byte compressed point, never infinity (the spec's cpoint)."""
    if len(b) != 33:
        raise InvalidInputError(f"{what} must be 33 bytes, got {len(b)}", check=f"{what}_length")
    if b[0] not in (2, 3):
        raise InvalidInputError(f"{what} has an unknown prefix byte", check=f"{what}_encoding")
    try:
        pk = PublicKey(bytes(b))
    except ValueError:
        raise InvalidInputError(f"{what} is not a point on the curve", check=f"{what}_not_on_curve") from None
    return Point(pk, bytes(b))


def cpoint_ext(b: bytes, what: str = "point") -> Point:
    """Like cpoint, but 33 zero bytes decode to infinity (the spec's cpoint_ext)."""
    if len(b) == 33 and not any(b):
        return Point.INFINITY
    return cpoint(b, what)


def lift_x(b: bytes, what: str = "x-only key") -> Point:
    """The even-y point with x-coordinate b (BIP-340 lift_x)."""
    if len(b) != 32:
        raise InvalidInputError(f"{what} must be 32 bytes, got {len(b)}", check=f"{what}_length")
    return cpoint(b"\x02" + bytes(b), what)


class XonlyKey:
    """A 32-byte BIP-340 public key: the x coordinate of an even-y point."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        if len(data) != 32:
            raise InvalidInputError(f"x-only key must be 32 bytes, got {len(data)}", check="xonly_length")
        self.data = bytes(data)

    def point(self) -> Point:
        return lift_x(self.data)

    def __bytes__(self) -> bytes:
        return self.data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XonlyKey) and self.data == other.data

    def __hash__(self) -> int:
        return hash(("XonlyKey", self.data))

    def __repr__(self) -> str:
        return f"XonlyKey({self.data.hex()})"


def xor_bytes(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))
