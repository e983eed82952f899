"""Every policy version pushed, in ``DATA_DIR/policy.sqlite3`` (SQLite, WAL): numbered,
hashed, who pushed it and when, why, and which signers took it.

The newest version is the **intended** policy: what the coordinator verifies each
signer's policy hash against and what auto-heal arms with (it wins over the configured
``quorum.policy_file``, which is only the first policy)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from backends.sqlite import immediate_transaction, open_wal_database

from .errors import PolicyError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    number INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    policy TEXT NOT NULL,
    actor TEXT NOT NULL,
    created REAL NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    reached TEXT NOT NULL DEFAULT '[]',
    stale TEXT NOT NULL DEFAULT '[]'
);
"""
_VERSION = 1


@dataclass(frozen=True)
class PolicyVersion:
    number: int
    hash: str
    policy: dict
    actor: str
    created: float
    reason: str
    reached: tuple[str, ...]  # signers running it when it was pushed
    stale: tuple[str, ...]  # enabled signers the push did not reach

    def as_dict(self, *, with_policy: bool = False) -> dict:
        data = {"number": self.number, "hash": self.hash, "actor": self.actor, "created": self.created,
                "reason": self.reason, "reached": list(self.reached), "stale": list(self.stale)}
        if with_policy:
            data["policy"] = self.policy
        return data


class PolicyHistory:
    FILENAME = "policy.sqlite3"

    def __init__(self, data_dir: Path, *, clock=None) -> None:
        import time

        self.path = Path(data_dir) / self.FILENAME
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._db = open_wal_database(self.path, _SCHEMA, _VERSION, what="policy history", error=PolicyError)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, policy: dict, policy_hash: str, *, actor: str, reason: str = "",
               reached: list[str] = (), stale: list[str] = ()) -> PolicyVersion:
        """Keep a pushed version; its number is one more than the newest."""
        with self._lock, immediate_transaction(self._db) as db:
            (newest,) = db.execute("SELECT COALESCE(MAX(number), 0) FROM versions").fetchone()
            db.execute("INSERT INTO versions (number, hash, policy, actor, created, reason, reached, stale) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (newest + 1, policy_hash, json.dumps(policy), actor, self._clock(),
                        reason, json.dumps(list(reached)), json.dumps(list(stale))))
        return self.get(newest + 1)

    def latest(self) -> PolicyVersion | None:
        rows = self._select("SELECT * FROM versions ORDER BY number DESC LIMIT 1", ())
        return rows[0] if rows else None

    def latest_policy(self) -> dict | None:
        """The intended policy (for ``Coordinator(intended_policy=...)``), None before a push."""
        latest = self.latest()
        return None if latest is None else latest.policy

    def get(self, number: int) -> PolicyVersion:
        rows = self._select("SELECT * FROM versions WHERE number=?", (number,))
        if not rows:
            raise PolicyError(f"there is no policy version {number}", hint="see `custody-tui policy history`")
        return rows[0]

    def versions(self, limit: int = 100) -> list[PolicyVersion]:
        """Newest first."""
        return self._select("SELECT * FROM versions ORDER BY number DESC LIMIT ?", (limit,))

    def _select(self, sql: str, args: tuple) -> list[PolicyVersion]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [PolicyVersion(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], tuple(json.loads(r[6])),
                              tuple(json.loads(r[7]))) for r in rows]
