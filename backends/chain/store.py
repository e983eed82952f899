"""The embedded chain's own index in SQLite (WAL): every output its blocks created, which
transaction spent it, fees and times, the persisted mempool, and the watched descriptors
with their derived scripts. The kernel has no UTXO lookup; this is it.

Everything here except ``mempool`` and ``descriptors``/``scripts`` can be rebuilt from the
kernel's active chain, which is why a crash between the block log and this store is harmless.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .serialize import Tx

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks(height INTEGER PRIMARY KEY, hash BLOB NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outputs(
    txid BLOB NOT NULL, vout INTEGER NOT NULL, amount INTEGER NOT NULL, spk BLOB NOT NULL,
    height INTEGER NOT NULL, coinbase INTEGER NOT NULL, spent_txid BLOB, spent_height INTEGER,
    PRIMARY KEY(txid, vout)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outputs_by_spk ON outputs(spk);
CREATE INDEX IF NOT EXISTS outputs_by_height ON outputs(height);
CREATE INDEX IF NOT EXISTS outputs_by_spent_height ON outputs(spent_height);
CREATE INDEX IF NOT EXISTS outputs_by_spent_txid ON outputs(spent_txid);
CREATE TABLE IF NOT EXISTS txs(
    txid BLOB PRIMARY KEY, height INTEGER NOT NULL, position INTEGER NOT NULL,
    fee INTEGER, first_seen INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS txs_by_height ON txs(height);
CREATE TABLE IF NOT EXISTS mempool(seq INTEGER PRIMARY KEY AUTOINCREMENT, txid BLOB UNIQUE NOT NULL,
    raw BLOB NOT NULL, seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dropped(txid BLOB PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS descriptors(descriptor TEXT PRIMARY KEY, label TEXT NOT NULL, range_end INTEGER NOT NULL,
    added INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scripts(spk BLOB NOT NULL, descriptor TEXT NOT NULL, branch INTEGER, idx INTEGER,
    PRIMARY KEY(spk, descriptor)) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True)
class Coin:
    amount_sat: int
    script_pubkey: bytes
    height: int
    coinbase: bool
    spent_txid: bytes | None


@dataclass(frozen=True, slots=True)
class ScriptOwner:
    descriptor: str
    branch: int | None
    index: int | None


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- blocks

    def last_block(self) -> tuple[int, bytes] | None:
        with self._lock:
            row = self._db.execute("SELECT height, hash FROM blocks ORDER BY height DESC LIMIT 1").fetchone()
        return (row[0], bytes(row[1])) if row else None

    def block_hash_at(self, height: int) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM blocks WHERE height=?", (height,)).fetchone()
        return bytes(row[0]) if row else None

    def block_time_at(self, height: int) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT time FROM blocks WHERE height=?", (height,)).fetchone()
        return row[0] if row else None

    def rollback_above(self, height: int) -> None:
        """Forget blocks above ``height`` (after a reorg or a lost kernel tail)."""
        with self._lock, self._tx():
            db = self._db
            db.execute("DELETE FROM outputs WHERE height > ?", (height,))
            db.execute("UPDATE outputs SET spent_txid=NULL, spent_height=NULL WHERE spent_height > ?", (height,))
            db.execute("DELETE FROM txs WHERE height > ?", (height,))
            db.execute("DELETE FROM blocks WHERE height > ?", (height,))

    def apply_block(self, height: int, block_hash: bytes, time: int, txs: list[Tx],
                    first_seen: dict[bytes, int]) -> None:
        """Record a connected block: its outputs, the coins it spends, fees; drop mined txs from the mempool."""
        with self._lock, self._tx():
            db = self._db
            db.execute("INSERT INTO blocks(height, hash, time) VALUES (?,?,?)", (height, block_hash, time))
            for position, tx in enumerate(txs):
                txid = tx.txid()
                fee = None
                if not tx.is_coinbase:
                    spent_total = 0
                    for txin in tx.inputs:
                        row = db.execute("SELECT amount FROM outputs WHERE txid=? AND vout=?", txin.outpoint).fetchone()
                        spent_total += row[0] if row else 0
                        db.execute("UPDATE outputs SET spent_txid=?, spent_height=? WHERE txid=? AND vout=?",
                                   (txid, height, *txin.outpoint))
                    fee = spent_total - sum(o.amount_sat for o in tx.outputs)
                db.executemany(
                    "INSERT OR REPLACE INTO outputs(txid, vout, amount, spk, height, coinbase) VALUES (?,?,?,?,?,?)",
                    [(txid, vout, o.amount_sat, o.script_pubkey, height, int(tx.is_coinbase))
                     for vout, o in enumerate(tx.outputs)])
                db.execute("INSERT OR REPLACE INTO txs(txid, height, position, fee, first_seen) VALUES (?,?,?,?,?)",
                           (txid, height, position, fee, first_seen.get(txid, time)))
                db.execute("DELETE FROM mempool WHERE txid=?", (txid,))

    def coin(self, txid: bytes, vout: int) -> Coin | None:
        with self._lock:
            row = self._db.execute("SELECT amount, spk, height, coinbase, spent_txid FROM outputs WHERE txid=? AND vout=?",
                                   (txid, vout)).fetchone()
        if row is None:
            return None
        return Coin(row[0], bytes(row[1]), row[2], bool(row[3]), bytes(row[4]) if row[4] is not None else None)

    def confirmed_tx(self, txid: bytes) -> tuple[int, int | None] | None:
        """(height, fee) of a confirmed transaction."""
        with self._lock:
            row = self._db.execute("SELECT height, fee FROM txs WHERE txid=?", (txid,)).fetchone()
        return (row[0], row[1]) if row else None

    # -- mempool persistence

    def mempool_add(self, txid: bytes, raw: bytes, seen: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO mempool(txid, raw, seen) VALUES (?,?,?)", (txid, raw, seen))

    def mempool_remove(self, txids: Iterable[bytes]) -> None:
        with self._lock, self._tx():
            self._db.executemany("DELETE FROM mempool WHERE txid=?", [(t,) for t in txids])

    def mempool_all(self) -> list[tuple[bytes, int]]:
        with self._lock:
            return [(bytes(r[0]), r[1]) for r in self._db.execute("SELECT raw, seen FROM mempool ORDER BY seq")]

    def mark_dropped(self, txid: bytes, state: str, reason: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO dropped(txid, state, reason) VALUES (?,?,?)", (txid, state, reason))

    def dropped(self, txid: bytes) -> tuple[str, str] | None:
        with self._lock:
            row = self._db.execute("SELECT state, reason FROM dropped WHERE txid=?", (txid,)).fetchone()
        return (row[0], row[1]) if row else None

    # -- watched descriptors

    def add_descriptor(self, descriptor: str, label: str, range_end: int, added: int,
                       scripts: list[tuple[bytes, int | None, int | None]]) -> None:
        with self._lock, self._tx():
            self._db.execute(
                "INSERT INTO descriptors(descriptor, label, range_end, added) VALUES (?,?,?,?) "
                "ON CONFLICT(descriptor) DO UPDATE SET label=excluded.label, range_end=MAX(range_end, excluded.range_end)",
                (descriptor, label, range_end, added))
            self._db.executemany("INSERT OR IGNORE INTO scripts(spk, descriptor, branch, idx) VALUES (?,?,?,?)",
                                 [(spk, descriptor, branch, idx) for spk, branch, idx in scripts])

    def descriptors(self) -> list[tuple[str, str, int]]:
        with self._lock:
            return [tuple(r) for r in self._db.execute("SELECT descriptor, label, range_end FROM descriptors ORDER BY added, descriptor")]

    def script_owners(self, descriptor: str | None = None) -> dict[bytes, ScriptOwner]:
        query = "SELECT spk, descriptor, branch, idx FROM scripts"
        args: tuple = ()
        if descriptor is not None:
            query += " WHERE descriptor=?"
            args = (descriptor,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY descriptor", args).fetchall()
        owners: dict[bytes, ScriptOwner] = {}
        for spk, desc, branch, idx in rows:
            owners.setdefault(bytes(spk), ScriptOwner(desc, branch, idx))
        return owners

    def unspent_for_scripts(self, descriptor: str | None) -> list[tuple[bytes, int, int, bytes, int, bool]]:
        """Confirmed unspent outputs paying watched scripts: (txid, vout, amount, spk, height, coinbase)."""
        where, args = self._script_filter(descriptor)
        with self._lock:
            rows = self._db.execute(
                f"SELECT txid, vout, amount, spk, height, coinbase FROM outputs WHERE spent_txid IS NULL AND spk IN ({where}) "
                "ORDER BY height, txid, vout", args).fetchall()
        return [(bytes(r[0]), r[1], r[2], bytes(r[3]), r[4], bool(r[5])) for r in rows]

    def confirmed_history(self, descriptor: str | None) -> list[tuple[bytes, int, int, int | None, int, int, int]]:
        """(txid, height, position, fee, first_seen, received, sent) of confirmed txs touching watched scripts."""
        where, args = self._script_filter(descriptor)
        with self._lock:
            rows = self._db.execute(
                f"""WITH watched AS (SELECT txid, vout, amount, spent_txid FROM outputs WHERE spk IN ({where})),
                credits AS (SELECT txid, SUM(amount) AS v FROM watched GROUP BY txid),
                debits AS (SELECT spent_txid AS txid, SUM(amount) AS v FROM watched WHERE spent_txid IS NOT NULL GROUP BY spent_txid),
                touched AS (SELECT txid FROM credits UNION SELECT txid FROM debits)
                SELECT t.txid, t.height, t.position,
                       -- the fee is ours to report only when every input was a watched coin
                       CASE WHEN d.v IS NULL OR EXISTS (SELECT 1 FROM outputs o WHERE o.spent_txid = t.txid
                                                        AND o.spk NOT IN ({where})) THEN NULL ELSE t.fee END,
                       t.first_seen, COALESCE(c.v, 0), COALESCE(d.v, 0)
                FROM touched JOIN txs t ON t.txid = touched.txid
                LEFT JOIN credits c ON c.txid = t.txid LEFT JOIN debits d ON d.txid = t.txid
                ORDER BY t.height, t.position""", args + args).fetchall()
        return [(bytes(r[0]), *r[1:]) for r in rows]

    @staticmethod
    def _script_filter(descriptor: str | None) -> tuple[str, tuple]:
        if descriptor is None:
            return "SELECT spk FROM scripts", ()
        return "SELECT spk FROM scripts WHERE descriptor=?", (descriptor,)

    # -- helpers

    def _tx(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
