"""ChillDKG official vectors, one parametrised test per vector file.

The vectors name the reference's exception classes; ours carry the same names (all derived
from MpcError). The reference's bare ValueError is our plain InvalidInputError.
"""

from __future__ import annotations

import pytest

from backends.mpc import chilldkg, errors

from .vectors import h, load

S = "chilldkg"


def cases(name: str, *kinds: str):
    data = load(S, name)
    out = []
    for gi, group in enumerate(data.get("testGroups", [data])):
        for kind in kinds:
            for case in group.get(kind, []):
                out.append(pytest.param(group, case, id=f"g{gi}-{case['tcId']}-{case.get('comment', '')}"))
    return out


def params_of(p: dict) -> chilldkg.SessionParams:
    return chilldkg.SessionParams(tuple(h(x) for x in p["hostpubkeys"]), p["t"])


def check_error(exc: BaseException, expected: dict) -> None:
    assert isinstance(exc, errors.MpcError), f"untyped {type(exc).__name__}: {exc}"
    if expected["type"] == "ValueError":
        assert type(exc) is errors.InvalidInputError, type(exc).__name__
    else:
        assert type(exc).__name__ == expected["type"]
    if "participantId" in expected:
        assert exc.participant == expected["participantId"]
    if "participantId1" in expected:
        assert (exc.participant_id1, exc.participant_id2) == (expected["participantId1"], expected["participantId2"])


def run(expected: dict, fn, *args):
    with pytest.raises(errors.MpcError) as info:
        fn(*args)
    check_error(info.value, expected)


def check_output(out, expected: dict) -> None:
    assert (out.secshare.hex().upper() if out.secshare else None) == expected["secshare"]
    assert out.thresh_pk.hex().upper() == expected["threshPk"]
    assert [p.hex().upper() for p in out.pubshares] == expected["pubshares"]


@pytest.mark.parametrize("group,case", cases("hostpubkey_gen_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_hostpubkey_gen_vectors(group, case):
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.hostpubkey_gen, h(case["hostseckey"]))
    else:
        assert chilldkg.hostpubkey_gen(h(case["hostseckey"])).hex().upper() == case["expectedHostpubkey"]


@pytest.mark.parametrize("group,case", cases("params_hash_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_params_hash_vectors(group, case):
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.params_hash, params_of(case["params"]))
    else:
        assert chilldkg.params_hash(params_of(case["params"])).hex().upper() == case["expectedParamsHash"]


@pytest.mark.parametrize("group,case", cases("participant_step1_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_participant_step1_vectors(group, case):
    args = (h(case["hostseckey"]), params_of(case["params"]), h(case["random"]))
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.participant_step1, *args)
    else:
        _, pmsg1 = chilldkg.participant_step1(*args)
        assert pmsg1.hex().upper() == case["expectedPmsg1"]


def _state1(group):
    state1, pmsg1 = chilldkg.participant_step1(h(group["hostseckey"]), params_of(group["params"]), h(group["random"]))
    assert pmsg1.hex().upper() == group["pmsg1"]
    return state1


@pytest.mark.parametrize("group,case", cases("participant_step2_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_participant_step2_vectors(group, case):
    state1 = _state1(group)
    hostseckey = h(case.get("hostseckey", group["hostseckey"]))
    args = (hostseckey, state1, h(case["cmsg1"]), h(case.get("auxRand", group["auxRand"])))
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.participant_step2, *args)
    else:
        _, pmsg2 = chilldkg.participant_step2(*args)
        assert pmsg2.hex().upper() == case["expectedPmsg2"]


@pytest.mark.parametrize("group,case", cases("participant_finalize_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_participant_finalize_vectors(group, case):
    state1 = _state1(group)
    state2, pmsg2 = chilldkg.participant_step2(h(group["hostseckey"]), state1, h(group["cmsg1"]), h(group["auxRand"]))
    assert pmsg2.hex().upper() == group["pmsg2"]
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.participant_finalize, state2, h(case["cmsg2"]))
    else:
        out, recovery = chilldkg.participant_finalize(state2, h(case["cmsg2"]))
        check_output(out, case["expectedOutput"]["dkgOutput"])
        assert recovery.hex().upper() == case["expectedOutput"]["recoveryData"]


@pytest.mark.parametrize("group,case", cases("participant_investigate_vectors.dev.json", "errorTestCases"))
def test_participant_investigate_vectors(group, case):
    state1 = _state1(group)
    cmsg1 = h(group["cmsg1Pool"][case["cmsg1Index"]])
    with pytest.raises(errors.UnknownFaultyParticipantOrCoordinatorError) as info:
        chilldkg.participant_step2(h(group["hostseckey"]), state1, cmsg1, h(group["auxRand"]))
    assert "inv_data" not in repr(info.value) and "Scalar" not in str(info.value)
    run(case["expectedError"], chilldkg.participant_investigate, info.value, h(case["cinvMsg"]))


@pytest.mark.parametrize("group,case", cases("coordinator_step1_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_coordinator_step1_vectors(group, case):
    pmsgs1 = [h(group["pmsg1Pool"][i]) for i in case["pmsg1Indices"]]
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.coordinator_step1, pmsgs1, params_of(case["params"]))
    else:
        _, cmsg1 = chilldkg.coordinator_step1(pmsgs1, params_of(case["params"]))
        assert cmsg1.hex().upper() == case["expectedCmsg1"]


@pytest.mark.parametrize("group,case", cases("coordinator_finalize_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_coordinator_finalize_vectors(group, case):
    state, cmsg1 = chilldkg.coordinator_step1([h(m) for m in group["pmsgs1"]], params_of(group["params"]))
    assert cmsg1.hex().upper() == group["cmsg1"]
    pmsgs2 = [h(group["pmsg2Pool"][i]) for i in case["pmsg2Indices"]]
    if "expectedError" in case:
        run(case["expectedError"], chilldkg.coordinator_finalize, state, pmsgs2)
    else:
        cmsg2, out, recovery = chilldkg.coordinator_finalize(state, pmsgs2)
        assert cmsg2.hex().upper() == case["expectedOutput"]["cmsg2"]
        check_output(out, case["expectedOutput"]["dkgOutput"])
        assert recovery.hex().upper() == case["expectedOutput"]["recoveryData"]


@pytest.mark.parametrize("group,case", cases("coordinator_investigate_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_coordinator_investigate_vectors(group, case):
    cinvs = chilldkg.coordinator_investigate([h(m) for m in group["pmsgs1"]], params_of(group["params"]))
    assert [c.hex().upper() for c in cinvs] == case["expectedCinvMsgs"]


@pytest.mark.parametrize("group,case", cases("recover_vectors.dev.json", "validTestCases", "errorTestCases"))
def test_recover_vectors(group, case):
    hostseckey = h(case["hostseckey"])
    data = h(case["recoveryData"])

    def call():
        return chilldkg.coordinator_recover(data) if hostseckey is None else chilldkg.participant_recover(hostseckey, data)

    if "expectedError" in case:
        run(case["expectedError"], call)
    else:
        out, params = call()
        check_output(out, case["expectedOutput"]["dkgOutput"])
        assert params == params_of(case["expectedOutput"]["params"])
