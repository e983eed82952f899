"""A node's persistent state: one SQLite database (WAL, synchronous=FULL) in its data dir.

Nothing secret is stored here: host secret, DKG randomness, shares and secret nonces live
in the node's keystore. What is here is what the node has *decided*, written (and synced
to disk by the commit) before the matching post leaves:

- ``meta``: the node's name, host key, board remote, post counter, board index position;
- ``roster``: the host keys (33-byte compressed, hex) this node trusts, by name;
- ``ceremonies``: one row per ceremony it takes part in, with its state;
- ``outbox``: every post body this node decided to publish, with its counter, and whether
  it has reached the board (a restart re-posts what has not);
- ``board_order``: the position of each post on the board's branch (the board's order,
  the same for every node), which decides the locked signer set;
- ``nonce_use``: for each signing ceremony, the signer set and aggregate nonces the node's
  secret nonces were bound to, written before signing; a nonce is never used with another.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.audit.entry import canonical_json
from backends.sqlite import immediate_transaction, open_wal_database

from .errors import CeremonyError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roster (pubkey TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS ceremonies (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, info TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    ceremony TEXT NOT NULL, phase TEXT NOT NULL, counter INTEGER NOT NULL UNIQUE,
    body TEXT NOT NULL, posted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ceremony, phase));
CREATE TABLE IF NOT EXISTS board_order (
    ceremony TEXT NOT NULL, phase TEXT NOT NULL, poster TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (ceremony, phase, poster));
CREATE TABLE IF NOT EXISTS seen (ceremony TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS nonce_use (
    ceremony TEXT PRIMARY KEY, signers TEXT NOT NULL, aggnonces TEXT NOT NULL, psigs TEXT);
"""


@dataclass(frozen=True)
class CeremonyRow:
    id: str
    kind: str  # "dkg" | "sign"
    state: str
    info: dict[str, Any]
    note: str
    created: float
    updated: float


class NodeStore:
    def __init__(self, path: Path) -> None:
        self.db = open_wal_database(path, SCHEMA, SCHEMA_VERSION, what="ceremony node database",
                                    error=CeremonyError)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with immediate_transaction(self.db, busy=lambda exc: CeremonyError(
                f"the node's database is busy ({exc})", hint="another process of this node is running; retry")) as db:
            yield db

    # -- meta -------------------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def counter(self) -> int:
        return int(self.get("counter", "0") or 0)

    # -- roster -----------------------------------------------------------------------------

    def roster(self) -> dict[bytes, str]:
        """Compressed host key -> name."""
        return {bytes.fromhex(k): n for k, n in self.db.execute("SELECT pubkey, name FROM roster ORDER BY name")}

    def add_to_roster(self, pubkey: bytes, name: str) -> None:
        with self.transaction() as db:
            known = db.execute("SELECT name FROM roster WHERE pubkey = ?", (pubkey.hex(),)).fetchone()
            if known and known[0] == name:
                return
            if known:
                raise CeremonyError(f"that host key is already on the roster as {known[0]!r}")
            if db.execute("SELECT 1 FROM roster WHERE name = ?", (name,)).fetchone():
                raise CeremonyError(f"the name {name!r} is already on the roster with another host key")
            db.execute("INSERT INTO roster (pubkey, name) VALUES (?, ?)", (pubkey.hex(), name))

    # -- ceremonies -------------------------------------------------------------------------

    def ceremony(self, cid: str) -> CeremonyRow | None:
        row = self.db.execute("SELECT id, kind, state, info, note, created, updated FROM ceremonies WHERE id = ?",
                              (cid,)).fetchone()
        return _row(row) if row else None

    def ceremonies(self) -> list[CeremonyRow]:
        rows = self.db.execute("SELECT id, kind, state, info, note, created, updated FROM ceremonies "
                               "ORDER BY created, id").fetchall()
        return [_row(r) for r in rows]

    def put_ceremony(self, cid: str, kind: str, state: str, info: dict[str, Any], note: str = "",
                     db: sqlite3.Connection | None = None) -> None:
        now = time.time()
        (db or self.db).execute(
            "INSERT INTO ceremonies (id, kind, state, info, note, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state, info = excluded.info, note = excluded.note, "
            "updated = excluded.updated", (cid, kind, state, canonical_json(info), note, now, now))

    def set_state(self, cid: str, state: str, note: str = "", db: sqlite3.Connection | None = None,
                  **info: Any) -> None:
        row = self.ceremony(cid)
        assert row is not None
        self.put_ceremony(cid, row.kind, state, {**row.info, **info}, note, db=db)

    # -- outbox -----------------------------------------------------------------------------

    def queue_post(self, db: sqlite3.Connection, cid: str, phase: str, body: dict[str, Any]) -> dict[str, Any]:
        """Within ``db``'s transaction: give ``body`` the next counter and keep it for
        posting. A (ceremony, phase) is queued once; the first body stays."""
        row = db.execute("SELECT body FROM outbox WHERE ceremony = ? AND phase = ?", (cid, phase)).fetchone()
        if row:
            return json.loads(row[0])
        counter = int(self.get("counter", "0") or 0) + 1
        self.set("counter", str(counter), db)
        body = {**body, "counter": counter}
        db.execute("INSERT INTO outbox (ceremony, phase, counter, body) VALUES (?, ?, ?, ?)",
                   (cid, phase, counter, canonical_json(body)))
        return body

    def unposted(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(c, p, json.loads(b)) for c, p, b in self.db.execute(
            "SELECT ceremony, phase, body FROM outbox WHERE posted = 0 ORDER BY counter")]

    def mark_posted(self, cid: str, phase: str, *, posted: bool = True) -> None:
        self.db.execute("UPDATE outbox SET posted = ? WHERE ceremony = ? AND phase = ?", (int(posted), cid, phase))

    def my_posts(self, cid: str) -> dict[str, dict[str, Any]]:
        return {p: {**json.loads(b), "_posted": bool(posted)} for p, b, posted in self.db.execute(
            "SELECT phase, body, posted FROM outbox WHERE ceremony = ?", (cid,))}

    def queued(self, cid: str, phase: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM outbox WHERE ceremony = ? AND phase = ?", (cid, phase)).fetchone()
        return json.loads(row[0]) if row else None

    # -- board order ------------------------------------------------------------------------

    def record_order(self, entries: list[tuple[str, str, str]], head: str | None,
                     rewritten: Callable[[int], bool] | None = None) -> None:
        """Append board positions for (ceremony, phase, poster hex) in board order. An entry
        for a place that already has a position keeps the first, unless ``rewritten(i)``
        says entry ``i`` put new bytes there (a valid post replacing a planted file): a
        post's position is that of the commit that wrote it."""
        with self.transaction() as db:
            seq = int(self.get("index_count", "0") or 0)
            for i, (cid, phase, poster) in enumerate(entries):
                seq += 1
                added = db.execute("INSERT OR IGNORE INTO board_order (ceremony, phase, poster, seq) "
                                   "VALUES (?, ?, ?, ?)", (cid, phase, poster, seq)).rowcount
                if not added and rewritten is not None and rewritten(i):
                    db.execute("UPDATE board_order SET seq = ? WHERE ceremony = ? AND phase = ? AND poster = ?",
                               (seq, cid, phase, poster))
            self.set("index_count", str(seq), db)
            if head is not None:
                self.set("index_head", head, db)

    def set_order(self, cid: str, phase: str, poster: str, seq: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO board_order (ceremony, phase, poster, seq) VALUES (?, ?, ?, ?)",
                        (cid, phase, poster, seq))

    def order(self, cid: str, phase: str) -> dict[str, int]:
        return dict(self.db.execute("SELECT poster, seq FROM board_order WHERE ceremony = ? AND phase = ?",
                                    (cid, phase)).fetchall())

    def unseen_ceremonies(self) -> dict[str, dict[str, list[str]]]:
        """Ceremonies on the board this node has not looked at yet, in board order, each
        with the posters (hex) the board index places in each of its phases."""
        unseen: dict[str, dict[str, list[str]]] = {}
        for cid, phase, poster in self.db.execute(
                "SELECT o.ceremony, o.phase, o.poster FROM board_order o JOIN "
                "(SELECT ceremony, MIN(seq) AS first FROM board_order WHERE ceremony NOT IN "
                "(SELECT ceremony FROM seen) GROUP BY ceremony) u ON o.ceremony = u.ceremony "
                "ORDER BY u.first, o.seq"):
            unseen.setdefault(cid, {}).setdefault(phase, []).append(poster)
        return unseen

    def mark_seen(self, *cids: str) -> None:
        if not cids:
            return
        with self.transaction() as db:  # one commit for a first sync's thousands
            db.executemany("INSERT OR IGNORE INTO seen (ceremony) VALUES (?)", [(cid,) for cid in cids])

    # -- nonce binding ----------------------------------------------------------------------

    def nonce_use(self, cid: str) -> tuple[list[int], list[str], list[str] | None] | None:
        row = self.db.execute("SELECT signers, aggnonces, psigs FROM nonce_use WHERE ceremony = ?", (cid,)).fetchone()
        if not row:
            return None
        return json.loads(row[0]), json.loads(row[1]), json.loads(row[2]) if row[2] else None


def _row(row: tuple) -> CeremonyRow:
    return CeremonyRow(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6])
