"""ChillDKG beyond the vectors: recovery restores the share, acknowledgments, and a cheating
participant is named by the investigation."""

from __future__ import annotations

import secrets

import pytest

from backends.mpc import chilldkg
from backends.mpc.errors import (
    FaultyParticipantOrCoordinatorError,
    InvalidRecoveryAckError,
    RecoveryDataError,
    UnknownFaultyParticipantOrCoordinatorError,
)
from backends.mpc.inmemory import run_in_memory
from backends.mpc.secp import ORDER


def test_recovery_data_and_host_key_restore_each_share():
    dkg = run_in_memory(2, 3)
    for i, seckey in enumerate(dkg.hostseckeys):
        output, params = chilldkg.participant_recover(seckey, dkg.recovery_data)
        assert output.secshare == dkg.outputs[i].secshare
        assert params == dkg.params
    public, _ = chilldkg.coordinator_recover(dkg.recovery_data)
    assert public.secshare is None and public.thresh_pk == dkg.coordinator_output.thresh_pk
    with pytest.raises(RecoveryDataError):
        chilldkg.coordinator_recover(dkg.recovery_data[:-1] + bytes([dkg.recovery_data[-1] ^ 1]))


def test_recovery_acknowledgments_name_a_bad_one():
    dkg = run_in_memory(2, 3)
    acks = [chilldkg.participant_recovery_ack_sign(k, dkg.recovery_data, dkg.params, secrets.token_bytes(32))
            for k in dkg.hostseckeys]
    chilldkg.participant_recovery_acks_verify(dkg.recovery_data, dkg.params, acks)
    with pytest.raises(InvalidRecoveryAckError) as info:
        chilldkg.participant_recovery_acks_verify(dkg.recovery_data, dkg.params, [acks[0], acks[0], acks[2]])
    assert info.value.participant == 1


def test_a_participant_sending_a_bad_share_is_named_by_the_investigation():
    t, n = 2, 3
    seckeys = [secrets.token_bytes(32) for _ in range(n)]
    params = chilldkg.SessionParams(tuple(chilldkg.hostpubkey_gen(k) for k in seckeys), t)
    round1 = [chilldkg.participant_step1(k, params, secrets.token_bytes(32)) for k in seckeys]
    pmsgs1 = [m for _, m in round1]
    # participant 2 corrupts the encrypted share it sends to participant 0
    at = 33 * t + 64 + 33
    share = (int.from_bytes(pmsgs1[2][at : at + 32], "big") + 1) % ORDER
    pmsgs1[2] = pmsgs1[2][:at] + share.to_bytes(32, "big") + pmsgs1[2][at + 32 :]
    _, cmsg1 = chilldkg.coordinator_step1(pmsgs1, params)
    # the others are unaffected; participant 0 detects a bad share but not yet whose
    chilldkg.participant_step2(seckeys[1], round1[1][0], cmsg1, secrets.token_bytes(32))
    with pytest.raises(UnknownFaultyParticipantOrCoordinatorError) as info:
        chilldkg.participant_step2(seckeys[0], round1[0][0], cmsg1, secrets.token_bytes(32))
    cinv = chilldkg.coordinator_investigate(pmsgs1, params)[0]
    with pytest.raises(FaultyParticipantOrCoordinatorError) as blamed:
        chilldkg.participant_investigate(info.value, cinv)
    assert blamed.value.participant == 2 and blamed.value.check == "partial_secshare"
    assert "participant 2" in str(blamed.value)
