"""Remote users (TOTP, HOTP, password) and the local operator's code, inside a PSBT decision."""

from __future__ import annotations

import hashlib
import hmac
import itertools
from base64 import b32decode

import pyotp
import pytest

from backends.coldcard.hsm import HsmRefusal, HsmRequestError, calc_hotp, calc_local_pincode, password_key

from .conftest import HOTP_SECRET, PASSWORD, TOTP_SECRET, tx


def refused(engine, summary, **kw) -> str:
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(summary, **kw)
    return str(err.value)


def totp_now(clock) -> str:
    return pyotp.TOTP(TOTP_SECRET).at(clock())


def test_rule_with_users_needs_their_codes(start, clock):
    engine = start({"rules": [{"users": ["totp"]}]})
    assert refused(engine, tx(1)) == "Rejected: rule #1: need user(s) confirmation"
    assert engine.approve_transaction(tx(1), auth={"totp": totp_now(clock)}) == 1


def test_queued_codes_are_used_by_the_next_psbt_only(start, clock):
    engine = start({"rules": [{"users": ["totp"]}]})
    engine.queue_user_auth("totp", totp_now(clock).encode(), int(clock()) // 30)
    assert engine.status()["pending_auth"] == 1
    engine.approve_transaction(tx(1))
    assert engine.status()["pending_auth"] == 0
    assert refused(engine, tx(1)) == "Rejected: rule #1: need user(s) confirmation"


def test_wrong_code_is_refused_before_any_rule(start, clock):
    engine = start({"rules": [{}]})
    assert refused(engine, tx(1), auth={"totp": "123x23"}) == "User 'totp' gave wrong auth value: mismatch"
    assert engine.refusals == 1


def test_replayed_totp_code_is_refused(start, clock):
    engine = start({"rules": [{"users": ["totp"]}]})
    code = totp_now(clock)
    engine.approve_transaction(tx(1), auth={"totp": code})
    clock.advance(5)
    assert refused(engine, tx(1), auth={"totp": code}) == "User 'totp' gave wrong auth value: replay"


def test_totp_counter_is_the_hosts_and_a_new_step_gets_a_new_code(start, clock):
    engine = start({"rules": [{"users": ["totp"]}]})
    first = totp_now(clock)
    assert engine.approve_transaction(tx(1), auth={"totp": first}) == 1
    clock.advance(30)
    second = totp_now(clock)
    assert second != first
    assert engine.approve_transaction(tx(1), auth={"totp": (second, int(clock()) // 30)}) == 1


def test_min_users_counts_distinct_good_codes(start, clock):
    engine = start({"rules": [{"users": ["totp", "hotp", "pw"], "min_users": 2}]})
    assert refused(engine, tx(1), auth={"totp": totp_now(clock)}) == (
        "Rejected: rule #1: need more users to confirm (got 1 of 2)"
    )
    clock.advance(30)
    hotp = calc_hotp(b32decode(HOTP_SECRET), 1)
    assert engine.approve_transaction(tx(1), auth={"totp": totp_now(clock), "hotp": hotp}) == 1


@pytest.mark.parametrize("subset", list(itertools.combinations(["totp", "hotp", "pw"], 2)))
def test_any_two_of_three_users_approve(start, clock, subset):
    engine = start({"rules": [{"users": ["totp", "hotp", "pw"], "min_users": 2}]})
    summary = tx(1)
    codes = {
        "totp": totp_now(clock),
        "hotp": calc_hotp(b32decode(HOTP_SECRET), 1),
        "pw": hmac.new(password_key(PASSWORD, "F1F1F1F1F1F1"), summary.psbt_sha256, hashlib.sha256).digest(),
    }
    assert engine.approve_transaction(summary, auth={name: codes[name] for name in subset}) == 1


def test_surge_tier_second_rule_needs_totp(start, clock):
    # the seed's two tiers: small spends auto-sign, bigger ones need the owner's code
    engine = start({"period": 60, "rules": [
        {"max_amount": 8000, "per_period": 500_000},
        {"max_amount": 200_000, "per_period": 2_000_000, "users": ["totp"], "min_users": 1},
    ]})  # fmt: skip
    assert engine.approve_transaction(tx(5000)) == 1
    assert refused(engine, tx(50_000)) == (
        "Rejected: rule #1: amount exceeded, rule #2: need user(s) confirmation"
    )
    assert engine.approve_transaction(tx(50_000), auth={"totp": totp_now(clock)}) == 2
    assert engine.status()["has_spent"] == [5000, 50_000]


def test_user_auth_queue_limits(start):
    engine = start({"rules": [{}]})
    with pytest.raises(HsmRequestError, match="badlen"):
        engine.queue_user_auth("x", b"123456", 0)
    for i in range(30):
        engine.queue_user_auth(f"user{i}", b"123456", 0)
    with pytest.raises(HsmRequestError, match="toomany"):
        engine.queue_user_auth("user0", b"123456", 0)


def test_local_confirmation_code(start):
    engine = start({"rules": [{"local_conf": True}]})
    summary = tx(1)
    code = calc_local_pincode(summary.psbt_sha256, engine.status()["next_local_code"])
    assert engine.local_code_challenge(summary.psbt_sha256) == code
    assert engine.approve_transaction(summary, local_code=code) == 1
    # the key changed after that attempt; the same code no longer works
    assert refused(engine, summary, local_code=code) == "Rejected: rule #1: local operator didn't confirm"


def test_local_code_typed_on_the_keypad(start):
    engine = start({"rules": [{"local_conf": True}]})
    summary = tx(1)
    assert refused(engine, summary) == "Rejected: rule #1: local operator didn't confirm"
    for key in "x" + engine.local_code_challenge(summary.psbt_sha256) + "y":
        engine.keypad(key)
    assert engine.approve_transaction(summary) == 1


def test_local_code_is_consumed_by_every_attempt(start):
    engine = start({"rules": [{"local_conf": True}]})
    summary = tx(1)
    engine.local_pin_entered(engine.local_code_challenge(summary.psbt_sha256))
    with pytest.raises(HsmRefusal):
        engine.approve_transaction(tx(2))  # a different PSBT uses up the code
    assert refused(engine, summary) == "Rejected: rule #1: local operator didn't confirm"


def test_local_code_self_test_vectors():
    assert calc_local_pincode(b"b" * 32, "YWFhYWFhYWFhYWFhYWFh") == "998170"
    assert calc_local_pincode(bytes(32), "YWFhYWFhYWFhYWFaYWFh") == "816912"


def test_next_local_code_is_only_reported_when_a_rule_uses_it(start):
    assert "next_local_code" not in start({"rules": [{}]}).status()
    code = start({"rules": [{"local_conf": True}]}).status()["next_local_code"]
    assert len(code) == 20
