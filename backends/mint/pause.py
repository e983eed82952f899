"""Pausing redemption payouts: by an operator, or automatically when reserve health is critical.

While paused, redemptions are still accepted (their notes burned, queued as pending) but no
payout is approved, funded or signed. Auto-pause, when on, pauses as soon as a health check
finds the reserve ``critical``; only an operator resumes. The recommendation follows health:
``pause`` when critical, ``watch`` on a warning, ``resume`` (or stay running) when healthy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import RedemptionError
from .ledger import Ledger
from .reserves import CRITICAL, WARN, Health

_KEY = "redemption_pause"
_AUTO_KEY = "auto_pause"


@dataclass(frozen=True)
class PauseState:
    paused: bool
    reason: str | None
    by: str | None  # the operator, or "auto" for auto-pause
    since: float | None
    auto_pause: bool

    def to_dict(self) -> dict[str, Any]:
        return {"paused": self.paused, "reason": self.reason, "by": self.by, "since": self.since,
                "auto_pause": self.auto_pause}


def pause_state(ledger: Ledger) -> PauseState:
    rows = dict(ledger.read("SELECT key, value FROM meta WHERE key IN (?, ?)", (_KEY, _AUTO_KEY)))
    auto = rows.get(_AUTO_KEY, "on") == "on"  # on unless an operator turned it off
    if _KEY not in rows:
        return PauseState(False, None, None, None, auto)
    record = json.loads(rows[_KEY])
    return PauseState(True, record["reason"], record["by"], record["since"], auto)


def pause(ledger: Ledger, by: str, reason: str, *, now: float) -> PauseState:
    if not reason or not reason.strip():
        raise RedemptionError("a pause needs a reason the other operators can read")
    with ledger.transaction() as db:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                   (_KEY, json.dumps({"reason": reason.strip(), "by": by, "since": now})))
    return pause_state(ledger)


def resume(ledger: Ledger) -> PauseState:
    with ledger.transaction() as db:
        db.execute("DELETE FROM meta WHERE key=?", (_KEY,))
    return pause_state(ledger)


def set_auto_pause(ledger: Ledger, on: bool) -> PauseState:
    with ledger.transaction() as db:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (_AUTO_KEY, "on" if on else "off"))
    return pause_state(ledger)


def require_running(ledger: Ledger) -> None:
    state = pause_state(ledger)
    if state.paused:
        raise RedemptionError(f"redemption payouts are paused by {state.by}: {state.reason}",
                              hint="resume them first (mint resume) once the cause is fixed")


def apply_auto_pause(ledger: Ledger, health: Health, *, now: float) -> PauseState:
    """Pause now if auto-pause is on, the reserve is critical and payouts still run."""
    state = pause_state(ledger)
    if state.auto_pause and not state.paused and health.status == CRITICAL:
        return pause(ledger, "auto", "reserve health is critical: " + "; ".join(health.reasons), now=now)
    return state


def recommendation(health: Health, state: PauseState) -> str:
    if health.status == CRITICAL:
        return "pause" if not state.paused else "stay paused"
    if health.status == WARN:
        return "watch"
    return "resume" if state.paused else "keep running"
