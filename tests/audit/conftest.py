from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from backends.audit import AuditLog


class SteppingClock:
    """A frozen clock that moves one second per reading, so timestamps are predictable."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit.sqlite"


@pytest.fixture
def audit_log(log_path: Path):
    log = AuditLog(log_path, clock=SteppingClock())
    yield log
    log.close()


@pytest.fixture
def five_entries(audit_log: AuditLog) -> AuditLog:
    for number, (area, action) in enumerate(
        [("app", "start"), ("keys", "unlock"), ("quorum", "arm"), ("policy", "update"), ("keys", "lock")], start=1
    ):
        audit_log.append(area, action, actor="alice", details={"step": number})
    return audit_log


def tamper(path: Path, *statements: tuple[str, tuple] | str) -> None:
    """Edit the SQLite file behind the log's back, as an attacker with file access would."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN")
        for statement in statements:
            if isinstance(statement, str):
                connection.execute(statement)
            else:
                connection.execute(*statement)
        connection.execute("COMMIT")
    finally:
        connection.close()


def row(path: Path, seq: int) -> dict:
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    try:
        return dict(connection.execute("SELECT * FROM entries WHERE seq = ?", (seq,)).fetchone())
    finally:
        connection.close()
