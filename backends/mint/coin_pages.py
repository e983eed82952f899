"""The reserve's coins as a paged table, for a screen that shows 100,000 of them.

The chain layer hands over a reserve's coins as one list (``Chain.utxos``); a screen can
show a dozen at a time. This module keeps the last reading of that list in
``<data dir>/mint-coins.sqlite3`` (WAL), ordered by value, one row per coin with its
position in that order as the primary key, so that any page is a range read of a few
dozen rows whatever the reserve's size. It is a cache of chain state, never a source of
truth: it is rebuilt whole in one transaction when a reading differs from the last (a new
block, a coin added, spent or held; a reading killed half-way leaves the previous one),
says when and at which block it was taken, and holds nothing secret. Pages are read on a
second connection, so they come from the last committed reading while a new one is being
written. The mint's ledger is not touched.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from backends.sqlite import immediate_transaction, open_wal_database

from .errors import LedgerError

COINS_FILE = "mint-coins.sqlite3"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS coins (
    position      INTEGER PRIMARY KEY,  -- 0 = the largest coin
    outpoint      TEXT NOT NULL,
    amount_sat    INTEGER NOT NULL,
    confirmations INTEGER NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('spendable', 'held', 'waiting'))
);
CREATE TABLE IF NOT EXISTS reading (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
#: the most rows one page read returns: a screen is never taller than this
MAX_PAGE_ROWS = 500

SPENDABLE, HELD, WAITING = "spendable", "held", "waiting"


@dataclass(frozen=True, slots=True)
class CoinRow:
    position: int  # in the order of the page read (1-based, as shown)
    outpoint: str
    amount_sat: int
    confirmations: int
    state: str  # spendable | held (by a recorded payout) | waiting (unconfirmed or immature)


@dataclass(frozen=True, slots=True)
class Reading:
    """When the coins were read: the chain's tip then, and the wall clock."""

    count: int
    height: int | None
    taken_at: float | None


def coin_state(coin, locked: set[str]) -> str:
    """The same three states the mint's inventory counts (``reserves.inventory``)."""
    from .reserves import is_ready

    if coin.outpoint in locked:
        return HELD
    return SPENDABLE if is_ready(coin) else WAITING


class CoinPages:
    """The last reading of the reserve's coins, read back one page at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # NORMAL: a cache rebuilt at every reading needs no fsync per commit
        opened = [open_wal_database(self.path, SCHEMA, SCHEMA_VERSION, what="reserve coin cache",
                                    error=LedgerError, synchronous="NORMAL",
                                    hint="delete the file; the next reading rebuilds it") for _ in range(2)]
        # two connections: pages are read (WAL: from the last committed reading) while a
        # new reading is being written, so paging never waits for a rebuild
        self._db, self._reader = opened
        self._lock = threading.Lock()  # writer; the screen reads pages from worker threads
        self._read_lock = threading.Lock()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> CoinPages:
        return cls(Path(data_dir) / COINS_FILE)

    def __repr__(self) -> str:
        return f"CoinPages({str(self.path)!r})"

    def close(self) -> None:
        with self._lock, self._read_lock:
            self._db.close()
            self._reader.close()

    def replace(self, coins: Iterable, locked: set[str], *, height: int | None, taken_at: float,
                tip: str = "") -> Reading:
        """Store a whole reading (chain ``Utxo`` objects), largest first, in one transaction.
        The same coins in the same states at the same tip (``tip``: its block hash) are not
        written again: only the reading's time moves."""
        coins = list(coins)
        states = [coin_state(c, locked) for c in coins]
        fingerprint = f"{tip}:{len(coins)}:{_fingerprint(coins, states)}"
        with self._lock, immediate_transaction(self._db, busy=self._busy) as db:
            row = db.execute("SELECT value FROM reading WHERE key='fingerprint'").fetchone()
            if not (tip and row and row[0] == fingerprint):
                order = sorted(range(len(coins)), key=lambda n: (-coins[n].amount_sat, coins[n].txid, coins[n].vout))
                db.execute("DELETE FROM coins")
                db.executemany("INSERT INTO coins VALUES (?, ?, ?, ?, ?)",
                               ((position, coins[n].outpoint, coins[n].amount_sat, coins[n].confirmations, states[n])
                                for position, n in enumerate(order)))
            db.executemany("INSERT OR REPLACE INTO reading(key, value) VALUES (?, ?)",
                           [("count", str(len(coins))), ("height", "" if height is None else str(height)),
                            ("taken_at", repr(float(taken_at))), ("fingerprint", fingerprint)])
        return Reading(len(coins), height, float(taken_at))

    def reading(self) -> Reading:
        with self._read_lock:
            values = dict(self._reader.execute("SELECT key, value FROM reading").fetchall())
        if "count" not in values:
            return Reading(0, None, None)
        return Reading(int(values["count"]), int(values["height"]) if values["height"] else None,
                       float(values["taken_at"]))

    def page(self, offset: int, limit: int, *, largest_first: bool = True) -> list[CoinRow]:
        """Rows ``offset .. offset+limit-1`` in the chosen order: a primary-key range read."""
        if offset < 0 or not 0 < limit <= MAX_PAGE_ROWS:
            raise ValueError(f"a page is 1..{MAX_PAGE_ROWS} rows from offset 0 or more")
        with self._read_lock:
            if largest_first:
                rows = self._reader.execute(
                    "SELECT position, outpoint, amount_sat, confirmations, state FROM coins "
                    "WHERE position >= ? AND position < ? ORDER BY position", (offset, offset + limit)).fetchall()
                return [CoinRow(p + 1, *rest) for p, *rest in rows]
            count = self._count()
            high = count - 1 - offset
            rows = self._reader.execute(
                "SELECT position, outpoint, amount_sat, confirmations, state FROM coins "
                "WHERE position <= ? AND position > ? ORDER BY position DESC", (high, high - limit)).fetchall()
            return [CoinRow(count - p, *rest) for p, *rest in rows]

    def _count(self) -> int:
        row = self._reader.execute("SELECT value FROM reading WHERE key='count'").fetchone()
        return int(row[0]) if row else 0

    def _busy(self, exc: sqlite3.OperationalError) -> LedgerError:
        return LedgerError(f"the reserve coin cache {self.path} is busy: {exc}",
                           hint="another custody-tui is reading the reserve; retry")


def _fingerprint(coins: list, states: list[str]) -> str:
    """An order-free digest of the coins and their states (the chain lists them in any order)."""
    import hashlib

    total = 0
    for coin, state in zip(coins, states):
        digest = hashlib.blake2b(f"{coin.outpoint}:{coin.amount_sat}:{state}".encode(), digest_size=8).digest()
        total = (total + int.from_bytes(digest, "big")) % (1 << 64)
    return f"{total:016x}"
