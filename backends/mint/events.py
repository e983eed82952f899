"""The mint's events: what happened to the reserve and the queue, for operators to see and act on.

An event has a kind (``health``, ``pause``, ``unfundable``, ``double_spend``...), a severity
(``info``, ``warn``, ``critical``) and a message. Warn and critical events are *alerts* until
an operator acknowledges them; a silence (a kind, or ``*``, until a time, with a reason)
keeps matching events out of the alert count while it lasts, but they are still recorded.
Events older than the retention period are deleted when new ones are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import MintError
from .ledger import Ledger

SEVERITIES = ("info", "warn", "critical")
DEFAULT_RETENTION_DAYS = 90
MAX_SILENCE_SECONDS = 30 * 24 * 3600


class EventError(MintError):
    """An acknowledgement or silence that cannot be made as asked."""


@dataclass(frozen=True)
class Event:
    event_id: int
    kind: str
    severity: str
    message: str
    created_at: float
    acked_by: str | None
    acked_at: float | None

    def to_dict(self, *, silenced: bool = False) -> dict[str, Any]:
        return {**self.__dict__, "silenced": silenced}


@dataclass(frozen=True)
class Silence:
    silence_id: int
    kind: str
    until: float
    reason: str
    created_by: str
    created_at: float

    def matches(self, event: Event) -> bool:
        return (self.kind in ("*", event.kind)) and self.created_at <= event.created_at <= self.until

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_EVENT_COLUMNS = "event_id, kind, severity, message, created_at, acked_by, acked_at"
_SILENCE_COLUMNS = "silence_id, kind, until, reason, created_by, created_at"


def record(ledger: Ledger, kind: str, severity: str, message: str, *, now: float,
           retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
    if severity not in SEVERITIES:
        raise EventError(f"severity must be one of {', '.join(SEVERITIES)}")
    with ledger.transaction() as db:
        db.execute("INSERT INTO events(kind, severity, message, created_at) VALUES (?,?,?,?)",
                   (kind, severity, message, now))
        db.execute("DELETE FROM events WHERE created_at < ?", (now - retention_days * 86400,))


def history(ledger: Ledger, *, limit: int = 100) -> list[Event]:
    rows = ledger.read(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY event_id DESC LIMIT ?", (max(1, limit),))
    return [Event(*r) for r in rows]


def silences(ledger: Ledger, *, now: float, active_only: bool = True) -> list[Silence]:
    where = "WHERE until >= ?" if active_only else "WHERE ? IS NOT NULL"
    rows = ledger.read(f"SELECT {_SILENCE_COLUMNS} FROM silences {where} ORDER BY silence_id", (now,))
    return [Silence(*r) for r in rows]


def is_silenced(event: Event, all_silences: list[Silence]) -> bool:
    return any(s.matches(event) for s in all_silences)


def active_alerts(ledger: Ledger, *, now: float) -> list[Event]:
    """Warn and critical events not acknowledged and not silenced: what needs an operator."""
    rows = ledger.read(f"SELECT {_EVENT_COLUMNS} FROM events WHERE severity != 'info' AND acked_at IS NULL "
                       "ORDER BY event_id")
    every = silences(ledger, now=now, active_only=False)
    return [e for e in (Event(*r) for r in rows) if not is_silenced(e, every)]


def acknowledge(ledger: Ledger, event_id: int, operator: str, *, now: float) -> Event:
    if not 0 < event_id < 2**63:  # SQLite could not even look it up (OverflowError)
        raise EventError(f"no event has id {event_id!r}")
    with ledger.transaction() as db:
        row = db.execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id=?", (event_id,)).fetchone()
        if row is None:
            raise EventError(f"no event has id {event_id!r}")
        if row[5] is None:
            db.execute("UPDATE events SET acked_by=?, acked_at=? WHERE event_id=?", (operator, now, event_id))
    return Event(*ledger.read(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id=?", (event_id,))[0])


def silence(ledger: Ledger, kind: str, until: float, reason: str, operator: str, *, now: float) -> Silence:
    if not isinstance(kind, str) or not kind or len(kind) > 40:
        raise EventError("a silence names an event kind (or '*' for all)")
    if not reason or not reason.strip():
        raise EventError("a silence needs a reason the other operators can read")
    if not now < until <= now + MAX_SILENCE_SECONDS:
        raise EventError("a silence ends in the future, at most 30 days from now")
    with ledger.transaction() as db:
        cursor = db.execute("INSERT INTO silences(kind, until, reason, created_by, created_at) VALUES (?,?,?,?,?)",
                            (kind, until, reason.strip(), operator, now))
        silence_id = cursor.lastrowid
    return Silence(*ledger.read(f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE silence_id=?", (silence_id,))[0])
