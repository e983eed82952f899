"""SimplPedPop (chilldkg-bip.md, "DKG Protocol SimplPedPop"): Pedersen VSS with proofs of
possession, the unencrypted core under EncPedPop."""

from __future__ import annotations

from dataclasses import dataclass

from .bip340 import schnorr_sign, schnorr_verify
from .errors import (
    FaultyCoordinatorError,
    FaultyParticipantError,
    FaultyParticipantOrCoordinatorError,
    InvalidInputError,
    UnknownFaultyParticipantOrCoordinatorError,
)
from .secp import Point, Scalar, cpoint_ext, point_sum
from .vss import BIP_TAG, VSS, VSSCommitment

POP_MSG_TAG = BIP_TAG + "pop message"


def pop_msg(participant_id: int) -> bytes:
    return participant_id.to_bytes(4, "big")


def pop_prove(seckey: bytes, participant_id: int, aux_rand: bytes) -> bytes:
    return schnorr_sign(pop_msg(participant_id), seckey, aux_rand, tag_prefix=POP_MSG_TAG)


def pop_verify(pop: bytes, pubkey: bytes, participant_id: int) -> bool:
    return schnorr_verify(pop_msg(participant_id), pubkey, pop, tag_prefix=POP_MSG_TAG)


def pmsg_len(t: int) -> int:
    return 33 * t + 64


def parse_pmsg(b: bytes, t: int) -> tuple[VSSCommitment, bytes]:
    """A participant's (commitment, pop); raises InvalidInputError on a malformed message."""
    if len(b) != pmsg_len(t):
        raise InvalidInputError("a SimplPedPop participant message has the wrong length", check="pmsg_length")
    return VSSCommitment.from_bytes(b[: 33 * t], t), b[33 * t :]


def cmsg_len(t: int, n: int) -> int:
    return 97 * n + 33 * (t - 1)


def parse_cmsg(b: bytes, t: int, n: int) -> tuple[list[Point], list[Point], list[bytes]]:
    if len(b) != cmsg_len(t, n):
        raise InvalidInputError("a SimplPedPop coordinator message has the wrong length", check="cmsg_length")
    points = [cpoint_ext(b[i : i + 33], "commitment") for i in range(0, 33 * (n + t - 1), 33)]
    rest = b[33 * (n + t - 1) :]
    return points[:n], points[n:], [rest[i : i + 64] for i in range(0, 64 * n, 64)]


def serialize_cmsg(coms_to_secrets: list[Point], sum_coms_nonconst: list[Point], pops: list[bytes]) -> bytes:
    return b"".join(P.to_bytes_compressed_with_infinity() for P in coms_to_secrets + sum_coms_nonconst) + b"".join(pops)


def assemble_sum_coms(coms_to_secrets: list[Point], sum_coms_nonconst: list[Point]) -> VSSCommitment:
    return VSSCommitment([point_sum(coms_to_secrets)] + list(sum_coms_nonconst))


@dataclass(frozen=True)
class ParticipantState:
    t: int
    n: int
    participant_id: int
    com_to_secret: Point


@dataclass(frozen=True, repr=False)
class ParticipantInvestigationData:
    n: int
    participant_id: int
    secshare: Scalar
    pubshare: Point


@dataclass(frozen=True, repr=False)
class DKGOutput:
    """secshare (None for the coordinator), thresh_pk and pubshares, all serialized."""

    secshare: bytes | None
    thresh_pk: bytes
    pubshares: tuple[bytes, ...]

    def __repr__(self) -> str:
        return f"DKGOutput(thresh_pk={self.thresh_pk.hex()}, n={len(self.pubshares)}, secshare={'<hidden>' if self.secshare else None})"


def participant_step1(seed: bytes, t: int, n: int, participant_id: int, aux_rand: bytes):
    """Returns (state, pmsg, partial secret shares for each participant)."""
    if t > n:
        raise InvalidInputError("the threshold exceeds the number of participants", check="threshold_or_count")
    if not 0 <= participant_id < n:
        raise InvalidInputError("the participant id is out of range", check="participant_id_range")
    if len(seed) != 32 or len(aux_rand) != 32:
        raise InvalidInputError("seed and aux_rand must be 32 bytes", check="randomness_length")
    vss = VSS.generate(seed, t)
    partial_secshares_from_me = vss.secshares(n)
    pop = pop_prove(vss.secret().to_bytes(), participant_id, aux_rand)
    com = vss.commit()
    state = ParticipantState(t, n, participant_id, com.commitment_to_secret())
    return state, com.to_bytes() + pop, partial_secshares_from_me


def participant_step2(state: ParticipantState, cmsg: bytes, secshare: Scalar) -> tuple[DKGOutput, bytes]:
    t, n, participant_id = state.t, state.n, state.participant_id
    try:
        coms_to_secrets, sum_coms_nonconst, pops = parse_cmsg(cmsg, t, n)
    except InvalidInputError as exc:
        raise FaultyCoordinatorError(str(exc), "cmsg_malformed") from None
    if coms_to_secrets[participant_id] != state.com_to_secret:
        raise FaultyCoordinatorError("unexpected first group element for my own participant id", "own_commitment")
    for i in range(n):
        if i == participant_id:
            continue
        if coms_to_secrets[i].infinity:
            raise FaultyParticipantOrCoordinatorError(i, "invalid commitment", "commitment_infinity")
        if not pop_verify(pops[i], coms_to_secrets[i].to_bytes_xonly(), i):
            raise FaultyParticipantOrCoordinatorError(i, "invalid proof of knowledge", "pop")
    sum_coms = assemble_sum_coms(coms_to_secrets, sum_coms_nonconst)
    sum_coms_tweaked, tweak, pubtweak = sum_coms.invalid_taproot_commit()
    pubshare_tweaked = sum_coms_tweaked.pubshare(participant_id)
    secshare_tweaked = secshare + tweak
    if not VSSCommitment.verify_secshare(secshare_tweaked, pubshare_tweaked):
        raise UnknownFaultyParticipantOrCoordinatorError(
            ParticipantInvestigationData(n, participant_id, secshare, pubshare_tweaked - pubtweak)
        )
    thresh_pk = sum_coms_tweaked.commitment_to_secret()
    pubshares = [sum_coms_tweaked.pubshare(i) if i != participant_id else pubshare_tweaked for i in range(n)]
    output = DKGOutput(
        secshare_tweaked.to_bytes(), thresh_pk.to_bytes_compressed(), tuple(p.to_bytes_compressed() for p in pubshares)
    )
    return output, t.to_bytes(4, "big") + sum_coms.to_bytes()


class SecshareSumError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("the partial secret shares do not sum to my secret share", check="secshare_sum")


def participant_investigate(inv: ParticipantInvestigationData, partial_pubshares: list[Point], partial_secshares: list[Scalar]):
    """Names who sent me a bad partial share; always raises."""
    n, participant_id = inv.n, inv.participant_id
    if len(partial_secshares) != n or len(partial_pubshares) != n:
        raise InvalidInputError("investigation data has the wrong number of entries", check="investigation_length")
    if point_sum(partial_pubshares) != inv.pubshare:
        raise FaultyCoordinatorError("the partial pubshares do not sum to my pubshare", "partial_pubshare_sum")
    total = Scalar(0)
    for s in partial_secshares:
        total = total + s
    if total != inv.secshare:
        raise SecshareSumError()
    for i in range(n):
        if not VSSCommitment.verify_secshare(partial_secshares[i], partial_pubshares[i]):
            if i != participant_id:
                raise FaultyParticipantOrCoordinatorError(i, "sent an invalid partial secret share", "partial_secshare")
            raise FaultyCoordinatorError("tampered with the share from me to myself", "own_partial_secshare")
    raise InvalidInputError("investigation found every input consistent", check="investigation_consistent")


def coordinator_step(pmsgs: list[bytes], t: int, n: int) -> tuple[bytes, DKGOutput, bytes]:
    if len(pmsgs) != n:
        raise InvalidInputError("one participant message per participant is needed", check="pmsg_count")
    parsed = []
    for i, pmsg in enumerate(pmsgs):
        try:
            parsed.append(parse_pmsg(pmsg, t))
        except InvalidInputError as exc:
            raise FaultyParticipantError(i, str(exc)) from None
    coms_to_secrets = [com.commitment_to_secret() for com, _ in parsed]
    sum_coms_nonconst = [point_sum([com.ges[j] for com, _ in parsed]) for j in range(1, t)]
    pops = [pop for _, pop in parsed]
    cmsg = serialize_cmsg(coms_to_secrets, sum_coms_nonconst, pops)
    sum_coms = assemble_sum_coms(coms_to_secrets, sum_coms_nonconst)
    sum_coms_tweaked, _, _ = sum_coms.invalid_taproot_commit()
    output = DKGOutput(
        None,
        sum_coms_tweaked.commitment_to_secret().to_bytes_compressed(),
        tuple(sum_coms_tweaked.pubshare(i).to_bytes_compressed() for i in range(n)),
    )
    return cmsg, output, t.to_bytes(4, "big") + sum_coms.to_bytes()


def coordinator_investigate(coms: list[VSSCommitment]) -> list[list[Point]]:
    """For each participant i: the partial pubshares every sender committed to for i."""
    n = len(coms)
    return [[com.pubshare(i) for com in coms] for i in range(n)]
