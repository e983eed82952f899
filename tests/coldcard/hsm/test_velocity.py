"""Velocity: one shared period clock, a total per rule, lazy reset, fast-forward."""

from __future__ import annotations

import pytest

from backends.coldcard.hsm import HsmRefusal

from .conftest import tx

LEVEL = 100_000_000


def refused(engine, summary) -> str:
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(summary)
    return str(err.value)


def test_velocity_limit_across_several_approvals_and_period_reset(start, clock):
    # the firmware's test_velocity, step for step
    engine = start({"period": 2, "rules": [{"per_period": LEVEL}]})
    assert refused(engine, tx(LEVEL + 1)) == "Rejected: rule #1: would exceed period spending"
    engine.approve_transaction(tx(LEVEL, change=LEVEL))  # exactly the limit
    s = engine.status()
    assert 90 <= s["period_ends"] <= 120 and s["has_spent"] == [LEVEL]
    assert refused(engine, tx(1)) == "Rejected: rule #1: would exceed period spending"

    engine.fast_forward(120)
    s = engine.status()
    assert "period_ends" not in s and "has_spent" not in s
    third = 30_000_000
    for _ in range(3):
        engine.approve_transaction(tx(third, change=70_000_000))
    assert refused(engine, tx(third)) == "Rejected: rule #1: would exceed period spending"
    s = engine.status()
    assert s["has_spent"] == [third * 3] and 90 <= s["period_ends"] <= 120


def test_period_is_a_fixed_window_that_resets_when_it_ends(start, clock):
    engine = start({"period": 10, "rules": [{"per_period": 1000}]})
    engine.approve_transaction(tx(600))
    clock.advance(9 * 60)
    engine.approve_transaction(tx(400))  # still the first window: not extended
    assert engine.status()["period_ends"] == 60
    clock.advance(60)
    assert engine.approve_transaction(tx(1000)) == 1
    assert engine.status()["has_spent"] == [1000]


def test_totals_are_per_rule_with_one_shared_clock(start, clock):
    engine = start({"period": 10, "rules": [
        {"max_amount": 100, "per_period": 150},
        {"per_period": 10_000},
    ]})  # fmt: skip
    engine.approve_transaction(tx(100))
    clock.advance(300)
    engine.approve_transaction(tx(100))  # rule 1 is used up, rule 2 takes it
    assert engine.velocity.spent == [100, 100]
    assert engine.status()["period_ends"] == 300  # the clock started at the first spend
    clock.advance(300)
    assert engine.status().get("has_spent") is None  # both totals reset together
    assert engine.velocity.spent == [0, 0]


def test_refused_transactions_are_not_counted(start):
    engine = start({"period": 10, "rules": [{"per_period": 1000, "max_amount": 500}]})
    with pytest.raises(HsmRefusal):
        engine.approve_transaction(tx(600))
    assert engine.velocity.spent == [0]
    assert engine.status().get("period_ends") is None


def test_rules_without_per_period_do_not_record(start):
    engine = start({"period": 10, "rules": [{"max_amount": 500}, {"per_period": 1000}]})
    engine.approve_transaction(tx(400))
    assert engine.velocity.spent == [0, 0] and "period_ends" not in engine.status()
