"""The TOTP surge tier at spend time: the owner's code relayed to the emulated Coldcards
(the HSM user created on each device directly, as enrolment would), the surge global cap,
and a code that never reaches a log, the audit log, an event or an error."""

from __future__ import annotations

import json
import logging
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.coldcard.client import ColdcardClient
from backends.coldcard.errors import ColdcardError, SigningRefused
from backends.coldcard.hsm.otp import b32decode, calc_hotp
from backends.quorum import DeviceResult, Done, Failed, Preflight, QuorumError
from backends.quorum.surge import BadTotpCode, SurgeCode, parse_totp_code

from .rig import PER_PERIOD, SINK, WALLET_NAME, policy
from .test_global_cap import device_decisions

OWNER = "owner"
SECRET = "UR4LAZMTSJOF52FE"  # the simulator's public test secret
CAP, SURGE_CAP = 1_200_000, 4_000_000


def surge_policy() -> dict:
    automated = policy()
    surge = {"wallet": WALLET_NAME, "max_amount": 3_000_000, "per_period": 2 * PER_PERIOD,
             "whitelist": [SINK], "users": [OWNER], "min_users": 1}
    return automated | {"rules": automated["rules"] + [surge]}


def code_now(offset: int = 0) -> str:
    return calc_hotp(b32decode(SECRET), int(time.time()) // 30 + offset)


@pytest.fixture
def surge(rig, services):
    for target in rig.targets:
        ColdcardClient(target).create_user(OWNER, SECRET)
    coordinator = rig.coordinator(services.data_dir, services, policy=surge_policy(), global_cap_sat=CAP,
                                  surge_global_cap_sat=SURGE_CAP, global_period_minutes=60)
    try:
        assert all(s.live for s in coordinator.arm())
        yield coordinator
    finally:
        coordinator.close()


def run(events):
    collected = list(events)
    return collected, collected[-1]


def test_a_right_code_unlocks_the_surge_rule_and_cap_and_is_never_written_anywhere(
        rig, surge, services, caplog):
    caplog.set_level(logging.DEBUG)
    without = run(surge.spend(2_000_000, SINK))[1]
    assert isinstance(without, Failed) and "over the global cap" in without.reason
    code = code_now()
    events, done = run(surge.spend(2_000_000, SINK, note="surge refill", totp=code))
    assert isinstance(done, Done), done
    flight = next(e for e in events if isinstance(e, Preflight))  # the owner's code assumed right
    assert flight.would_pass and {v.rule for v in flight.verdicts} == {2}
    assert surge.global_usage(surge=True).limit_sat == SURGE_CAP
    assert surge.global_usage().used_sat == 2_000_000 + done.fee_sat
    entries = services.audit.entries(limit=None, newest_first=False)
    assert entries[-1].details["surge_user"] == OWNER and entries[-1].outcome == "ok"
    written = [repr(events), caplog.text, json.dumps([e.details for e in entries], default=str),
               services.audit.path.read_bytes().decode("latin-1")]
    assert not [w for w in written if code in w]


def test_a_wrong_code_is_refused_in_the_devices_words_and_no_spare_is_asked_to_refuse_it_too(rig, surge):
    wrong = f"{(int(code_now()) + 1) % 1_000_000:06d}"
    before = device_decisions(rig)
    _, failed = run(surge.spend(2_000_000, SINK, totp=wrong))
    assert isinstance(failed, Failed)
    assert set(failed.refusals.values()) == {f"User '{OWNER}' gave wrong auth value: mismatch"}
    after = device_decisions(rig)
    assert sum(after[n][1] - before[n][1] for n in "abc") == 2  # the two asked; the spare never was
    assert wrong not in failed.reason + repr(failed.refusals)
    assert surge.global_usage().used_sat == 0


def test_a_code_already_relayed_is_refused_by_the_coordinator_before_any_device_so_no_spare_can_take_it(
        rig, surge, services, tmp_path):
    code = code_now()
    assert isinstance(run(surge.spend(1_500_000, SINK, totp=code))[1], Done)
    before = device_decisions(rig)
    _, again = run(surge.spend(500_000, SINK, totp=code))
    assert isinstance(again, Failed) and "already relayed for spend #1" in again.reason
    assert device_decisions(rig) == before
    # a coordinator that never saw the code (another data dir): the two devices that took it
    # refuse it as a replay in their own words (the third, which never saw it, is not asked)
    elsewhere = rig.coordinator(tmp_path / "elsewhere", policy=surge_policy())
    try:
        _, replayed = run(elsewhere.spend(500_000, SINK, totp=code))
    finally:
        elsewhere.close()
    assert isinstance(replayed, Failed)
    assert list(replayed.refusals.values()).count(f"User '{OWNER}' gave wrong auth value: replay") == 2


def test_a_surge_spend_still_stops_at_the_surge_cap(surge):
    assert isinstance(run(surge.spend(3_000_000, SINK, totp=code_now()))[1], Done)
    _, failed = run(surge.spend(1_500_000, SINK, totp=code_now(-1)))
    assert isinstance(failed, Failed) and f"of {SURGE_CAP:,} sat" in failed.reason
    assert "over the surge global cap" in failed.reason


@given(st.text(max_size=40))
def test_any_typed_code_is_six_digits_or_refused_without_repeating_it(text):
    try:
        code = parse_totp_code(text)
    except BadTotpCode as exc:
        assert text not in str(exc) or text in "a TOTP code is 6 digits"
    else:
        assert len(code) == 6 and code.isascii() and code.isdigit()


def test_a_code_for_a_user_the_policy_does_not_name_is_refused(surge):
    _, failed = run(surge.spend(100_000, SINK, totp=code_now(), totp_user="mallory"))
    assert isinstance(failed, Failed) and "no rule of the armed policy names user 'mallory'" in failed.reason
    with pytest.raises(QuorumError):
        parse_totp_code("12345a")
    assert "123456" not in repr(SurgeCode(OWNER, "123456")) + str(SurgeCode(OWNER, "123456"))


class LinkDropsOnce:
    """One signer's real client, whose link drops as its next PSBT is sent: the code
    relayed just before stays queued on the (real, emulated) device."""

    def __init__(self, client) -> None:
        self._client, self.dropped = client, None

    def __getattr__(self, name):
        return getattr(self._client, name)

    def sign_psbt(self, psbt: bytes, **kwargs) -> bytes:
        if self.dropped is None:
            self.dropped = psbt
            raise ColdcardError("the USB link dropped")
        return self._client.sign_psbt(psbt, **kwargs)


def test_a_code_a_failed_request_left_queued_is_voided_so_no_later_psbt_rides_it(rig, surge, tmp_path):
    link = surge.clients["a"] = LinkDropsOnce(surge.clients["a"])
    events, done = run(surge.spend(2_000_000, SINK, totp=code_now()))
    assert isinstance(done, Done) and set(done.signers) == {"b", "c"}, done
    (failed,) = [e for e in events if isinstance(e, DeviceResult) and not e.ok]
    assert failed.signer == "a" and "replaced there by a void one" in failed.detail
    device = ColdcardClient(rig.targets[0])
    assert device.hsm_status()["pending_auth"] == 1  # a device keeps a queued code: now the void one
    # a spend without a code asks the signer holding one last (here not at all): a spend of
    # another data dir, as the global cap of this one is used up by the surge spend
    elsewhere = rig.coordinator(tmp_path / "elsewhere", policy=surge_policy())
    try:
        before = device_decisions(rig)
        events, plain = run(elsewhere.spend(100_000, SINK))
        assert [s.pending_auth for s in elsewhere.statuses()] == [1, 0, 0]
    finally:
        elsewhere.close()
    assert isinstance(plain, Done) and set(plain.signers) == {"b", "c"}, plain
    assert device_decisions(rig)["a"] == before["a"]
    # the PSBT the surge rule approves with the owner's code is refused: the code is gone
    with pytest.raises(SigningRefused) as refused:
        device.sign_psbt(link.dropped, timeout=10)
    assert refused.value.reason == f"User '{OWNER}' gave wrong auth value: mismatch"
    assert device.hsm_status()["pending_auth"] == 0
