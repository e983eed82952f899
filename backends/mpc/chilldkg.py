"""ChillDKG (chilldkg-bip.md, draft 0.3.0): dealerless key generation for BIP-445 FROST.

EncPedPop plus CertEq: every participant signs the session transcript ``eq_input`` with its
host key, and the n signatures are the success certificate. ``eq_input || cert`` is the
recovery data which, with a host secret key, restores that participant's share. The
threshold key is Taproot-safe: it commits to an unspendable script path.

Function names, order of checks and exception names follow the BIP's API documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import encpedpop
from .bip340 import schnorr_sign, schnorr_verify
from .errors import (
    DuplicateHostPubkeyError,
    FaultyCoordinatorError,
    FaultyParticipantError,
    HostSeckeyError,
    InvalidHostPubkeyError,
    InvalidInputError,
    InvalidRecoveryAckError,
    RandomnessError,
    RecoveryDataError,
    SessionParamsError,
    ThresholdOrCountError,
    UnknownFaultyParticipantOrCoordinatorError,
)
from .secp import Scalar, cpoint, mul_g
from .simplpedpop import DKGOutput
from .vss import BIP_TAG, VSSCommitment, tagged_hash_bip_dkg

__all__ = [
    "DKGOutput", "SessionParams", "hostpubkey_gen", "params_hash", "participant_step1", "participant_step2",
    "participant_finalize", "participant_investigate", "coordinator_step1", "coordinator_finalize",
    "coordinator_investigate", "participant_recover", "coordinator_recover", "participant_recovery_ack_sign",
    "participant_recovery_acks_verify",
]


# --- CertEq (§ Equality Check Protocol CertEq) -----------------------------------------


def _prefixed_message(tag: str, x: bytes, participant_id: int) -> bytes:
    prefix = (BIP_TAG + tag).encode()
    return prefix + b"\x00" * (33 - len(prefix)) + participant_id.to_bytes(4, "big") + x


def certeq_message(x: bytes, participant_id: int) -> bytes:
    return _prefixed_message("certeq message", x, participant_id)


def certeq_participant_step(hostseckey: bytes, participant_id: int, x: bytes, aux_rand: bytes) -> bytes:
    return schnorr_sign(certeq_message(x, participant_id), hostseckey, aux_rand)


def certeq_verify(hostpubkeys: list[bytes], x: bytes, cert: bytes) -> int | None:
    """The id of the first participant whose certificate signature is invalid, or None."""
    n = len(hostpubkeys)
    if len(cert) != 64 * n:
        raise InvalidInputError("the certificate has the wrong length", check="cert_length")
    for i in range(n):
        if not schnorr_verify(certeq_message(x, i), hostpubkeys[i][1:33], cert[i * 64 : (i + 1) * 64]):
            return i
    return None


# --- Host keys and session parameters --------------------------------------------------


def hostpubkey_gen(hostseckey: bytes) -> bytes:
    """The 33-byte compressed host public key of a 32-byte host secret key."""
    if len(hostseckey) != 32:
        raise InvalidInputError("a host secret key must be 32 bytes", check="hostseckey_length")
    try:
        d = Scalar.from_bytes_nonzero_checked(hostseckey, "host secret key")
    except InvalidInputError:
        raise HostSeckeyError("the host secret key is out of range") from None
    return mul_g(d).to_bytes_compressed()


@dataclass(frozen=True)
class SessionParams:
    """The ordered host public keys (the order assigns participant ids) and the threshold t."""

    hostpubkeys: tuple[bytes, ...]
    t: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "hostpubkeys", tuple(bytes(h) for h in self.hostpubkeys))


def params_validate(params: SessionParams) -> None:
    hostpubkeys, t = params.hostpubkeys, params.t
    if not 1 <= t <= len(hostpubkeys) <= 2**32 - 1:
        raise ThresholdOrCountError()
    for i, hostpubkey in enumerate(hostpubkeys):
        try:
            cpoint(hostpubkey, "host public key")
        except InvalidInputError:
            raise InvalidHostPubkeyError(i) from None
    seen: dict[bytes, int] = {}
    for i, hostpubkey in enumerate(hostpubkeys):
        if hostpubkey in seen:
            raise DuplicateHostPubkeyError(seen[hostpubkey], i)
        seen[hostpubkey] = i


def params_hash(params: SessionParams) -> bytes:
    """A 32-byte hash that participants compare out of band before a session."""
    params_validate(params)
    return tagged_hash_bip_dkg("params_hash", params.t.to_bytes(4, "big") + b"".join(params.hostpubkeys))


# --- Participant -----------------------------------------------------------------------


@dataclass(frozen=True)
class ParticipantState1:
    params: SessionParams
    participant_id: int
    enc_state: encpedpop.ParticipantState


@dataclass(frozen=True, repr=False)
class ParticipantState2:
    params: SessionParams
    eq_input: bytes
    dkg_output: DKGOutput

    def __repr__(self) -> str:
        return f"ParticipantState2({self.dkg_output!r})"


def _my_id(hostseckey: bytes, hostpubkeys: tuple[bytes, ...]) -> int:
    hostpubkey = hostpubkey_gen(hostseckey)
    try:
        return hostpubkeys.index(hostpubkey)
    except ValueError:
        raise HostSeckeyError("the host secret key does not match any host public key") from None


def participant_step1(hostseckey: bytes, params: SessionParams, random: bytes) -> tuple[ParticipantState1, bytes]:
    """Round 1: returns the state to keep and pmsg1 for the coordinator."""
    hostpubkey_gen(hostseckey)
    params_validate(params)
    participant_id = _my_id(hostseckey, params.hostpubkeys)
    if len(random) != 32:
        raise InvalidInputError("random must be 32 bytes", check="random_length")
    if not any(random):
        raise RandomnessError()
    enc_state, pmsg1 = encpedpop.participant_step1(
        seed=hostseckey, deckey=hostseckey, enckeys=list(params.hostpubkeys), t=params.t,
        participant_id=participant_id, random=random,
    )
    return ParticipantState1(params, participant_id, enc_state), pmsg1


def cmsg1_len(t: int, n: int) -> int:
    return encpedpop.cmsg_len(t, n) + 32 * n


def participant_step2(hostseckey: bytes, state1: ParticipantState1, cmsg1: bytes, aux_rand: bytes) -> tuple[ParticipantState2, bytes]:
    """Round 2: checks the coordinator's message, returns the state and pmsg2 (my CertEq signature)."""
    hostpubkey = hostpubkey_gen(hostseckey)
    if len(aux_rand) != 32:
        raise InvalidInputError("aux_rand must be 32 bytes", check="aux_rand_length")
    params, participant_id, enc_state = state1.params, state1.participant_id, state1.enc_state
    if hostpubkey != params.hostpubkeys[participant_id]:
        raise HostSeckeyError("the host secret key does not match the one used in participant_step1")
    t, n = enc_state.simpl_state.t, len(params.hostpubkeys)
    if len(cmsg1) != cmsg1_len(t, n):
        raise InvalidInputError("the coordinator message has the wrong length", check="cmsg1_length")
    k = encpedpop.cmsg_len(t, n)
    enc_cmsg, rest = cmsg1[:k], cmsg1[k:]
    try:
        enc_secshares = [Scalar.from_bytes_checked(rest[i : i + 32], "encrypted share") for i in range(0, 32 * n, 32)]
    except InvalidInputError as exc:
        raise FaultyCoordinatorError(str(exc), "cmsg1_malformed") from None
    output, eq_input = encpedpop.participant_step2(enc_state, hostseckey, enc_cmsg, enc_secshares[participant_id])
    eq_input += b"".join(s.to_bytes() for s in enc_secshares)
    sig = certeq_participant_step(hostseckey, participant_id, eq_input, aux_rand)
    return ParticipantState2(params, eq_input, output), sig


def participant_finalize(state2: ParticipantState2, cmsg2: bytes) -> tuple[DKGOutput, bytes]:
    """Checks the certificate; returns the DKG output and the recovery data to back up."""
    n = len(state2.params.hostpubkeys)
    if len(cmsg2) != 64 * n:
        raise InvalidInputError("the certificate has the wrong length", check="cert_length")
    if certeq_verify(list(state2.params.hostpubkeys), state2.eq_input, cmsg2) is not None:
        # the coordinator checked every signature before sending: an invalid one is its fault
        raise FaultyCoordinatorError("provided a certificate with an invalid signature", "cert_signature")
    return state2.dkg_output, state2.eq_input + cmsg2


def participant_investigate(error: UnknownFaultyParticipantOrCoordinatorError, cinv: bytes):
    """After participant_step2 raised UnknownFaultyParticipantOrCoordinatorError: name the culprit."""
    inv = error.inv_data
    if not isinstance(inv, encpedpop.ParticipantInvestigationData):
        raise InvalidInputError("this error carries no investigation data", check="investigation_data")
    encpedpop.participant_investigate(inv, cinv)


# --- Coordinator -----------------------------------------------------------------------


@dataclass(frozen=True)
class CoordinatorState:
    params: SessionParams
    eq_input: bytes
    dkg_output: DKGOutput


def coordinator_step1(pmsgs1: list[bytes], params: SessionParams) -> tuple[CoordinatorState, bytes]:
    params_validate(params)
    hostpubkeys, t = params.hostpubkeys, params.t
    n = len(hostpubkeys)
    if len(pmsgs1) != n:
        raise InvalidInputError("one round-1 message per participant is needed", check="pmsg1_count")
    for i, pmsg1 in enumerate(pmsgs1):
        if len(pmsg1) != encpedpop.pmsg_len(t, n):
            raise InvalidInputError(f"the round-1 message of participant {i} has the wrong length",
                                    check="pmsg1_length", participant=i)
    cmsg, output, eq_input, enc_secshares = encpedpop.coordinator_step(list(pmsgs1), t, list(hostpubkeys))
    eq_input += b"".join(s.to_bytes() for s in enc_secshares)
    cmsg1 = cmsg + b"".join(s.to_bytes() for s in enc_secshares)
    return CoordinatorState(params, eq_input, output), cmsg1


def coordinator_finalize(state: CoordinatorState, pmsgs2: list[bytes]) -> tuple[bytes, DKGOutput, bytes]:
    """Assembles the certificate; returns (cmsg2, DKG output, recovery data)."""
    n = len(state.params.hostpubkeys)
    if len(pmsgs2) != n:
        raise InvalidInputError("one round-2 message per participant is needed", check="pmsg2_count")
    for i, pmsg2 in enumerate(pmsgs2):
        if len(pmsg2) != 64:
            raise InvalidInputError(f"the signature of participant {i} is not 64 bytes",
                                    check="pmsg2_length", participant=i)
    cert = b"".join(pmsgs2)
    bad = certeq_verify(list(state.params.hostpubkeys), state.eq_input, cert)
    if bad is not None:
        raise FaultyParticipantError(bad, "provided an invalid signature for the certificate", check="cert_signature")
    return cert, state.dkg_output, state.eq_input + cert


def coordinator_investigate(pmsgs1: list[bytes], params: SessionParams) -> list[bytes]:
    """One investigation message per participant, from the round-1 messages."""
    n, t = len(pmsgs1), params.t
    for i, pmsg1 in enumerate(pmsgs1):
        try:
            encpedpop.parse_pmsg(pmsg1, t, n)
        except InvalidInputError as exc:
            raise FaultyParticipantError(i, str(exc)) from None
    return encpedpop.coordinator_investigate(list(pmsgs1), t)


# --- Recovery (§ Backup and Recovery) --------------------------------------------------


def deserialize_recovery_data(b: bytes):
    if len(b) < 4:
        raise InvalidInputError("too short", check="recovery_data")
    t, rest = int.from_bytes(b[:4], "big"), b[4:]
    if len(rest) < 33 * t:
        raise InvalidInputError("too short", check="recovery_data")
    sum_coms, rest = VSSCommitment.from_bytes(rest[: 33 * t], t), rest[33 * t :]
    n, remainder = divmod(len(rest), 33 + 33 + 32 + 64)
    if remainder:
        raise InvalidInputError("wrong length", check="recovery_data")
    hostpubkeys = [rest[i : i + 33] for i in range(0, 33 * n, 33)]
    rest = rest[33 * n :]
    pubnonces = [rest[i : i + 33] for i in range(0, 33 * n, 33)]
    rest = rest[33 * n :]
    enc_secshares = [Scalar.from_bytes_checked(rest[i : i + 32], "encrypted share") for i in range(0, 32 * n, 32)]
    cert = rest[32 * n :]
    return t, sum_coms, hostpubkeys, pubnonces, enc_secshares, cert


def _recover(hostseckey: bytes | None, recovery_data: bytes) -> tuple[DKGOutput, SessionParams]:
    try:
        t, sum_coms, hostpubkeys, pubnonces, enc_secshares, cert = deserialize_recovery_data(recovery_data)
    except InvalidInputError:
        raise RecoveryDataError("failed to deserialize the recovery data") from None
    n = len(hostpubkeys)
    params = SessionParams(tuple(hostpubkeys), t)
    try:
        params_validate(params)
    except SessionParamsError:
        raise RecoveryDataError("invalid session parameters in the recovery data") from None
    eq_input = recovery_data[: -len(cert)]
    if certeq_verify(hostpubkeys, eq_input, cert) is not None:
        raise RecoveryDataError("invalid certificate in the recovery data")
    sum_coms_tweaked, tweak, _ = sum_coms.invalid_taproot_commit()
    thresh_pk = sum_coms_tweaked.commitment_to_secret()
    pubshares = [sum_coms_tweaked.pubshare(i) for i in range(n)]
    secshare_bytes = None
    if hostseckey is not None:
        participant_id = _my_id(hostseckey, params.hostpubkeys)
        enc_context = encpedpop.serialize_enc_context(t, hostpubkeys)
        secshare = encpedpop.decrypt_sum(
            hostseckey, hostpubkeys[participant_id], pubnonces, enc_context, participant_id, enc_secshares[participant_id]
        )
        secshare_tweaked = secshare + tweak
        if not VSSCommitment.verify_secshare(secshare_tweaked, pubshares[participant_id]):
            raise RecoveryDataError("the recovered share does not match the certified public share")
        secshare_bytes = secshare_tweaked.to_bytes()
    output = DKGOutput(secshare_bytes, thresh_pk.to_bytes_compressed(), tuple(p.to_bytes_compressed() for p in pubshares))
    return output, params


def participant_recover(hostseckey: bytes, recovery_data: bytes) -> tuple[DKGOutput, SessionParams]:
    """A participant's DKG output (with its share) from its host secret key and the recovery data."""
    if hostseckey is None:
        raise InvalidInputError("a host secret key is needed", check="hostseckey_missing")
    hostpubkey_gen(hostseckey)
    return _recover(hostseckey, recovery_data)


def coordinator_recover(recovery_data: bytes) -> tuple[DKGOutput, SessionParams]:
    """The public DKG output (no share) from the recovery data."""
    return _recover(None, recovery_data)


def recovery_ack_message(x: bytes, participant_id: int) -> bytes:
    return _prefixed_message("recovery acknowledgment", x, participant_id)


def _check_recovery_data_matches(recovery_data: bytes, params: SessionParams) -> None:
    try:
        t_rec, _, hostpubkeys_rec, _, _, _ = deserialize_recovery_data(recovery_data)
    except InvalidInputError:
        raise RecoveryDataError("failed to deserialize the recovery data") from None
    if t_rec != params.t or tuple(hostpubkeys_rec) != params.hostpubkeys:
        raise RecoveryDataError("the recovery data does not match the session parameters")


def participant_recovery_ack_sign(hostseckey: bytes, recovery_data: bytes, params: SessionParams, aux_rand: bytes) -> bytes:
    """Signs "I hold this recovery data", so the group knows a backup exists before using the key."""
    hostpubkey_gen(hostseckey)
    params_validate(params)
    participant_id = _my_id(hostseckey, params.hostpubkeys)
    if len(aux_rand) != 32:
        raise InvalidInputError("aux_rand must be 32 bytes", check="aux_rand_length")
    _check_recovery_data_matches(recovery_data, params)
    return schnorr_sign(recovery_ack_message(recovery_data, participant_id), hostseckey, aux_rand)


def participant_recovery_acks_verify(recovery_data: bytes, params: SessionParams, ack_sigs: list[bytes]) -> None:
    params_validate(params)
    if len(ack_sigs) != len(params.hostpubkeys):
        raise InvalidInputError("one acknowledgment per participant is needed", check="ack_count")
    _check_recovery_data_matches(recovery_data, params)
    for i, sig in enumerate(ack_sigs):
        if len(sig) != 64:
            raise InvalidInputError(f"the acknowledgment of participant {i} is not 64 bytes", check="ack_length", participant=i)
        if not schnorr_verify(recovery_ack_message(recovery_data, i), params.hostpubkeys[i][1:33], sig):
            raise InvalidRecoveryAckError(i)
