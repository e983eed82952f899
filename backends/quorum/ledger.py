"""The spend ledger: one row per quorum spend in SQLite (WAL, synchronous=FULL), moved
through its states so that a coordinator killed at any point restarts consistent.

States, in order: ``building`` (coins chosen, PSBT being built) → ``signing`` (PSBT sent to
signers) → ``signed`` (the final transaction is known, not yet handed to the chain) →
``broadcast`` (the chain accepted it) → ``recorded`` (done). A spend that ends early is
``refused`` (not enough signers agreed), ``failed`` (another error) or ``dropped``
(found unfinished at restart and not on the chain: its coins are free again). The row
keeps the raw transaction from ``signed`` on, so a restart can look for it on the chain
and record it instead of building another.

It also keeps the operator's enable/disable of signers, which outlives a process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

UNFINISHED = ("building", "signing", "signed", "broadcast")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    state TEXT NOT NULL,
    amount_sat INTEGER NOT NULL,
    destination TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    fee_sat INTEGER,
    change_index INTEGER,
    psbt BLOB,
    raw_tx BLOB,
    txid TEXT,
    signers TEXT NOT NULL DEFAULT '[]',
    reason TEXT
);
CREATE TABLE IF NOT EXISTS facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signer_enabled (
    name TEXT PRIMARY KEY,
    enabled INTEGER NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class SpendRow:
    id: int
    created: float
    state: str
    amount_sat: int
    destination: str
    note: str
    fee_sat: int | None
    change_index: int | None
    raw_tx: bytes | None
    txid: str | None
    signers: tuple[str, ...]
    reason: str | None


class SpendLedger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a state change is on disk before we go on
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    # -- spends ------------------------------------------------------------------------------
    def begin(self, amount_sat: int, destination: str, note: str = "") -> int:
        now = time.time()
        cur = self._write("INSERT INTO spends (created, updated, state, amount_sat, destination, note) "
                          "VALUES (?, ?, 'building', ?, ?, ?)", (now, now, amount_sat, destination, note))
        return int(cur.lastrowid)

    def built(self, spend_id: int, psbt: bytes, fee_sat: int, change_index: int | None) -> None:
        self._write("UPDATE spends SET state='signing', psbt=?, fee_sat=?, change_index=?, updated=? WHERE id=?",
                    (psbt, fee_sat, change_index, time.time(), spend_id))

    def signed(self, spend_id: int, raw_tx: bytes, txid: str, signers: list[str]) -> None:
        self._write("UPDATE spends SET state='signed', raw_tx=?, txid=?, signers=?, updated=? WHERE id=?",
                    (raw_tx, txid, json.dumps(signers), time.time(), spend_id))

    def move(self, spend_id: int, state: str, reason: str | None = None) -> None:
        self._write("UPDATE spends SET state=?, reason=COALESCE(?, reason), updated=? WHERE id=?",
                    (state, reason, time.time(), spend_id))

    def unfinished(self) -> list[SpendRow]:
        marks = ",".join("?" * len(UNFINISHED))
        return self._rows(f"SELECT * FROM spends WHERE state IN ({marks}) ORDER BY id", UNFINISHED)

    def recent(self, limit: int = 20) -> list[SpendRow]:
        return self._rows("SELECT * FROM spends ORDER BY id DESC LIMIT ?", (limit,))

    def get(self, spend_id: int) -> SpendRow:
        (row,) = self._rows("SELECT * FROM spends WHERE id=?", (spend_id,))
        return row

    def state_of(self, spend_id: int) -> tuple[str, str | None] | None:
        """A spend's ``(state, txid)``, or None if there is no such spend."""
        with self._lock:
            row = self._db.execute("SELECT state, txid FROM spends WHERE id=?", (spend_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def given_up_signed(self, states: tuple[str, ...], newest: int = -1) -> list[SpendRow]:
        """Spends in ``states`` that hold a signed transaction (see ``conflicts``), the
        ``newest`` of them (all when -1), oldest first."""
        marks = ",".join("?" * len(states))
        return self._rows(f"SELECT * FROM (SELECT * FROM spends WHERE raw_tx IS NOT NULL AND state IN ({marks}) "
                          "ORDER BY id DESC LIMIT ?) ORDER BY id", (*states, newest))

    def change_indexes_used(self) -> set[int]:
        """Change indexes of spends that may be on the chain (not refused, failed, dropped)."""
        with self._lock:
            rows = self._db.execute("SELECT change_index FROM spends WHERE change_index IS NOT NULL "
                                    "AND state NOT IN ('refused', 'failed', 'dropped')").fetchall()
        return {r[0] for r in rows}

    def _rows(self, sql: str, args: tuple) -> list[SpendRow]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
        return [SpendRow(r["id"], r["created"], r["state"], r["amount_sat"], r["destination"], r["note"],
                         r["fee_sat"], r["change_index"], r["raw_tx"], r["txid"],
                         tuple(json.loads(r["signers"])), r["reason"]) for r in rows]

    # -- signers the operator enabled or disabled --------------------------------------------
    def enabled_overrides(self) -> dict[str, bool]:
        with self._lock:
            return {name: bool(on) for name, on in self._db.execute("SELECT name, enabled FROM signer_enabled")}

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._write("INSERT INTO signer_enabled (name, enabled, updated) VALUES (?, ?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET enabled=excluded.enabled, updated=excluded.updated",
                    (name, int(enabled), time.time()))

    # -- small facts shared by every process on this data dir (the last health seen) -----------
    def fact(self, name: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM facts WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def set_fact(self, name: str, value: str) -> None:
        self._write("INSERT INTO facts (name, value) VALUES (?, ?) "
                    "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))
