"""Failures inside transaction evaluation are refusals, as in the firmware's
``approve_transaction`` (it catches every exception): a crashing rule check is that rule's
reason (``rule #N: <text>``) and the next rule is tried; anything else that goes wrong
once evaluation has started refuses with ``Rejected: <text>``. Counted, reported as
``last_refusal``, logged; the queued auths and the local code are consumed all the same.
"""

from __future__ import annotations

import re
from base64 import b32decode

import pytest

from backends.coldcard.hsm import ApprovalRule, HsmRefusal, calc_hotp
from backends.coldcard.hsm.engine import problem_file_line, problem_text

from .conftest import HOTP_SECRET, tx

DISK_FULL = OSError(28, "No space left on device")


def refused(engine, summary, **kw) -> str:
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(summary, **kw)
    assert engine.last_refusal == str(err.value)
    return str(err.value)


def crash_rule(monkeypatch, index: int, exc: BaseException) -> None:
    """Make rule ``index``'s check raise ``exc``; the other rules check as usual."""
    real = ApprovalRule.check

    def check(self, *args, **kw):
        if self.index == index:
            raise exc
        return real(self, *args, **kw)

    monkeypatch.setattr(ApprovalRule, "check", check)


def test_a_crashing_rule_check_is_its_reason_and_the_next_rule_is_tried(start, monkeypatch):
    engine = start({"rules": [{"max_amount": 10}, {"max_amount": 1000}]})
    crash_rule(monkeypatch, 1, KeyError("wallet"))
    assert engine.approve_transaction(tx(5)) == 2
    assert refused(engine, tx(5000)) == "Rejected: rule #1: 'wallet', rule #2: amount exceeded"
    assert (engine.approvals, engine.refusals) == (1, 1)


def test_every_rule_crashing_refuses_with_each_reason(start, monkeypatch):
    engine = start({"rules": [{}]})
    crash_rule(monkeypatch, 1, DISK_FULL)
    assert refused(engine, tx(1)) == "Rejected: rule #1: [Errno 28] No space left on device"
    assert (engine.approvals, engine.refusals) == (0, 1)
    assert "REFUSED: Rejected: rule #1: [Errno 28]" in engine.last_log.text


def test_a_crash_without_text_is_reported_as_file_and_line(start, monkeypatch):
    engine = start({"rules": [{}]})
    crash_rule(monkeypatch, 1, AssertionError())
    reason = refused(engine, tx(1))
    assert re.fullmatch(r"Rejected: rule #1: test_failures\.py:\d+", reason), reason


def test_problem_text_is_the_message_or_where_it_was_raised():
    assert problem_text(ValueError("bad")) == "bad"
    assert problem_file_line(ValueError("bad")) == "bad"  # never raised: no traceback
    assert problem_file_line(AssertionError()) == "Exception"
    try:
        raise AssertionError()  # a bare assert (pytest would rewrite an assert statement)
    except AssertionError as exc:
        assert re.fullmatch(r"test_failures\.py:\d+", problem_text(exc))


def test_a_user_table_that_cannot_be_saved_refuses_and_consumes_the_request(start, users, monkeypatch):
    engine = start({"rules": [{"users": ["hotp"]}]})
    code = calc_hotp(b32decode(HOTP_SECRET), 1)
    engine.queue_user_auth("hotp", code, 0)
    local_code = engine.next_local_code

    def save():
        raise DISK_FULL

    monkeypatch.setattr(users, "_save", save)
    assert refused(engine, tx(1)) == "Rejected: [Errno 28] No space left on device"
    assert (engine.approvals, engine.refusals) == (0, 1)
    assert engine.pending_auth == {} and engine.next_local_code != local_code
    assert engine.status()["last_refusal"] == "Rejected: [Errno 28] No space left on device"
    assert "REFUSED: Rejected: [Errno 28] No space left on device" in engine.last_log.text
    # once the disk is back, the next code works
    monkeypatch.undo()
    assert engine.approve_transaction(tx(1), auth={"hotp": calc_hotp(b32decode(HOTP_SECRET), 2)}) == 1
    assert (engine.approvals, engine.refusals, engine.last_refusal) == (1, 1, None)


def test_an_unexpected_error_is_chained_for_debugging(start, users, monkeypatch):
    engine = start({"rules": [{"users": ["hotp"]}]})
    monkeypatch.setattr(users, "auth", lambda *a, **kw: 1 / 0)
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(tx(1), auth={"hotp": "123456"})
    assert str(err.value) == "Rejected: division by zero"
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_a_failure_after_approval_is_also_a_refusal(start, monkeypatch):
    """As on the device: approve() has counted it, then record_spend fails inside the try."""
    engine = start({"period": 60, "rules": [{"per_period": 1000}]})

    def record_spend(index, amount):
        raise DISK_FULL

    monkeypatch.setattr(engine.velocity, "record_spend", record_spend)
    assert refused(engine, tx(10)) == "Rejected: [Errno 28] No space left on device"
    assert (engine.approvals, engine.refusals) == (1, 1)


def test_interrupts_are_not_swallowed(start, monkeypatch):
    engine = start({"rules": [{}]})
    crash_rule(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        engine.approve_transaction(tx(1))
