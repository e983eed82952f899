"""The mint's ledger: ``<data dir>/mint.sqlite3`` (WAL), every state change one transaction.

Tables
------
``meta``           the mint id (32 random bytes, hex, made when the ledger is created)
``keysets``        a denomination set: its RSABSSA variant and whether it still issues
``keyset_keys``    one RSA public key per denomination of a set (private keys: keystore)
``deposit_addresses``  reserve receive addresses handed out for deposits, each with the
                   hash of its claim secret (the secret itself went to the depositor, once)
``deposits``       registered deposits: outpoint, amount, status, how much was issued
``deposit_claims`` which handed-out address a registered deposit pays (so, whose claim it is)
``blind_sigs``     issued blind signatures by the hash of the blinded message (replayable)
``spent_notes``    spent notes by the hash of their message (and the redemption burning them)
``redemptions``    redemptions: payout, status, the operator who approved, the signed tx
``consolidations`` consolidation transactions of the reserve's small coins
``reserve_locks``  reserve coins spent by a recorded, not yet final, payout or consolidation
``quorum_payouts`` redemptions handed to the signer quorum whose outcome is not recorded yet
``operator_signatures``  accepted operator request signatures (hashed), to refuse replays
``events``, ``silences``  the events history (acknowledged or not) and silences of alerts

Writers take ``BEGIN IMMEDIATE``: two processes spending the same note serialize on the
write lock, and the primary key on ``spent_notes`` lets exactly one of them through.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
import threading
from pathlib import Path
from typing import Iterator

from backends.sqlite import immediate_transaction, open_wal_database

from .errors import LedgerError, NoMintHere

LEDGER_FILE = "mint.sqlite3"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS keysets (
    keyset_id  TEXT PRIMARY KEY,
    variant    TEXT NOT NULL,
    active     INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS keyset_keys (
    keyset_id      TEXT NOT NULL REFERENCES keysets(keyset_id),
    amount_sat     INTEGER NOT NULL CHECK (amount_sat > 0),
    keystore_label TEXT NOT NULL,
    public_key_der BLOB NOT NULL,
    PRIMARY KEY (keyset_id, amount_sat)
);
CREATE TABLE IF NOT EXISTS deposits (
    reference       TEXT PRIMARY KEY,
    txid            TEXT NOT NULL,
    vout            INTEGER NOT NULL,
    amount_sat      INTEGER NOT NULL CHECK (amount_sat > 0),
    status          TEXT NOT NULL CHECK (status IN ('registered', 'credited', 'conflicted')),
    registered_at   REAL NOT NULL,
    credited_at     REAL,
    credited_height INTEGER,
    issued_sat      INTEGER NOT NULL DEFAULT 0 CHECK (issued_sat >= 0 AND issued_sat <= amount_sat),
    UNIQUE (txid, vout)
);
CREATE TABLE IF NOT EXISTS deposit_addresses (
    address_index INTEGER PRIMARY KEY CHECK (address_index >= 0),
    claim_hash    TEXT NOT NULL,
    created_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deposit_claims (
    reference     TEXT PRIMARY KEY REFERENCES deposits(reference),
    address_index INTEGER NOT NULL REFERENCES deposit_addresses(address_index)
);
-- the outstanding-address count behind the cap (deposit_limits) reads these
CREATE INDEX IF NOT EXISTS deposit_addresses_by_time ON deposit_addresses (created_at);
CREATE INDEX IF NOT EXISTS deposit_claims_by_address ON deposit_claims (address_index);
CREATE TABLE IF NOT EXISTS blind_sigs (
    blinded_hash TEXT PRIMARY KEY,
    deposit_ref  TEXT NOT NULL REFERENCES deposits(reference),
    keyset_id    TEXT NOT NULL,
    amount_sat   INTEGER NOT NULL,
    blind_sig    BLOB NOT NULL,
    issued_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS spent_notes (
    note_hash     TEXT PRIMARY KEY,
    keyset_id     TEXT NOT NULL,
    amount_sat    INTEGER NOT NULL,
    spent_at      REAL NOT NULL,
    redemption_id TEXT
);
CREATE INDEX IF NOT EXISTS spent_notes_by_redemption ON spent_notes (redemption_id);
CREATE TABLE IF NOT EXISTS redemptions (
    redemption_id    TEXT PRIMARY KEY,
    address          TEXT NOT NULL,
    script_pubkey    BLOB NOT NULL,
    amount_sat       INTEGER NOT NULL CHECK (amount_sat > 0),
    status           TEXT NOT NULL
                     CHECK (status IN ('pending', 'approved', 'broadcast', 'finalized', 'rejected')),
    reason           TEXT,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    approved_by      TEXT,
    txid             TEXT,
    raw_tx           BLOB,
    fee_sat          INTEGER,
    finalized_height INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL CHECK (severity IN ('info', 'warn', 'critical')),
    message    TEXT NOT NULL,
    created_at REAL NOT NULL,
    acked_by   TEXT,
    acked_at   REAL
);
CREATE TABLE IF NOT EXISTS silences (
    silence_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    until      REAL NOT NULL,
    reason     TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS operator_signatures (
    signature_hash TEXT PRIMARY KEY,
    key_id         TEXT NOT NULL,
    accepted_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS consolidations (
    consolidation_id TEXT PRIMARY KEY,
    status           TEXT NOT NULL CHECK (status IN ('approved', 'broadcast', 'finalized', 'replaced')),
    reason           TEXT,
    requested_by     TEXT NOT NULL,
    inputs           INTEGER NOT NULL,
    input_sat        INTEGER NOT NULL,
    fee_sat          INTEGER NOT NULL,
    txid             TEXT NOT NULL,
    raw_tx           BLOB NOT NULL,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    finalized_height INTEGER
);
CREATE TABLE IF NOT EXISTS quorum_payouts (
    redemption_id TEXT PRIMARY KEY REFERENCES redemptions(redemption_id),
    started_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reserve_locks (
    outpoint  TEXT PRIMARY KEY,
    holder_id TEXT NOT NULL  -- the redemption or consolidation whose recorded spend holds it
);
"""


def require_ledger(data_dir: Path) -> Path:
    """The ledger file of ``data_dir``, or :class:`NoMintHere`: reading a mint that does not
    exist must not create one (opening a ledger creates it, with a new mint id)."""
    path = Path(data_dir) / LEDGER_FILE
    if not path.is_file():
        raise NoMintHere(f"no mint here yet: {data_dir} has no mint ledger ({LEDGER_FILE})",
                         hint="create the mint with `custody-tui mint keys create --denominations ...`, "
                              "or point --data-dir at the mint's data directory")
    return path


class Ledger:
    """One connection to the mint ledger; open one per thread or process that writes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_wal_database(
            self.path, SCHEMA, SCHEMA_VERSION, what="mint ledger", error=LedgerError,
            hint="check the file is the mint ledger and not in use by another program",
        )
        self._lock = threading.RLock()
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key='mint_id'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta(key, value) VALUES ('mint_id', ?)", (secrets.token_hex(32),))

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Ledger:
        return cls(Path(data_dir) / LEDGER_FILE)

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @property
    def mint_id(self) -> str:
        return self.read("SELECT value FROM meta WHERE key='mint_id'")[0][0]

    def next_counter(self, db: sqlite3.Connection, name: str) -> int:
        """The next value of a named counter, inside the caller's write transaction."""
        row = db.execute("SELECT value FROM meta WHERE key=?", (name,)).fetchone()
        value = int(row[0]) if row else 0
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (name, str(value + 1)))
        return value

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception rolls everything back."""
        with self._lock:
            with immediate_transaction(self._db, busy=self._busy) as db:
                yield db

    def _busy(self, exc: sqlite3.OperationalError) -> LedgerError:
        return LedgerError(f"the mint ledger {self.path} is busy: {exc}",
                           hint="another custody-tui holds it; retry")

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """A consistent read outside any write transaction (WAL: never blocks writers)."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()
