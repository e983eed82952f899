"""EncPedPop (chilldkg-bip.md, "DKG Protocol EncPedPop"): SimplPedPop with every partial secret
share encrypted to its recipient by ECDH, so the coordinator relays without learning shares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from . import simplpedpop
from .errors import (
    FaultyCoordinatorError,
    FaultyParticipantError,
    FaultyParticipantOrCoordinatorError,
    InvalidInputError,
    UnknownFaultyParticipantOrCoordinatorError,
)
from .secp import Scalar, cpoint, cpoint_ext, mul_g
from .vss import tagged_hash_bip_dkg


def ecdh(seckey: bytes, my_pubkey: bytes, their_pubkey: bytes, context: bytes, sending: bool) -> Scalar:
    shared = Scalar.from_bytes_checked(seckey, "ecdh key") * cpoint(their_pubkey, "ecdh public key")
    data = hashlib.sha256(shared.to_bytes_compressed()).digest()  # libsecp256k1's ECDH hash
    data += my_pubkey + their_pubkey if sending else their_pubkey + my_pubkey
    return Scalar.from_bytes_wrapping(tagged_hash_bip_dkg("encpedpop ecdh", data + context))


def self_pad(symkey: bytes, nonce: bytes, context: bytes) -> Scalar:
    # the share to myself is padded symmetrically: no ECDH with my own key needed
    return Scalar.from_bytes_wrapping(tagged_hash_bip_dkg("encaps_multi self_pad", symkey + nonce + context))


def encaps_multi(secnonce: bytes, pubnonce: bytes, deckey: bytes, enckeys: list[bytes], context: bytes, participant_id: int) -> list[Scalar]:
    pads = []
    for i, enckey in enumerate(enckeys):
        context_ = i.to_bytes(4, "big") + context
        if i == participant_id:
            pads.append(self_pad(deckey, pubnonce, context_))
        else:
            pads.append(ecdh(secnonce, pubnonce, enckey, context_, sending=True))
    return pads


def decaps_multi(deckey: bytes, enckey: bytes, pubnonces: list[bytes], context: bytes, participant_id: int) -> list[Scalar]:
    context_ = participant_id.to_bytes(4, "big") + context
    pads = []
    for sender_id, pubnonce in enumerate(pubnonces):
        if sender_id == participant_id:
            pads.append(self_pad(deckey, pubnonce, context_))
            continue
        try:
            pads.append(ecdh(deckey, enckey, pubnonce, context_, sending=False))
        except InvalidInputError:
            raise FaultyParticipantOrCoordinatorError(sender_id, "invalid public nonce", "pubnonce") from None
    return pads


def decrypt_sum(deckey: bytes, enckey: bytes, pubnonces: list[bytes], context: bytes, participant_id: int, sum_ciphertexts: Scalar) -> Scalar:
    pads = decaps_multi(deckey, enckey, pubnonces, context, participant_id)
    total = sum_ciphertexts
    for pad in pads:
        total = total - pad
    return total


def serialize_enc_context(t: int, enckeys: list[bytes]) -> bytes:
    return t.to_bytes(4, "big") + b"".join(enckeys)


def pmsg_len(t: int, n: int) -> int:
    return simplpedpop.pmsg_len(t) + 33 + 32 * n


def parse_pmsg(b: bytes, t: int, n: int) -> tuple[bytes, bytes, list[Scalar]]:
    """(SimplPedPop message, pubnonce, encrypted shares)."""
    if len(b) != pmsg_len(t, n):
        raise InvalidInputError("an EncPedPop participant message has the wrong length", check="pmsg_length")
    k = simplpedpop.pmsg_len(t)
    simpl = b[:k]
    simplpedpop.parse_pmsg(simpl, t)
    pubnonce = b[k : k + 33]
    rest = b[k + 33 :]
    enc_shares = [Scalar.from_bytes_checked(rest[i : i + 32], "encrypted share") for i in range(0, 32 * n, 32)]
    return simpl, pubnonce, enc_shares


def cmsg_len(t: int, n: int) -> int:
    return simplpedpop.cmsg_len(t, n) + 33 * n


@dataclass(frozen=True)
class ParticipantState:
    simpl_state: simplpedpop.ParticipantState
    pubnonce: bytes
    enckeys: tuple[bytes, ...]
    participant_id: int


@dataclass(frozen=True, repr=False)
class ParticipantInvestigationData:
    simpl_inv: simplpedpop.ParticipantInvestigationData
    enc_secshare: Scalar
    pads: tuple[Scalar, ...]


def participant_step1(seed: bytes, deckey: bytes, enckeys: list[bytes], t: int, participant_id: int, random: bytes):
    if t >= 2**32:
        raise InvalidInputError("the threshold is too large", check="threshold_or_count")
    if len(random) != 32:
        raise InvalidInputError("random must be 32 bytes", check="random_length")
    n = len(enckeys)
    enc_context = serialize_enc_context(t, enckeys)
    simpl_seed = tagged_hash_bip_dkg("encpedpop seed", seed + random + enc_context)
    simpl_aux_rand = tagged_hash_bip_dkg("simplpedpop aux", simpl_seed)
    secnonce = tagged_hash_bip_dkg("encpedpop secnonce", simpl_seed)
    pubnonce = mul_g(Scalar.from_bytes_nonzero_checked(secnonce, "secnonce")).to_bytes_compressed()
    simpl_state, simpl_pmsg, shares = simplpedpop.participant_step1(simpl_seed, t, n, participant_id, simpl_aux_rand)
    pads = encaps_multi(secnonce, pubnonce, deckey, enckeys, enc_context, participant_id)
    enc_shares = [share + pad for share, pad in zip(shares, pads, strict=True)]
    pmsg = simpl_pmsg + pubnonce + b"".join(s.to_bytes() for s in enc_shares)
    return ParticipantState(simpl_state, pubnonce, tuple(enckeys), participant_id), pmsg


def participant_step2(state: ParticipantState, deckey: bytes, cmsg: bytes, enc_secshare: Scalar):
    simpl_state, participant_id = state.simpl_state, state.participant_id
    n = len(state.enckeys)
    if len(cmsg) != cmsg_len(simpl_state.t, n):
        raise FaultyCoordinatorError("coordinator message has the wrong length", "cmsg_length")
    k = simplpedpop.cmsg_len(simpl_state.t, n)
    simpl_cmsg, rest = cmsg[:k], cmsg[k:]
    try:
        simplpedpop.parse_cmsg(simpl_cmsg, simpl_state.t, n)
    except InvalidInputError as exc:
        raise FaultyCoordinatorError(str(exc), "cmsg_malformed") from None
    pubnonces = [rest[i : i + 33] for i in range(0, 33 * n, 33)]
    if pubnonces[participant_id] != state.pubnonce:
        raise FaultyCoordinatorError("replied with the wrong pubnonce for me", "own_pubnonce")
    enc_context = serialize_enc_context(simpl_state.t, list(state.enckeys))
    pads = decaps_multi(deckey, state.enckeys[participant_id], pubnonces, enc_context, participant_id)
    secshare = enc_secshare
    for pad in pads:
        secshare = secshare - pad
    try:
        output, eq_input = simplpedpop.participant_step2(simpl_state, simpl_cmsg, secshare)
    except UnknownFaultyParticipantOrCoordinatorError as exc:
        raise UnknownFaultyParticipantOrCoordinatorError(
            ParticipantInvestigationData(exc.inv_data, enc_secshare, tuple(pads))
        ) from None
    return output, eq_input + b"".join(state.enckeys) + b"".join(pubnonces)


def cinv_len(n: int) -> int:
    return 65 * n


def participant_investigate(inv: ParticipantInvestigationData, cinv: bytes):
    """Always raises, naming the faulty party where the evidence allows."""
    n = inv.simpl_inv.n
    try:
        if len(cinv) != cinv_len(n):
            raise InvalidInputError("investigation message has the wrong length", check="cinv_length")
        enc_partial = [Scalar.from_bytes_checked(cinv[i : i + 32], "encrypted partial share") for i in range(0, 32 * n, 32)]
        rest = cinv[32 * n :]
        partial_pubshares = [cpoint_ext(rest[i : i + 33], "partial pubshare") for i in range(0, 33 * n, 33)]
    except InvalidInputError as exc:
        raise FaultyCoordinatorError(str(exc), "cinv_malformed") from None
    partial_secshares = [e - pad for e, pad in zip(enc_partial, inv.pads, strict=True)]
    try:
        simplpedpop.participant_investigate(inv.simpl_inv, partial_pubshares, partial_secshares)
    except simplpedpop.SecshareSumError:
        raise FaultyCoordinatorError(
            "the encrypted partial shares do not sum to my encrypted share", "enc_partial_secshare_sum"
        ) from None


def coordinator_step(pmsgs: list[bytes], t: int, enckeys: list[bytes]):
    n = len(enckeys)
    if n != len(pmsgs):
        raise InvalidInputError("one participant message per participant is needed", check="pmsg_count")
    parsed = []
    for i, pmsg in enumerate(pmsgs):
        try:
            parsed.append(parse_pmsg(pmsg, t, n))
        except InvalidInputError as exc:
            raise FaultyParticipantError(i, str(exc)) from None
    simpl_cmsg, output, eq_input = simplpedpop.coordinator_step([p[0] for p in parsed], t, n)
    pubnonces = [p[1] for p in parsed]
    enc_secshares = []
    for i in range(n):
        total = Scalar(0)
        for p in parsed:
            total = total + p[2][i]
        enc_secshares.append(total)
    eq_input += b"".join(enckeys) + b"".join(pubnonces)
    return simpl_cmsg + b"".join(pubnonces), output, eq_input, enc_secshares


def coordinator_investigate(pmsgs: list[bytes], t: int) -> list[bytes]:
    n = len(pmsgs)
    parsed = [parse_pmsg(p, t, n) for p in pmsgs]
    coms = [simplpedpop.parse_pmsg(p[0], t)[0] for p in parsed]
    partial_pubshares = simplpedpop.coordinator_investigate(coms)
    out = []
    for i in range(n):
        enc = b"".join(p[2][i].to_bytes() for p in parsed)
        out.append(enc + b"".join(P.to_bytes_compressed_with_infinity() for P in partial_pubshares[i]))
    return out
