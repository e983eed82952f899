"""Status, data sharing, message signing, storage locker, boot_to_hsm and power cycles."""

from __future__ import annotations

import json

import pytest

from backends.coldcard.hsm import (
    HsmEngine,
    HsmPolicy,
    HsmPolicyError,
    HsmRefusal,
    HsmRequestError,
    UserStore,
    inactive_status,
    load_saved_policy,
    policy_available,
)

from .conftest import tx

ACTIVE_KEYS = [
    "active", "chain", "policy_hash", "summary", "last_refusal", "approvals", "refusals",
    "sl_reads", "period", "uptime", "users", "pending_auth",
]  # fmt: skip


def test_hsts_reports_exactly_the_device_keys(start, clock):
    engine = start({"period": 5, "rules": [{"per_period": 10}]})
    assert list(engine.status()) == ACTIVE_KEYS
    engine.approve_transaction(tx(1))
    keys = list(engine.status())
    assert keys == ACTIVE_KEYS[:10] + ["period_ends", "has_spent"] + ACTIVE_KEYS[10:]
    clock.advance(2.5)
    status = engine.status()
    assert status["uptime"] == 2.5 and status["users"] == ["hotp", "pw", "totp"]
    assert status["chain"] == "XTN" and status["policy_hash"] == engine.policy.hash()
    assert status["summary"].startswith("\nTransactions:\n")
    json.dumps(status)


def test_priv_over_ux_status_is_terse(start):
    status = start({"priv_over_ux": True, "rules": [{"local_conf": True}]}).status()
    assert list(status) == ["active", "chain", "next_local_code", "policy_hash",
                            "last_refusal", "approvals", "refusals"]  # fmt: skip


def test_inactive_status_keys():
    status = inactive_status(policy_available=True, users=["b", "a"], wallets=["w"], chain="XTN")
    assert status == {"active": False, "policy_available": True, "users": ["a", "b"],
                      "wallets": ["w"], "chain": "XTN"}  # fmt: skip
    waiting = inactive_status(policy_available=False, users=[], wallets=[], chain="BTC", approval_wait=True)
    assert waiting["approval_wait"] is True


def test_message_signing_follows_msg_paths(start):
    engine = start({"msg_paths": ["m/73", "m/*'", "m/1p/3h/4/5/6/7"]})
    for path in ["m/73", "m/75333'", "m/1p/3h/4/5/6/7", "m/1'/3'/4/5/6/7"]:
        engine.approve_message(path, message=b"testing 123")
    for path in ["m", "m/72", "m/1p/3h/4/5/6", "m/75333"]:
        with pytest.raises(HsmRefusal) as err:
            engine.approve_message(path, message=b"testing 123")
        assert str(err.value) == "Message signing not enabled for that path"
    assert (engine.approvals, engine.refusals) == (4, 4)


def test_message_signing_without_msg_paths_is_not_permitted(start):
    engine = start({})
    with pytest.raises(HsmRefusal) as err:
        engine.approve_message("m/73")
    assert engine.last_refusal == str(err.value) == "Message signing not permitted"
    assert start({"msg_paths": ["any"]}).approve_message("m/1/2/3") is None


def test_a_malformed_path_is_an_error_not_a_refusal(start):
    engine = start({"msg_paths": ["any"]})
    with pytest.raises(HsmRequestError, match="invalid characters in path"):
        engine.approve_message("m/x")
    assert engine.refusals == 0


def test_xpub_sharing(start):
    engine = start({"share_xpubs": ["m", "m/73", "m/43/44/*'", "m/1p/3h/4/5/6/7"]})
    for path in ["m", "m/73", "m/43/44/99'", "m/1'/3'/4/5/6/7"]:
        assert engine.may_share_xpub(path)
    for path in ["m/72", "m/43/44/99", "m/1p/3h/4/5/6"]:
        assert not engine.may_share_xpub(path)
    closed = start({})
    assert closed.may_share_xpub("m") and not closed.may_share_xpub("m/73")


def test_address_sharing(start):
    engine = start({"share_addrs": ["m/73", "m/999'/*'", "p2sh"]})
    assert engine.may_share_address("m/73") and engine.may_share_address("m/999h/73h")
    assert not engine.may_share_address("m/4") and engine.may_share_address(p2sh=True)
    anything = start({"share_addrs": ["any"]})
    assert anything.may_share_address("m/1/2/3") and not anything.may_share_address(p2sh=True)
    assert not start({}).may_share_address("m")


def test_storage_locker_reads_are_limited_per_boot(start, tmp_path, clock, users):
    engine = start({"set_sl": "hello world; how's tricks?", "allow_sl": 2})
    assert engine.read_storage_locker() == b"hello world; how's tricks?"
    assert engine.read_storage_locker() == b"hello world; how's tricks?"
    with pytest.raises(HsmRequestError, match="consumed"):
        engine.read_storage_locker()
    assert engine.status()["sl_reads"] == 2
    with pytest.raises(HsmRequestError, match="not allowed"):
        start({}).read_storage_locker()
    # the locker keeps its value for a later policy that only allows reading
    later = start({"allow_sl": 1})
    assert later.storage_locker == b"hello world; how's tricks?"


def test_new_policy_is_saved_and_survives_a_power_cycle(start, tmp_path, users):
    start({"period": 5, "rules": [{"per_period": 10, "users": ["totp"]}]})
    assert policy_available(tmp_path)
    again = load_saved_policy(tmp_path, users=UserStore(tmp_path), wallets=[])
    assert again.to_json() == {"period": 5, "rules": [{"per_period": 10, "users": ["totp"], "min_users": 1}]}


def test_without_saved_policy_the_device_says_so(tmp_path):
    with pytest.raises(HsmPolicyError) as err:
        load_saved_policy(tmp_path)
    assert str(err.value) == "No existing policy"


def test_power_cycle_forgets_counters_and_velocity(start, tmp_path, clock, users):
    engine = start({"period": 60, "rules": [{"per_period": 1000}]})
    engine.approve_transaction(tx(1000))
    with pytest.raises(HsmRefusal):
        engine.approve_transaction(tx(1))
    # no boot_to_hsm: after a reboot the operator starts the saved policy again
    policy = load_saved_policy(tmp_path, users=users)
    reborn = HsmEngine(policy, tmp_path, clock=clock, users=users, new_file=False)
    status = reborn.status()
    assert (status["approvals"], status["refusals"], status["last_refusal"]) == (0, 0, None)
    assert reborn.approve_transaction(tx(1000)) == 1
    assert HsmEngine.boot(tmp_path, users=users, clock=clock) is None


def test_boot_to_hsm_restarts_with_the_period_used_up(start, tmp_path, clock, users):
    policy = {"boot_to_hsm": "123123", "period": 60, "rules": [
        {"per_period": 1000}, {"max_amount": 5},
    ]}  # fmt: skip
    fresh = start(policy)
    assert fresh.velocity.spent == [0, 0]  # a newly approved policy starts clean
    fresh.approve_transaction(tx(10))
    booted = HsmEngine.boot(tmp_path, users=users, clock=clock)
    assert booted is not None
    assert booted.status()["has_spent"] == [1000, 0]
    with pytest.raises(HsmRefusal) as err:
        booted.approve_transaction(tx(10))
    assert str(err.value) == (
        "Rejected: rule #1: would exceed period spending, rule #2: amount exceeded"
    )
    booted.fast_forward(3600)
    assert booted.approve_transaction(tx(10)) == 1


def test_a_zero_limit_is_dropped_from_the_saved_policy(start, tmp_path, clock, users):
    # firmware quirk: 0 is falsy, so {"per_period": 0} is saved as {} -- "sign anything"
    engine = start({"period": 60, "rules": [{"per_period": 0}]})
    with pytest.raises(HsmRefusal):
        engine.approve_transaction(tx(10))
    reloaded = load_saved_policy(tmp_path, users=users)
    assert reloaded.to_json()["rules"] == [{}]
    rebooted = HsmEngine(reloaded, tmp_path, clock=clock, users=users, new_file=False)
    assert rebooted.approve_transaction(tx(10**9)) == 1


def test_boot_to_hsm_code_releases_only_within_a_minute(start, tmp_path, clock, users):
    start({"boot_to_hsm": "123123"})
    booted = HsmEngine.boot(tmp_path, users=users, clock=clock)
    clock.advance(30)
    assert booted.local_pin_entered("123123") and booted.released
    late = HsmEngine.boot(tmp_path, users=users, clock=clock)
    clock.advance(61)
    for key in "123123":
        late.keypad(key)
    assert not late.released


def test_a_boot_policy_that_no_longer_validates_stops_the_boot(start, tmp_path, clock, users):
    start({"boot_to_hsm": "1", "rules": [{"users": ["totp"]}]})
    users.delete("totp")
    with pytest.raises(HsmPolicyError, match="Unknown user: totp"):
        HsmEngine.boot(tmp_path, users=users, clock=clock)


def test_policy_upload_errors_are_cut_by_the_transport_not_here():
    with pytest.raises(HsmPolicyError) as err:
        HsmPolicy.from_json({"rules": [{"whitelist": ["x" * 200]}]})
    assert len(str(err.value)) > 80  # the USB layer keeps the first 80 bytes
