"""Device tokens: who may use which bunker key for what, until when, and what they did.

State is one SQLite file (WAL) in the data directory. A token holds the *label* of a
keystore key, never the key. Its pairing secret is stored only as a SHA-256, so the
``bunker://`` URL is shown once (at create or re-issue) and a copy of the database pairs
nothing. Every request re-checks revocation, expiry, use count and scope (nsecbunkerd
checks expiry only at redemption and never counts uses).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from backends.bunker.errors import BunkerError, InvalidTokenRequest, TokenNotFound
from backends.bunker.permissions import (
    Permission,
    allowed,
    format_permissions,
    parse_permissions,
)
from backends.bunker.url import BunkerUrl
from backends.outside_input import OutsideInputRefused, excerpt, parse_decimal
from backends.sqlite import immediate_transaction

SCHEMA_VERSION = 1
MAX_USES = 1_000_000_000  # far above any device's need, far below SQLite's 64-bit integer
SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    key_label TEXT NOT NULL,
    signer_pubkey TEXT NOT NULL,
    client_name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    relays TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    lifetime INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    secret_sha256 TEXT UNIQUE,
    client_pubkey TEXT,
    redeemed_at INTEGER,
    revoked_at INTEGER,
    revoke_reason TEXT,
    last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_by_client ON tokens (signer_pubkey, client_pubkey);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token_id TEXT,
    at INTEGER NOT NULL,
    client_pubkey TEXT NOT NULL,
    method TEXT NOT NULL,
    kind INTEGER,
    allowed INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_by_token ON requests (token_id, seq);
CREATE TABLE IF NOT EXISTS seen_events (event_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS seen_events_by_age ON seen_events (at);
"""
#: how long a handled event id is remembered (relays may replay stored 24133 events)
SEEN_RETENTION_SECONDS = 2 * 86400
#: request-log rows kept: anyone can publish requests to a bunker key, and each refused one
#: is logged, so a flood on a public relay must not fill the disk. Strangers' rows (no
#: token) are capped hardest; the cap on all rows drops the oldest first.
REQUEST_LOG_ROWS = 1_000_000
STRANGER_LOG_ROWS = 10_000
#: the caps (and the seen-event retention) are enforced every this many requests (the cap
#: on all rows every ten times that)
PRUNE_EVERY = 1000
#: tokens expiring within this are flagged to the operator
EXPIRY_WARNING_SECONDS = 3 * 86400
#: methods that consume a use of a token's count
COUNTED_METHODS = frozenset({"sign_event", "nip44_encrypt", "nip44_decrypt", "nip04_encrypt", "nip04_decrypt"})


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    key_label: str
    signer_pubkey: str
    client_name: str
    permissions: tuple[Permission, ...]
    relays: tuple[str, ...]
    created_at: int
    expires_at: int
    max_uses: int | None
    uses: int
    client_pubkey: str | None
    redeemed_at: int | None
    revoked_at: int | None
    revoke_reason: str | None
    last_used_at: int | None

    def state(self, now: int) -> str:
        """The operator's word for the token now: the first reason it cannot be used."""
        if self.revoked_at is not None:
            return "revoked"
        if now >= self.expires_at:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used up"
        return "active" if self.client_pubkey else "unpaired"

    def expires_in(self, now: int) -> str:
        """``29d 23h``, ``5h 10m``, ``expired``: what the operator reads in a table."""
        left = self.expires_at - now
        if left <= 0:
            return "expired"
        if left >= 86400:
            return f"{left // 86400}d {left % 86400 // 3600}h"
        return f"{left // 3600}h {left % 3600 // 60}m"

    def expiring_soon(self, now: int) -> bool:
        return self.state(now) in ("active", "unpaired") and self.expires_at - now <= EXPIRY_WARNING_SECONDS

    def to_public_dict(self, now: int) -> dict:
        return {
            "id": self.id, "key": self.key_label, "signer_pubkey": self.signer_pubkey,
            "client": self.client_name, "permissions": format_permissions(self.permissions),
            "relays": list(self.relays), "created_at": self.created_at,
            "expires_at": self.expires_at, "max_uses": self.max_uses, "uses": self.uses,
            "device_pubkey": self.client_pubkey, "redeemed_at": self.redeemed_at,
            "revoked_at": self.revoked_at, "last_used_at": self.last_used_at,
            "state": self.state(now), "expiring_soon": self.expiring_soon(now),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The bunker's answer to one request: allowed or not, and why (for the device and the log)."""

    allowed: bool
    reason: str
    token_id: str | None = None


@dataclass(frozen=True, slots=True)
class RequestRecord:
    at: int
    client_pubkey: str
    method: str
    kind: int | None
    allowed: bool
    reason: str

    def to_public_dict(self) -> dict:
        return {"at": self.at, "device_pubkey": self.client_pubkey, "method": self.method,
                "kind": self.kind, "allowed": self.allowed, "reason": self.reason}


_LIFETIME = re.compile(r"([0-9]+)([mhdw])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str) -> int:
    """``90m``, ``12h``, ``30d``, ``4w`` as seconds (the CLI's --expires, the create dialog)."""
    match = _LIFETIME.fullmatch(text.strip())
    try:
        # ASCII digits, and few: int() refuses more than 4,300 with a ValueError of its own
        count = parse_decimal(match.group(1), what="the lifetime") if match else None
    except OutsideInputRefused:
        count = None
    if count is None:
        raise InvalidTokenRequest(f"cannot read the lifetime {excerpt(text)!r}; write e.g. 90m, 12h, 30d or 4w")
    return count * _UNIT_SECONDS[match.group(2)]


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    """The tokens of every bunker key, shared by the service, the CLI and the screen."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = _open(self.path)
        self._sync_level = "NORMAL"
        self._claims = 0

    def now(self) -> int:
        return int(self._clock())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _write(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction. Operator actions are ``durable`` (fsync at commit: a revocation
        survives a power cut). Device requests commit without fsync (WAL, synchronous=NORMAL):
        consistent after any crash, and a power cut can lose only the last few log rows
        and use counts, which is what keeps a request near a millisecond."""
        with self._lock:
            # the level applies at COMMIT; it cannot change inside a transaction
            level = "FULL" if durable else "NORMAL"
            if level != self._sync_level:
                self._db.execute(f"PRAGMA synchronous={level}")
                self._sync_level = level
            with immediate_transaction(self._db) as db:
                yield db

    # -- operator actions ---------------------------------------------------------------

    def create(
        self, *, key_label: str, signer_pubkey: str, client_name: str, permissions,
        lifetime_seconds: int, relays: tuple[str, ...], max_uses: int | None = None,
    ) -> tuple[TokenInfo, BunkerUrl]:
        perms = parse_permissions(permissions)
        client_name = client_name.strip()
        if not client_name or len(client_name) > 64 or not client_name.isprintable():
            raise InvalidTokenRequest("the client name is 1-64 printable characters, e.g. atm-lisbon-03")
        if not 60 <= lifetime_seconds <= 10 * 365 * 86400:
            raise InvalidTokenRequest("a token lives from one minute to ten years")
        if max_uses is not None and max_uses < 1:
            raise InvalidTokenRequest("a use count must be at least 1")
        if max_uses is not None and max_uses > MAX_USES:  # the store keeps it in a 64-bit integer
            raise InvalidTokenRequest(f"a use count is at most {MAX_USES:,}; leave it out for no limit")
        if not relays:
            raise InvalidTokenRequest("a token needs at least one relay", hint="set bunker.relays in the config")
        secret = secrets.token_hex(32)
        now = self.now()
        with self._write(durable=True) as db:
            token_id = _new_id(db)
            db.execute(
                "INSERT INTO tokens (id, key_label, signer_pubkey, client_name, permissions, relays,"
                " created_at, lifetime, expires_at, max_uses, secret_sha256)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (token_id, key_label, signer_pubkey, client_name, format_permissions(perms),
                 json.dumps(list(relays)), now, lifetime_seconds, now + lifetime_seconds,
                 max_uses, secret_digest(secret)),
            )
        return self.token(token_id), BunkerUrl(signer_pubkey, tuple(relays), secret)

    def revoke(self, token_id: str, reason: str = "revoked by the operator") -> TokenInfo:
        """Cut a device off now, before or after it paired. Revoking twice keeps the first time."""
        with self._write(durable=True) as db:
            _require(db, token_id)
            db.execute(
                "UPDATE tokens SET revoked_at = ?, revoke_reason = ?, secret_sha256 = NULL"
                " WHERE id = ? AND revoked_at IS NULL", (self.now(), reason, token_id),
            )
        return self.token(token_id)

    def revoke_all(self, key_label: str | None = None, reason: str = "all tokens revoked by the operator") -> int:
        with self._write(durable=True) as db:
            query = "UPDATE tokens SET revoked_at = ?, revoke_reason = ?, secret_sha256 = NULL WHERE revoked_at IS NULL"
            params: tuple = (self.now(), reason)
            if key_label is not None:
                query += " AND key_label = ?"
                params += (key_label,)
            return db.execute(query, params).rowcount

    def reissue(self, token_id: str) -> tuple[TokenInfo, BunkerUrl]:
        """Re-pair: a fresh secret and lifetime for the same scope; the old device is unbound."""
        secret = secrets.token_hex(32)
        with self._write(durable=True) as db:
            row = _require(db, token_id)
            db.execute(
                "UPDATE tokens SET secret_sha256 = ?, client_pubkey = NULL, redeemed_at = NULL,"
                " revoked_at = NULL, revoke_reason = NULL, uses = 0, expires_at = ? WHERE id = ?",
                (secret_digest(secret), self.now() + row["lifetime"], token_id),
            )
        info = self.token(token_id)
        return info, BunkerUrl(info.signer_pubkey, info.relays, secret)

    def rotate(self, token_id: str, client_pubkey: str) -> TokenInfo:
        """Bind the token to a device's new client key (a rebuilt ATM) without a new pairing."""
        from backends.bunker.nostr import check_pubkey_hex

        check_pubkey_hex(client_pubkey, "the device's new public key")
        with self._write(durable=True) as db:
            row = _require(db, token_id)
            if row["revoked_at"] is not None:
                raise InvalidTokenRequest(f"token {token_id} is revoked", hint="re-issue it instead")
            db.execute(
                "UPDATE tokens SET client_pubkey = ?, redeemed_at = COALESCE(redeemed_at, ?),"
                " secret_sha256 = NULL WHERE id = ?", (client_pubkey, self.now(), token_id),
            )
        return self.token(token_id)

    # -- reading --------------------------------------------------------------------------

    def token(self, token_id: str) -> TokenInfo:
        with self._lock:
            return _info(_require(self._db, token_id))

    def tokens(self, key_label: str | None = None) -> list[TokenInfo]:
        with self._lock:
            if key_label is None:
                rows = self._db.execute("SELECT * FROM tokens ORDER BY created_at, id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM tokens WHERE key_label = ? ORDER BY created_at, id", (key_label,)
                ).fetchall()
        return [_info(row) for row in rows]

    def expiring(self) -> list[TokenInfo]:
        now = self.now()
        return [token for token in self.tokens() if token.expiring_soon(now)]

    def request_log(self, token_id: str, limit: int = 200) -> list[RequestRecord]:
        with self._lock:
            _require(self._db, token_id)
            rows = self._db.execute(
                "SELECT at, client_pubkey, method, kind, allowed, reason FROM requests"
                " WHERE token_id = ? ORDER BY seq DESC LIMIT ?", (token_id, limit),
            ).fetchall()
        return [RequestRecord(r["at"], r["client_pubkey"], r["method"], r["kind"], bool(r["allowed"]), r["reason"])
                for r in rows]

    # -- the device side ------------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen: a replayed request is handled once."""
        now = self.now()
        self._claims += 1
        with self._write() as db:
            if self._claims % PRUNE_EVERY == 1:  # now and then, not on every request
                # the cap on all rows counts up to a million of them (~0.1 s): ten times rarer
                _prune(db, now, every_row=self._claims % (10 * PRUNE_EVERY) == 1)
            return db.execute(
                "INSERT OR IGNORE INTO seen_events (event_id, at) VALUES (?, ?)", (event_id, now)
            ).rowcount == 1

    def prune(self) -> None:
        """Forget old event ids and cut the request log to its caps (done every
        PRUNE_EVERY requests by itself)."""
        with self._write() as db:
            _prune(db, self.now(), every_row=True)

    def log_stranger(self, client_pubkey: str, method: str, reason: str) -> None:
        """A refused request that belongs to no token (a stranger on the admin RPC)."""
        with self._write() as db:
            _log(db, None, self.now(), client_pubkey, method, None, Decision(False, reason))

    def stranger_log(self, limit: int = 200) -> list[RequestRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, client_pubkey, method, kind, allowed, reason FROM requests"
                " WHERE token_id IS NULL ORDER BY seq DESC LIMIT ?", (limit,),
            ).fetchall()
        return [RequestRecord(r["at"], r["client_pubkey"], r["method"], r["kind"], bool(r["allowed"]), r["reason"])
                for r in rows]

    def connect(self, signer_pubkey: str, client_pubkey: str, secret: str | None) -> Decision:
        """NIP-46 ``connect``: redeem a secret (binding its first device) or re-confirm the
        bound device after a reboot. A redeemed secret from another device is refused."""
        now = self.now()
        with self._write() as db:
            row = None
            if secret:
                row = db.execute(
                    "SELECT * FROM tokens WHERE secret_sha256 = ? AND signer_pubkey = ?",
                    (secret_digest(secret), signer_pubkey),
                ).fetchone()
            if row is None:
                row = _bound_token(db, signer_pubkey, client_pubkey)
                if row is None:
                    decision = Decision(False, "unknown or already used pairing secret")
                    _log(db, None, now, client_pubkey, "connect", None, decision)
                    return decision
            if row["client_pubkey"] not in (None, client_pubkey):
                decision = Decision(False, "this pairing secret was redeemed by another device", row["id"])
                _log(db, row["id"], now, client_pubkey, "connect", None, decision)
                return decision
            refusal = _refusal(row, now)
            if refusal:
                decision = Decision(False, refusal, row["id"])
            else:
                if row["client_pubkey"] is None:
                    db.execute(
                        "UPDATE tokens SET client_pubkey = ?, redeemed_at = ?, last_used_at = ? WHERE id = ?",
                        (client_pubkey, now, now, row["id"]),
                    )
                    decision = Decision(True, "paired", row["id"])
                else:
                    db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now, row["id"]))
                    decision = Decision(True, "reconnected", row["id"])
            _log(db, row["id"], now, client_pubkey, "connect", None, decision)
            return decision

    def authorize(self, signer_pubkey: str, client_pubkey: str, method: str, kind: int | None = None) -> Decision:
        """Every request after ``connect``: re-check the bound token now, count the use, log it."""
        now = self.now()
        with self._write() as db:
            row = _bound_token(db, signer_pubkey, client_pubkey)
            if row is None:
                decision = Decision(False, "this device is not paired; connect with a bunker:// URL first")
            elif refusal := _refusal(row, now):
                decision = Decision(False, refusal, row["id"])
            elif not allowed(parse_permissions(row["permissions"]), method, kind):
                what = f"{method} of kind {kind}" if kind is not None else method
                decision = Decision(False, f"{what} is not allowed by this token", row["id"])
            else:
                decision = Decision(True, "allowed", row["id"])
                counted = 1 if method in COUNTED_METHODS else 0
                db.execute("UPDATE tokens SET uses = uses + ?, last_used_at = ? WHERE id = ?",
                           (counted, now, row["id"]))
            _log(db, decision.token_id, now, client_pubkey, method, kind, decision)
            return decision


def _prune(db: sqlite3.Connection, now: int, *, every_row: bool) -> None:
    db.execute("DELETE FROM seen_events WHERE at < ?", (now - SEEN_RETENTION_SECONDS,))
    db.execute(
        "DELETE FROM requests WHERE token_id IS NULL AND seq <= (SELECT seq FROM requests"
        " WHERE token_id IS NULL ORDER BY seq DESC LIMIT 1 OFFSET ?)", (STRANGER_LOG_ROWS,),
    )
    if every_row:
        db.execute(
            "DELETE FROM requests WHERE seq <= (SELECT seq FROM requests ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (REQUEST_LOG_ROWS,),
        )


def _open(path: Path) -> sqlite3.Connection:
    from backends.sqlite import open_wal_database

    db = open_wal_database(path, SCHEMA, SCHEMA_VERSION, what="token database", error=BunkerError,
                           synchronous="NORMAL")  # per transaction: see TokenStore._write
    db.row_factory = sqlite3.Row
    return db


def _new_id(db: sqlite3.Connection) -> str:
    while True:
        candidate = secrets.token_hex(4)
        if db.execute("SELECT 1 FROM tokens WHERE id = ?", (candidate,)).fetchone() is None:
            return candidate


def _require(db: sqlite3.Connection, token_id: str) -> sqlite3.Row:
    row = db.execute("SELECT * FROM tokens WHERE id = ?", (token_id,)).fetchone()
    if row is None:
        raise TokenNotFound(f"no token {token_id!r}", hint="list them with: custody-tui bunker token list")
    return row


def _bound_token(db: sqlite3.Connection, signer_pubkey: str, client_pubkey: str) -> sqlite3.Row | None:
    # a device re-paired by re-issue has a newer row; an old revoked binding must not shadow it
    return db.execute(
        "SELECT * FROM tokens WHERE signer_pubkey = ? AND client_pubkey = ?"
        " ORDER BY revoked_at IS NOT NULL, redeemed_at DESC LIMIT 1", (signer_pubkey, client_pubkey),
    ).fetchone()


def _refusal(row: sqlite3.Row, now: int) -> str | None:
    if row["revoked_at"] is not None:
        return "this token was revoked"
    if now >= row["expires_at"]:
        return "this token has expired"
    if row["max_uses"] is not None and row["uses"] >= row["max_uses"]:
        return "this token has no uses left"
    return None


def _log(db, token_id, now, client_pubkey, method, kind, decision: Decision) -> None:
    db.execute(
        "INSERT INTO requests (token_id, at, client_pubkey, method, kind, allowed, reason) VALUES (?,?,?,?,?,?,?)",
        (token_id, now, client_pubkey, method[:64], kind, int(decision.allowed), decision.reason),
    )


def _info(row: sqlite3.Row) -> TokenInfo:
    return TokenInfo(
        id=row["id"], key_label=row["key_label"], signer_pubkey=row["signer_pubkey"],
        client_name=row["client_name"], permissions=parse_permissions(row["permissions"]),
        relays=tuple(json.loads(row["relays"])), created_at=row["created_at"],
        expires_at=row["expires_at"], max_uses=row["max_uses"], uses=row["uses"],
        client_pubkey=row["client_pubkey"], redeemed_at=row["redeemed_at"],
        revoked_at=row["revoked_at"], revoke_reason=row["revoke_reason"],
        last_used_at=row["last_used_at"],
    )
