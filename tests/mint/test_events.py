"""Events: recorded on health changes, pauses and unfundable payouts; alerts until
acknowledged; silences keep them out of the alerts; old events are pruned."""

from __future__ import annotations

import pytest

from backends.mint.events import EventError, history, record
from tests.mint.hot_reserve import PAYOUT_ADDRESS
from tests.mint.test_pause import _drain_reserve


def test_a_critical_reserve_records_health_and_auto_pause_alerts_until_acknowledged(rig):
    rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    _drain_reserve(rig)
    rig.mint.refresh()
    kinds = {(e["kind"], e["severity"]) for e in rig.mint.events()}
    assert {("health", "critical"), ("pause", "critical")} <= kinds
    alerts = rig.mint.alerts()
    assert {a.kind for a in alerts} == {"health", "pause"}
    for alert in alerts:
        rig.mint.acknowledge(alert.event_id, "op-alice")
    assert rig.mint.alerts() == []
    assert all(e["acked_by"] == "op-alice" for e in rig.mint.events() if e["severity"] != "info")


def test_an_operator_pause_and_resume_are_events(rig):
    rig.mint.pause("op-bob", "maintenance")
    rig.mint.resume("op-bob")
    messages = [e["message"] for e in rig.mint.events()]
    assert messages[:2] == ["redemption payouts resumed by op-bob", "redemption payouts paused by op-bob: maintenance"]


def test_a_silence_keeps_matching_events_out_of_the_alerts_while_it_lasts(rig):
    now = rig.mint._clock()
    rig.mint.silence("unfundable", now + 3600, "known: waiting for a deposit to confirm", "op-alice")
    rig.mint.record_event("unfundable", "warn", "redemption x waits")
    rig.mint.record_event("health", "warn", "reserve health is warn")
    assert [a.kind for a in rig.mint.alerts()] == ["health"]
    assert [s.kind for s in rig.mint.silences()] == ["unfundable"]
    assert next(e for e in rig.mint.events() if e["kind"] == "unfundable")["silenced"] is True


@pytest.mark.parametrize("kind,until_offset,reason,message", [
    ("health", -1, "r", "in the future"),
    ("health", 31 * 86400, "r", "at most 30 days"),
    ("health", 60, "  ", "needs a reason"),
    ("", 60, "r", "names an event kind"),
])
def test_bad_silences_are_refused(rig, kind, until_offset, reason, message):
    with pytest.raises(EventError, match=message):
        rig.mint.silence(kind, rig.mint._clock() + until_offset, reason, "op")
    assert rig.mint.silences() == []


def test_acknowledging_an_unknown_event_is_refused(rig):
    with pytest.raises(EventError, match="no event has id 999"):
        rig.mint.acknowledge(999, "op")
    with pytest.raises(EventError, match="no event has id"):  # beyond SQLite's integer: not an OverflowError
        rig.mint.acknowledge(10**20, "op")


def test_events_older_than_the_retention_are_pruned(rig):
    now = rig.mint._clock()
    record(rig.mint.ledger, "health", "info", "old", now=now - 91 * 86400)
    assert "old" in [e.message for e in history(rig.mint.ledger)]
    record(rig.mint.ledger, "health", "info", "new", now=now)
    messages = [e.message for e in history(rig.mint.ledger)]
    assert "new" in messages and "old" not in messages
