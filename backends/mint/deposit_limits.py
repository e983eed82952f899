"""Bounds on handing out deposit addresses, which anyone may ask for (mint users are anonymous).

Each address handed out is a ledger row and, every ``WATCH_STEP`` addresses, a wider watch
on the chain (a descriptor import; on Bitcoin Core a rescan). Three bounds keep a stranger
from driving either:

- **a cap on outstanding addresses** (handed out, no deposit registered, not yet expired),
  checked in the same write transaction that hands one out, so processes racing cannot pass
  it. With the cap at C and addresses expiring after T, at most C addresses are handed out
  per T, so the watch widens at most ``ceil(C / WATCH_STEP)`` times per T;
- **expiry**: an address with no deposit registered within T stops counting against the cap.
  A payment that still arrives later is not lost: it can be registered, and its claim secret
  still alone draws notes on it (the index is never handed out again);
- **a per-client token bucket** (:class:`ClientBuckets`) for the HTTP API, by peer address
  (an IPv6 client by its /64, which one host usually holds whole), bounded in memory.

A refusal says when to come back (``retry_after``); the API turns it into 429 or 503 with
``Retry-After``. Refusals are counted into the ledger and raise a ``deposit_limit`` event at
most once a minute (:class:`RefusalLog`; the API also writes what is left when it stops), so
a flood shows on the Reserves screen and in the alerts without a write per refused request.
"""

from __future__ import annotations

import collections
import ipaddress
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from .errors import MintError

DEFAULT_CAP = 1_000
DEFAULT_EXPIRY_SECONDS = 24 * 3600
DEFAULT_RATE_PER_HOUR = 30
DEFAULT_BURST = 5
#: clients whose buckets are remembered; past it the least recently seen is forgotten (a
#: forgotten client starts with a full bucket again, which the cap still bounds)
MAX_CLIENTS = 10_000
EVENT_INTERVAL_SECONDS = 60
REFUSAL_COUNTERS = {"rate": "deposit_address_refused_rate", "cap": "deposit_address_refused_cap"}


class DepositAddressLimited(MintError):
    """A deposit address refused by a limit; ``retry_after`` says in how many seconds to ask again."""

    def __init__(self, message: str, *, status: int, retry_after: float, reason: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.retry_after = max(1, math.ceil(retry_after))
        self.reason = reason


@dataclass(frozen=True)
class DepositLimits:
    cap: int = DEFAULT_CAP
    expiry_seconds: float = DEFAULT_EXPIRY_SECONDS

    def __post_init__(self) -> None:
        if isinstance(self.cap, bool) or not isinstance(self.cap, int) or not 1 <= self.cap <= 1_000_000:
            raise MintError(f"deposit_address_cap must be 1..1000000, got {self.cap!r}")
        if not (math.isfinite(self.expiry_seconds) and 60 <= self.expiry_seconds <= 365 * 86400):
            raise MintError(f"deposit address expiry must be 1 minute to 365 days, got {self.expiry_seconds!r} s")


_OUTSTANDING = ("SELECT COUNT(*), MIN(created_at) FROM deposit_addresses a WHERE created_at > ? AND NOT EXISTS "
                "(SELECT 1 FROM deposit_claims c WHERE c.address_index = a.address_index)")


def outstanding(source, limits: DepositLimits, now: float) -> tuple[int, float | None]:
    """How many handed-out addresses count against the cap, and when the oldest of them expires;
    ``source`` is the ledger, or a connection inside a write transaction."""
    params = (now - limits.expiry_seconds,)
    if hasattr(source, "read"):
        count, oldest = source.read(_OUTSTANDING, params)[0]
    else:
        count, oldest = source.execute(_OUTSTANDING, params).fetchone()
    return count, (None if oldest is None else oldest + limits.expiry_seconds)


def check_cap(db, limits: DepositLimits, now: float) -> None:
    """Refuse (503) when the cap is reached; call inside the transaction that hands one out."""
    count, next_expiry = outstanding(db, limits, now)
    if count >= limits.cap:
        raise DepositAddressLimited(
            f"the mint has {count} deposit addresses waiting for a deposit, the most it hands out at once",
            status=503, retry_after=(next_expiry or now + 60) - now, reason="cap",
            hint="try again later; an operator may raise mint.deposit_address_cap")


class ClientBuckets:
    """A token bucket per client: ``burst`` requests at once, refilled at ``rate_per_hour``."""

    def __init__(self, rate_per_hour: float = DEFAULT_RATE_PER_HOUR, burst: int = DEFAULT_BURST, *,
                 max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(rate_per_hour) and rate_per_hour > 0) or burst < 1 or max_clients < 1:
            raise MintError("a deposit address rate needs a rate above 0 per hour and a burst of at least 1")
        self.rate = rate_per_hour / 3600.0
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, peer: str | None) -> None:
        """Spend one token of ``peer``'s bucket, or raise :class:`DepositAddressLimited` (429)."""
        client = client_key(peer)
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                tokens -= 1
                wait = 0.0
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        if wait:
            raise DepositAddressLimited(
                f"too many deposit addresses asked from {client}: at most {self.burst} at once and "
                f"{self.rate * 3600:g} an hour", status=429, retry_after=wait, reason="rate",
                hint="reuse the deposit address already given, or wait")


def client_key(peer: str | None) -> str:
    """The unit a client is limited by: an IPv4 address, an IPv6 /64, or the peer as given."""
    if not peer:
        return "unknown"
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return peer[:100]
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


class RefusalLog:
    """Refusals counted in memory, written to the ledger with an event at most once a minute."""

    def __init__(self, interval: float = EVENT_INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._pending: collections.Counter[str] = collections.Counter()
        self._last_flush: float | None = None
        self._lock = threading.Lock()

    def refused(self, mint, reason: str, now: float) -> None:
        with self._lock:
            self._pending[reason] += 1
        self.flush(mint, now)

    def flush(self, mint, now: float, *, force: bool = False) -> None:
        """Write what is counted, if a minute passed since the last write (or ``force``)."""
        with self._lock:
            if not self._pending or not force and self._last_flush is not None \
                    and now - self._last_flush < self.interval:
                return
            counts, self._pending = dict(self._pending), collections.Counter()
            self._last_flush = now
        record_refusals(mint, counts)


def record_refusals(mint, counts: dict[str, int]) -> None:
    """Add ``counts`` (by reason) to the ledger's counters and raise one ``deposit_limit`` event."""
    ledger = mint.ledger
    with ledger.transaction() as db:
        for reason, count in counts.items():
            name = REFUSAL_COUNTERS[reason]
            row = db.execute("SELECT value FROM meta WHERE key=?", (name,)).fetchone()
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (name, str(int(row[0]) + count if row else count)))
    words = {"rate": "over a client's rate", "cap": "at the cap of outstanding addresses"}
    mint.record_event("deposit_limit", "warn", "deposit addresses refused: " + ", ".join(
        f"{count} {words[reason]}" for reason, count in sorted(counts.items())))


def refusal_totals(ledger) -> dict[str, int]:
    """Deposit address requests refused so far, by reason (``rate``, ``cap``)."""
    rows = dict(ledger.read("SELECT key, value FROM meta WHERE key IN (?, ?)", tuple(REFUSAL_COUNTERS.values())))
    return {reason: int(rows.get(name, 0)) for reason, name in REFUSAL_COUNTERS.items()}
