"""The spend ledger: one row per quorum spend in SQLite (WAL, synchronous=FULL), moved
through its states so that a coordinator killed at any point restarts consistent.

States, in order: ``signing`` (PSBT built, sent to signers) → ``signed`` (the final
transaction is known, not yet handed to the chain) → ``recorded`` (the chain accepted it:
done). ``building`` and ``broadcast`` are states earlier versions wrote between those (a
row may still hold one; recovery settles it). A spend that ends early is
``refused`` (not enough signers agreed), ``failed`` (another error) or ``dropped``
(found unfinished at restart and not on the chain: its coins are free again). The row
keeps the raw transaction from ``signed`` on, so a restart can look for it on the chain
and record it instead of building another.

Every write is fsynced except ``recorded``: a process killed after it keeps it, but a
power cut before the next fsynced write may take the row back to ``signed``. Recovery then
finds the transaction on the chain and records it, and the next spend asked for stops
once, naming it (as after a crash between broadcast and recording): nothing is paid twice.

It also keeps the operator's enable/disable of signers, which outlives a process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
-- the void scan reads the newest spends of a state at every spend (``signed_inputs``)
CREATE INDEX IF NOT EXISTS spends_by_state ON spends (state, id);
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


class SignedInputs(NamedTuple):
    spend_id: int
    txid: str
    outpoints: tuple[tuple[str, int], ...]  # (txid hex, vout) of each input


class SpendLedger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        #: (spend id, txid) -> the outpoints its transaction spends (``signed_inputs``)
        self._inputs: dict[tuple[int, str], tuple[tuple[str, int], ...]] = {}
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
    def begin(self, amount_sat: int, destination: str, note: str = "", *, psbt: bytes,
              fee_sat: int, change_index: int | None) -> int:
        """A new spend, its PSBT built and about to go to the signers (``signing``): one
        durable write before any device or gate sees it."""
        now = time.time()
        cur = self._write("INSERT INTO spends (created, updated, state, amount_sat, destination, note, psbt, "
                          "fee_sat, change_index) VALUES (?, ?, 'signing', ?, ?, ?, ?, ?, ?)",
                          (now, now, amount_sat, destination, note, psbt, fee_sat, change_index))
        return int(cur.lastrowid)

    def signed(self, spend_id: int, raw_tx: bytes, txid: str, signers: list[str]) -> None:
        self._write("UPDATE spends SET state='signed', raw_tx=?, txid=?, signers=?, updated=? WHERE id=?",
                    (raw_tx, txid, json.dumps(signers), time.time(), spend_id))

    def move(self, spend_id: int, state: str, reason: str | None = None, *, synced: bool = True) -> None:
        """``synced=False``: no fsync (``backends.sqlite.unsynced``). Only for a change that
        recovery redoes from the chain if a power cut loses it (``recorded`` after the chain
        took the transaction: a row left ``signed`` is looked up and recorded)."""
        sql = "UPDATE spends SET state=?, reason=COALESCE(?, reason), updated=? WHERE id=?"
        args = (state, reason, time.time(), spend_id)
        if synced:
            self._write(sql, args)
            return
        from backends.sqlite import unsynced

        with self._lock, unsynced(self._db) as db:
            db.execute(sql, args)

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

    def signed_inputs(self, selections: list[tuple[tuple[str, ...], int]]) -> list[SignedInputs]:
        """The outpoints each signed spend spends, for the spends in ``selections``: pairs
        of (states, how many of the newest; -1 for all), each oldest first (see ``conflicts``).

        A row's transaction never changes once signed, so each is parsed once per ledger
        object: a spend looks at up to a thousand of them, and parsing them all at every
        spend cost more than the rest of the coordinator's work."""
        from backends.chain.serialize import parse_tx

        found: list[tuple[int, str]] = []
        with self._lock:
            for states, newest in selections:
                marks = ",".join("?" * len(states))
                found += self._db.execute(
                    f"SELECT id, txid FROM (SELECT id, txid FROM spends WHERE raw_tx IS NOT NULL AND state IN "
                    f"({marks}) ORDER BY id DESC LIMIT ?) ORDER BY id", (*states, newest)).fetchall()
            # keyed by txid too: a data dir restored under a running process could give an
            # id to another transaction
            known = {row: self._inputs[row] for row in found if row in self._inputs}
            missing = [spend_id for spend_id, txid in found if (spend_id, txid) not in known]
            for start in range(0, len(missing), 500):
                chunk = missing[start:start + 500]
                for spend_id, txid, raw_tx in self._db.execute(
                        f"SELECT id, txid, raw_tx FROM spends WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                    known[(spend_id, txid)] = tuple((i.prev_txid[::-1].hex(), i.prev_vout)
                                                    for i in parse_tx(raw_tx).inputs)
            self._inputs = known  # only what the last look needed stays
        return [SignedInputs(spend_id, txid, known[(spend_id, txid)]) for spend_id, txid in found]

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
