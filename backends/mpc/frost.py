"""BIP-445 FROST signing for BIP-340 signatures (draft 0.6), read beside bip-0445.md.

Names and the order of checks follow the BIP's "Algorithms" section. Where the BIP says
values "can be cached in actual implementations", they are: a validated signers context
and its interpolated threshold key, the session values, and the interpolating values are
memoised on their (immutable, hashable) inputs, so a result never depends on the cache.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import lru_cache

from .errors import InvalidContributionError, InvalidInputError, NonceReuseError
from .secp import (
    G,
    ORDER,
    Point,
    Scalar,
    cpoint,
    cpoint_ext,
    mul_g,
    point_sum,
    tagged_hash,
    xor_bytes,
)

_CACHE = 1024


def _fail(message: str, check: str, participant: int | None = None) -> InvalidInputError:
    return InvalidInputError(message, check=check, participant=participant)


# --- Signers Context (§ Key Material and Setup) ----------------------------------------


@dataclass(frozen=True)
class SignersCtx:
    """(n, t, u, id_1..u, pubshare_1..u, thresh_pk); u is len(ids)."""

    n: int
    t: int
    ids: tuple[int, ...]
    pubshares: tuple[bytes, ...]
    thresh_pk: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(self.ids))
        object.__setattr__(self, "pubshares", tuple(bytes(p) for p in self.pubshares))
        object.__setattr__(self, "thresh_pk", bytes(self.thresh_pk))

    @property
    def u(self) -> int:
        return len(self.ids)


@lru_cache(maxsize=_CACHE)
def validate_signers_ctx(signers_ctx: SignersCtx) -> tuple[Point, ...]:
    """ValidateSignersCtx; returns the decoded public shares (cached per context)."""
    n, t, u, ids, pubshares = signers_ctx.n, signers_ctx.t, signers_ctx.u, signers_ctx.ids, signers_ctx.pubshares
    if not 1 <= t <= n:
        raise _fail("the threshold must be between 1 and n", "threshold_range")
    if not t <= u <= n:
        raise _fail(f"the number of signers ({u}) must be between t={t} and n={n}", "signer_count")
    if len(pubshares) != u:
        raise _fail("the ids and pubshares lists must have the same length", "pubshare_count")
    points = []
    for i in range(u):
        if not (isinstance(ids[i], int) and 0 <= ids[i] <= n - 1):
            raise _fail(f"the participant identifier at index {i} is out of range", "id_range", i)
        try:
            points.append(cpoint(pubshares[i], "pubshare"))
        except InvalidInputError:
            raise _fail(f"invalid pubshare at index {i}", "pubshare_invalid", i) from None
    if len(set(ids)) != u:
        raise _fail("the participant identifier list contains duplicate elements", "duplicate_ids")
    if derive_thresh_pubkey(ids, tuple(points)) != signers_ctx.thresh_pk:
        raise _fail("the public shares do not interpolate to the threshold public key", "thresh_pk_mismatch")
    return tuple(points)


def derive_thresh_pubkey(ids: tuple[int, ...], points: tuple[Point, ...]) -> bytes:
    """DeriveThreshPubkey: Σ λ_i·P_i, summed in one call."""
    Q = point_sum([derive_interpolating_value(ids, my_id) * P for my_id, P in zip(ids, points, strict=True)])
    return Q.to_bytes_compressed()


@lru_cache(maxsize=_CACHE)
def derive_interpolating_value(ids: tuple[int, ...], my_id: int) -> Scalar:
    """DeriveInterpolatingValue: λ = Π (id_j + 1) / (id_j − my_id) over j ≠ me."""
    if my_id not in ids:
        raise _fail("the signer's id is not in the signer set", "id_not_in_set")
    if len(set(ids)) != len(ids):
        raise _fail("the participant identifier list contains duplicate elements", "duplicate_ids")
    num = Scalar(1)
    deno = Scalar(1)
    for other in ids:
        if other != my_id:
            num = num * Scalar(other + 1)
            deno = deno * Scalar(other - my_id)
    return num * deno.inverse()


# --- Tweak Context (§ Tweaking the Threshold Public Key) --------------------------------


@dataclass(frozen=True)
class TweakCtx:
    Q: Point
    gacc: Scalar
    tacc: Scalar


def tweak_ctx_init(thresh_pk: bytes) -> TweakCtx:
    Q = cpoint(thresh_pk, "thresh_pk")
    return TweakCtx(Q, Scalar(1), Scalar(0))


def get_xonly_pubkey(tweak_ctx: TweakCtx) -> bytes:
    return tweak_ctx.Q.to_bytes_xonly()


def get_plain_pubkey(tweak_ctx: TweakCtx) -> bytes:
    return tweak_ctx.Q.to_bytes_compressed()


def apply_tweak(tweak_ctx: TweakCtx, tweak: bytes, is_xonly_t: bool) -> TweakCtx:
    if len(tweak) != 32:
        raise _fail("the tweak must be a 32-byte array", "tweak_length")
    Q, gacc, tacc = tweak_ctx.Q, tweak_ctx.gacc, tweak_ctx.tacc
    g = Scalar(-1) if is_xonly_t and not Q.has_even_y() else Scalar(1)
    t = Scalar.from_bytes_checked(tweak, "tweak")
    Q2 = (-Q if g.v != 1 else Q) + mul_g(t)
    if Q2.infinity:
        raise _fail("the result of tweaking cannot be infinity", "tweak_infinity")
    return TweakCtx(Q2, g * gacc, t + g * tacc)


# --- Nonce Generation ------------------------------------------------------------------


class SecNonce:
    """The signer's (k1, k2): usable for exactly one Sign, then zeroed.

    Holding it as an object (not 64 bytes to copy around) is the BIP's own suggestion
    (footnote secnonce-ser); ``consume`` is the only way to read it.
    """

    __slots__ = ("_k", "_pubnonce")

    def __init__(self, secnonce: bytes, pubnonce: bytes | None = None) -> None:
        if len(secnonce) != 64:
            raise _fail(f"a secret nonce must be 64 bytes, got {len(secnonce)}", "secnonce_length")
        self._k: bytearray | None = bytearray(secnonce)
        self._pubnonce = pubnonce

    @property
    def used(self) -> bool:
        return self._k is None

    def consume(self) -> tuple[bytes, bytes | None]:
        """The 64 secret bytes and the matching pubnonce if known; afterwards the nonce is gone."""
        if self._k is None:
            raise NonceReuseError()
        raw = bytes(self._k)
        for i in range(len(self._k)):
            self._k[i] = 0
        self._k = None
        return raw, self._pubnonce

    def __repr__(self) -> str:
        return f"SecNonce({'used' if self._k is None else 'unused'})"

    def __reduce__(self):  # never pickled into a cache, log or queue by accident
        raise TypeError("a secret nonce cannot be serialised")


def nonce_gen_internal(
    rand_: bytes,
    secshare: bytes | None,
    pubshare: bytes | None,
    thresh_pk: bytes | None,
    m: bytes | None,
    extra_in: bytes | None,
) -> tuple[SecNonce, bytes]:
    """NonceGen with rand' supplied (the vectors' entry point)."""
    if len(rand_) != 32:
        raise _fail("rand' must be 32 bytes", "rand_length")
    if secshare is not None:
        if len(secshare) != 32:
            raise _fail("the secret share must be 32 bytes", "secshare_length")
        rand = xor_bytes(secshare, tagged_hash("BIP0445/aux", rand_))
    else:
        rand = rand_
    pubshare = pubshare if pubshare is not None else b""
    thresh_pk = thresh_pk if thresh_pk is not None else b""
    if len(pubshare) not in (0, 33):
        raise _fail("the public share must be 33 bytes", "pubshare_length")
    if len(thresh_pk) not in (0, 32):
        raise _fail("the x-only threshold key must be 32 bytes", "thresh_pk_length")
    m_prefixed = b"\x00" if m is None else b"\x01" + len(m).to_bytes(8, "big") + m
    extra_in = extra_in if extra_in is not None else b""
    if len(extra_in) > 0xFFFFFFFF:
        raise _fail("extra_in is too long", "extra_in_length")
    base = (
        rand
        + bytes([len(pubshare)]) + pubshare
        + bytes([len(thresh_pk)]) + thresh_pk
        + m_prefixed
        + len(extra_in).to_bytes(4, "big") + extra_in
    )
    k1 = Scalar.from_bytes_wrapping(tagged_hash("BIP0445/nonce", base + b"\x00"))
    k2 = Scalar.from_bytes_wrapping(tagged_hash("BIP0445/nonce", base + b"\x01"))
    if not k1 or not k2:
        raise _fail("nonce derivation gave zero", "nonce_zero")  # negligible
    pubnonce = mul_g(k1).to_bytes_compressed() + mul_g(k2).to_bytes_compressed()
    return SecNonce(k1.to_bytes() + k2.to_bytes(), pubnonce), pubnonce


def nonce_gen(
    secshare: bytes | None = None,
    pubshare: bytes | None = None,
    thresh_pk: bytes | None = None,
    m: bytes | None = None,
    extra_in: bytes | None = None,
) -> tuple[SecNonce, bytes]:
    """NonceGen: fresh randomness, plus every optional input the BIP allows."""
    return nonce_gen_internal(secrets.token_bytes(32), secshare, pubshare, thresh_pk, m, extra_in)


# --- Nonce Aggregation -----------------------------------------------------------------


def nonce_agg(pubnonces: list[bytes] | tuple[bytes, ...]) -> bytes:
    """NonceAgg: blames the signer (by index) whose pubnonce does not decode."""
    out = b""
    for j in (0, 1):
        parts = []
        for i, pubnonce in enumerate(pubnonces):
            try:
                if len(pubnonce) != 66:
                    raise _fail("a pubnonce must be 66 bytes", "pubnonce_length")
                parts.append(cpoint(pubnonce[j * 33 : (j + 1) * 33], "pubnonce"))
            except InvalidInputError as exc:
                raise InvalidContributionError(i, "pubnonce", str(exc)) from None
        out += point_sum(parts).to_bytes_compressed_with_infinity()
    return out


# --- Session Context -------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCtx:
    signers_ctx: SignersCtx
    aggnonce: bytes
    tweaks: tuple[bytes, ...]
    is_xonly: tuple[bool, ...]
    m: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "tweaks", tuple(bytes(t) for t in self.tweaks))
        object.__setattr__(self, "is_xonly", tuple(bool(x) for x in self.is_xonly))
        object.__setattr__(self, "aggnonce", bytes(self.aggnonce))
        object.__setattr__(self, "m", bytes(self.m))
        if len(self.tweaks) != len(self.is_xonly):
            raise _fail("the tweaks and is_xonly lists must have the same length", "tweak_count")


@dataclass(frozen=True)
class SessionValues:
    Q: Point
    gacc: Scalar
    tacc: Scalar
    ids: tuple[int, ...]
    pubshares: tuple[bytes, ...]
    b: Scalar
    R: Point
    e: Scalar


def serialize_ids(ids: tuple[int, ...] | list[int]) -> bytes:
    """SerializeIds: sorted, 4 bytes each, so b commits to the signer *set*."""
    return b"".join(i.to_bytes(4, "big") for i in sorted(ids))


@lru_cache(maxsize=_CACHE)
def get_session_values(session_ctx: SessionCtx) -> SessionValues:
    signers_ctx = session_ctx.signers_ctx
    validate_signers_ctx(signers_ctx)
    tweak_ctx = tweak_ctx_init(signers_ctx.thresh_pk)
    for tweak, is_xonly_t in zip(session_ctx.tweaks, session_ctx.is_xonly, strict=True):
        tweak_ctx = apply_tweak(tweak_ctx, tweak, is_xonly_t)
    Q, gacc, tacc = tweak_ctx.Q, tweak_ctx.gacc, tweak_ctx.tacc
    aggnonce, m = session_ctx.aggnonce, session_ctx.m
    b = Scalar.from_bytes_wrapping(
        tagged_hash("BIP0445/noncecoef", serialize_ids(signers_ctx.ids) + aggnonce + Q.to_bytes_xonly() + m)
    )
    if not b:
        raise _fail("nonce coefficient is zero", "b_zero")  # negligible
    try:
        if len(aggnonce) != 66:
            raise _fail("an aggnonce must be 66 bytes", "aggnonce_length")
        R1 = cpoint_ext(aggnonce[0:33], "aggnonce")
        R2 = cpoint_ext(aggnonce[33:66], "aggnonce")
    except InvalidInputError as exc:
        raise InvalidContributionError(None, "aggnonce", str(exc)) from None
    R_ = R1 + b * R2
    R = G if R_.infinity else R_
    e = Scalar.from_bytes_wrapping(tagged_hash("BIP0340/challenge", R.to_bytes_xonly() + Q.to_bytes_xonly() + m))
    if not e:
        raise _fail("challenge is zero", "e_zero")  # negligible
    return SessionValues(Q, gacc, tacc, signers_ctx.ids, signers_ctx.pubshares, b, R, e)


# --- Signing ---------------------------------------------------------------------------


def sign(secnonce: SecNonce, secshare: bytes, my_id: int, session_ctx: SessionCtx) -> bytes:
    """Sign: consumes the secret nonce (a second call with it raises NonceReuseError)."""
    sv = get_session_values(session_ctx)
    raw, known_pubnonce = secnonce.consume()
    k1_ = _secnonce_half(raw[0:32], "first")
    k2_ = _secnonce_half(raw[32:64], "second")
    k1, k2 = (k1_, k2_) if sv.R.has_even_y() else (-k1_, -k2_)
    d_ = Scalar.from_bytes_nonzero_checked(secshare, "secshare")
    pubshare = mul_g(d_).to_bytes_compressed()  # not cached: no secret is kept in a cache
    if pubshare not in sv.pubshares:
        raise _fail("the signer's pubshare must be included in the list of pubshares", "pubshare_not_in_list")
    if my_id not in sv.ids:
        raise _fail("the signer's id must be in the signer set", "id_not_in_set")
    lam = derive_interpolating_value(sv.ids, my_id)
    g = Scalar(1) if sv.Q.has_even_y() else Scalar(-1)
    d = g * sv.gacc * d_
    s = k1 + sv.b * k2 + sv.e * lam * d
    psig = s.to_bytes()
    pubnonce = known_pubnonce or (mul_g(k1_).to_bytes_compressed() + mul_g(k2_).to_bytes_compressed())
    if not partial_sig_verify_internal(psig, my_id, pubnonce, pubshare, session_ctx):
        raise _fail("the partial signature just made does not verify", "sign_selfcheck")
    return psig


def _secnonce_half(b: bytes, which: str) -> Scalar:
    try:
        return Scalar.from_bytes_nonzero_checked(b, "secnonce")
    except InvalidInputError:
        raise _fail(f"{which} secnonce value is out of range", f"secnonce_{which}_range") from None


# --- Partial Signature Verification ----------------------------------------------------


def partial_sig_verify(
    psig: bytes,
    pubnonces: list[bytes] | tuple[bytes, ...],
    signers_ctx: SignersCtx,
    tweaks: list[bytes] | tuple[bytes, ...],
    is_xonly: list[bool] | tuple[bool, ...],
    m: bytes,
    i: int,
) -> bool:
    """PartialSigVerify for the signer at index i; False if the share does not verify."""
    validate_signers_ctx(signers_ctx)
    if len(pubnonces) != signers_ctx.u:
        raise _fail("the pubnonces and ids lists must have the same length", "pubnonce_count")
    if not 0 <= i < signers_ctx.u:
        raise _fail("the signer index is out of range", "signer_index_range")
    aggnonce = nonce_agg(tuple(pubnonces))
    session_ctx = SessionCtx(signers_ctx, aggnonce, tuple(tweaks), tuple(is_xonly), m)
    return partial_sig_verify_internal(psig, signers_ctx.ids[i], pubnonces[i], signers_ctx.pubshares[i], session_ctx)


def partial_sig_verify_internal(psig: bytes, my_id: int, pubnonce: bytes, pubshare: bytes, session_ctx: SessionCtx) -> bool:
    sv = get_session_values(session_ctx)
    if len(psig) != 32 or int.from_bytes(psig, "big") >= ORDER:
        return False  # a malformed share is simply not a valid one
    s = Scalar.from_bytes_wrapping(psig)
    if pubshare not in sv.pubshares:
        raise _fail("the signer's pubshare must be included in the list of pubshares", "pubshare_not_in_list")
    if my_id not in sv.ids:
        raise _fail("the signer's id must be in the signer set", "id_not_in_set")
    if len(pubnonce) != 66:
        raise _fail("a pubnonce must be 66 bytes", "pubnonce_length")
    R_s1 = cpoint(pubnonce[0:33], "pubnonce")
    R_s2 = cpoint(pubnonce[33:66], "pubnonce")
    P = cpoint(pubshare, "pubshare")
    lam = derive_interpolating_value(sv.ids, my_id)
    g = Scalar(1) if sv.Q.has_even_y() else Scalar(-1)
    g_ = g * sv.gacc
    # s·G == Re* + e·λ·g'·P, with Re* = ±(R*,1 + b·R*,2): checked as one sum that must be infinity
    sign_R = Scalar(1) if sv.R.has_even_y() else Scalar(-1)
    total = point_sum([sign_R * R_s1, (sign_R * sv.b) * R_s2, (sv.e * lam * g_) * P, -mul_g(s)])
    return total.infinity


# --- Partial Signature Aggregation -----------------------------------------------------


def partial_sig_agg(psigs: list[bytes] | tuple[bytes, ...], session_ctx: SessionCtx) -> bytes:
    sv = get_session_values(session_ctx)
    if len(psigs) != len(sv.ids):
        raise _fail("the psigs and ids lists must have the same length", "psig_count")
    total = Scalar(0)
    for i, psig in enumerate(psigs):
        try:
            total = total + Scalar.from_bytes_checked(psig, "psig")
        except InvalidInputError as exc:
            raise InvalidContributionError(i, "psig", str(exc)) from None
    g = Scalar(1) if sv.Q.has_even_y() else Scalar(-1)
    s = total + sv.e * g * sv.tacc
    return sv.R.to_bytes_xonly() + s.to_bytes()


# --- DeterministicSign (§ Modifications to Nonce Generation) ---------------------------


def deterministic_sign(
    secshare: bytes,
    my_id: int,
    aggothernonce: bytes | None,
    signers_ctx: SignersCtx,
    tweaks: list[bytes] | tuple[bytes, ...],
    is_xonly: list[bool] | tuple[bool, ...],
    m: bytes,
    rand: bytes | None,
) -> tuple[bytes, bytes]:
    """DeterministicSign: for the last signer only; returns (pubnonce, psig)."""
    # the context is checked first (as the reference does), so a bad signer set is named as
    # such rather than as a bad aggothernonce
    validate_signers_ctx(signers_ctx)
    if len(secshare) != 32:
        raise _fail("the secret share must be 32 bytes", "secshare_length")
    if rand is not None:
        if len(rand) != 32:
            raise _fail("rand must be 32 bytes", "rand_length")
        secshare_ = xor_bytes(secshare, tagged_hash("BIP0445/aux", rand))
    else:
        secshare_ = secshare
    aggothernonce_ = aggothernonce if aggothernonce is not None else b""
    if len(tweaks) != len(is_xonly):
        raise _fail("the tweaks and is_xonly lists must have the same length", "tweak_count")
    tweak_ctx = tweak_ctx_init(signers_ctx.thresh_pk)
    for tweak, is_xonly_t in zip(tweaks, is_xonly, strict=True):
        tweak_ctx = apply_tweak(tweak_ctx, tweak, is_xonly_t)
    tweaked_tpk = get_xonly_pubkey(tweak_ctx)
    base = (
        secshare_
        + my_id.to_bytes(4, "big")
        + signers_ctx.u.to_bytes(4, "big")
        + serialize_ids(signers_ctx.ids)
        + aggothernonce_
        + tweaked_tpk
        + len(m).to_bytes(8, "big") + m
    )
    k1 = Scalar.from_bytes_wrapping(tagged_hash("BIP0445/deterministic/nonce", base + b"\x00"))
    k2 = Scalar.from_bytes_wrapping(tagged_hash("BIP0445/deterministic/nonce", base + b"\x01"))
    if not k1 or not k2:
        raise _fail("nonce derivation gave zero", "nonce_zero")  # negligible
    pubnonce = mul_g(k1).to_bytes_compressed() + mul_g(k2).to_bytes_compressed()
    secnonce = SecNonce(k1.to_bytes() + k2.to_bytes(), pubnonce)
    if aggothernonce is not None:
        try:
            aggnonce = _agg_with_other(pubnonce, aggothernonce)
        except InvalidInputError as exc:
            raise InvalidContributionError(None, "aggothernonce", str(exc)) from None
    else:
        aggnonce = pubnonce
    session_ctx = SessionCtx(signers_ctx, aggnonce, tuple(tweaks), tuple(is_xonly), m)
    return pubnonce, sign(secnonce, secshare, my_id, session_ctx)


def _agg_with_other(pubnonce: bytes, aggothernonce: bytes) -> bytes:
    # NonceAgg((pubnonce, aggothernonce)): both decoded with cpoint, so an infinite half is refused
    if len(aggothernonce) != 66:
        raise _fail("aggothernonce must be 66 bytes", "aggothernonce_length")
    out = b""
    for j in (0, 1):
        mine = cpoint(pubnonce[j * 33 : (j + 1) * 33])
        other = cpoint(aggothernonce[j * 33 : (j + 1) * 33], "aggothernonce")
        out += (mine + other).to_bytes_compressed_with_infinity()
    return out


def check_partial_sigs(
    psigs: list[bytes] | tuple[bytes, ...],
    pubnonces: list[bytes] | tuple[bytes, ...],
    signers_ctx: SignersCtx,
    tweaks: list[bytes] | tuple[bytes, ...],
    is_xonly: list[bool] | tuple[bool, ...],
    m: bytes,
) -> None:
    """The coordinator's check before PartialSigAgg: PartialSigVerify for every signer, and an
    InvalidContributionError naming the first signer (index and id) whose share is invalid."""
    if len(psigs) != signers_ctx.u:
        raise _fail("the psigs and ids lists must have the same length", "psig_count")
    for i, psig in enumerate(psigs):
        if not partial_sig_verify(psig, pubnonces, signers_ctx, tweaks, is_xonly, m, i):
            raise InvalidContributionError(i, "psig", f"the partial signature of signer id {signers_ctx.ids[i]} does not verify")
