"""The coordinator-wide velocity cap: the authoritative limit on what the quorum wallet
may send out over a rolling window, counted from the chain.

Each signer counts its own velocity, and under "any 2 of 3" the three counters drift
(each device counts only what it signed, even a PSBT never broadcast). This cap counts
what actually left the wallet:

- **used** = the quorum wallet's external outflow (``HistoryEntry.outflow_sat``: what its
  coins paid out minus what came back to it as change, so the fee counts and change does
  not) of every transaction first seen in the last ``period`` minutes, mempool included;
  a conflicted transaction is not in the chain's history, so it stops counting (one the
  chain only forgot, evicted from its mempool, keeps counting as a reservation: a copy
  of it can still be mined). Every
  coordinator over the same chain computes the same figure;
- plus the **reservations** of spends in flight: the gate reserves a spend's outflow in
  SQLite (``BEGIN IMMEDIATE``, so concurrent gates see each other's) before any device is
  asked. A reservation is released when its spend is refused, fails or is dropped (a
  PSBT signed but never broadcast uses nothing), and once broadcast it counts until the
  chain's history shows the transaction, which then counts instead (never both).
  A process killed mid-spend leaves its reservation; it is settled against the spend
  ledger as soon as ``recover`` settles the spend (the next spend does that first).

The window rolls: a spend stops counting ``period`` minutes after it was first seen, so
``window_resets_at`` is when the oldest counted spend leaves it.

The chain's figure is cached by tip and by the wallet's coins (any spend, mined or in the
mempool, conflicted or replaced, changes them; reading them is far cheaper than reading
the history) and the reservations' generation; the gate always reads the chain afresh. The transactions counted are also kept
in SQLite: when the chain cannot be reached, the figure is computed from them and says
``source="cache"``.
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.errors import CustodyError

from .errors import GateRefused, QuorumError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    spend_id INTEGER PRIMARY KEY,
    amount_sat INTEGER NOT NULL,
    created REAL NOT NULL,
    surge INTEGER NOT NULL DEFAULT 0,
    txid TEXT
);
CREATE TABLE IF NOT EXISTS counted (
    txid TEXT PRIMARY KEY,
    seen REAL NOT NULL,
    outflow_sat INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS facts (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_VERSION = 1

#: spend ledger states after which a spend's reservation no longer holds
_ENDED = ("refused", "failed", "dropped")
_WENT_OUT = ("broadcast", "recorded")


@dataclass(frozen=True)
class GlobalUsage:
    """The cap's figure now. ``used_sat`` includes ``reserved_sat`` (spends in flight)."""

    used_sat: int
    limit_sat: int
    window_resets_at: float | None  # unix time the oldest counted spend leaves the window
    source: str  # "chain" or "cache"
    reserved_sat: int = 0
    period_minutes: int = 0

    @property
    def headroom_sat(self) -> int:
        return max(0, self.limit_sat - self.used_sat)

    def summary(self, now: float | None = None) -> str:
        """'1,000,378 sat used of 1,200,000 sat; rolls in 42 min (16:12 UTC)', and 'from cache'
        when the chain could not be asked: the words the CLI and the screens show."""
        rolls = rolls_in(self.window_resets_at, time.time() if now is None else now)
        text = f"{sats(self.used_sat)} used of {sats(self.limit_sat)}; " + (
            f"rolls {rolls}" if self.window_resets_at is not None else rolls)
        return text + ("; from cache (chain unreachable)" if self.source == "cache" else "")

    def brief(self, now: float | None = None) -> str:
        """'cap 1,000,378/1,200,000 sat, rolls in 42 min' for a one-line summary."""
        text = f"cap {self.used_sat:,}/{self.limit_sat:,} sat"
        if self.window_resets_at is not None:
            text += ", rolls " + rolls_in(self.window_resets_at, time.time() if now is None else now).split(" (")[0]
        return text + (" (from cache)" if self.source == "cache" else "")

    def as_dict(self) -> dict[str, Any]:
        return {"used_sat": self.used_sat, "limit_sat": self.limit_sat,
                "window_resets_at": utc_text(self.window_resets_at), "source": self.source}


def utc_text(when: float | None) -> str | None:
    if when is None:
        return None
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sats(amount: int) -> str:
    return f"{amount:,} sat"


def rolls_in(when: float | None, now: float) -> str:
    """'in 42 min (16:12 UTC)': when the window next frees room, in an operator's words."""
    if when is None:
        return "nothing counted in the window"
    left = max(0, int(when - now))
    hours, rest = divmod(left, 3600)
    if hours:
        span = f"{hours} h {rest // 60} min"
    elif rest < 60:
        span = f"{rest} s"
    else:
        span = f"{rest // 60} min {rest % 60} s" if rest < 600 else f"{rest // 60} min"
    return f"in {span} ({datetime.fromtimestamp(when, UTC).strftime('%H:%M')} UTC)"


@dataclass(frozen=True)
class _ChainRead:
    """The outflows counted from one chain read, oldest first."""

    tip: str
    times: tuple[float, ...]
    outflows: tuple[int, ...]
    txids: frozenset[str]


class GlobalCap:
    """One quorum wallet's cap. ``chain`` is a callable returning the ``Chain`` (the
    coordinator's, opened on first use); ``spend_state(spend_id)`` returns the spend
    ledger's ``(state, txid)`` of a spend, or ``None`` if it has no such spend."""

    def __init__(self, path: Path, *, chain: Callable[[], Any], descriptor: str, limit_sat: int,
                 period_minutes: int, surge_limit_sat: int = 0,
                 spend_state: Callable[[int], tuple[str, str | None] | None] = lambda _id: None,
                 clock: Callable[[], float] = time.time) -> None:
        from backends.sqlite import open_wal_database

        if limit_sat <= 0 or period_minutes <= 0:
            raise QuorumError("a global cap needs a positive limit and period")
        self._chain = chain
        self.descriptor = descriptor
        self.limit_sat = limit_sat
        self.surge_limit_sat = max(surge_limit_sat, limit_sat)
        self.period_seconds = period_minutes * 60
        self.period_minutes = period_minutes
        self.spend_state = spend_state
        self.clock = clock
        self._db = open_wal_database(Path(path), _SCHEMA, _VERSION, what="global cap ledger", error=QuorumError)
        self._lock = threading.Lock()
        self._cached: tuple[tuple[str, str, str], _ChainRead] | None = None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def limit(self, surge: bool = False) -> int:
        return self.surge_limit_sat if surge else self.limit_sat

    # -- the figure -------------------------------------------------------------------------
    def usage(self, *, surge: bool = False) -> GlobalUsage:
        """Used and limit now: from the chain (cached by tip), or from the cache of what the
        chain last showed when it cannot be reached."""
        now = self.clock()
        try:
            read = self._chain_read(cached=True)
            gone, source = self._gone(read), "chain"
        except CustodyError:
            read, gone, source = self._cached_read(), frozenset(), "cache"
        with self._lock:
            self._settle_all(gone, read.txids)
            reserved = self._reserved(read)
        return self._figure(read, reserved, now, surge, source)

    def _figure(self, read: _ChainRead, reserved: int, now: float, surge: bool, source: str) -> GlobalUsage:
        start = bisect.bisect_right(read.times, now - self.period_seconds)
        used = sum(read.outflows[start:]) + reserved
        resets = read.times[start] + self.period_seconds if start < len(read.times) else None
        return GlobalUsage(used, self.limit(surge), resets, source, reserved, self.period_minutes)

    def _chain_read(self, *, cached: bool) -> _ChainRead:
        chain = self._chain()
        tip = chain.tip().hash_hex
        with self._lock:
            generation = self._fact("generation") or "0"
        # every spend of the wallet, mined or in the mempool, spends one of its coins, and a
        # conflict or a replacement brings coins back or changes them: while the tip and the
        # coins are the same, so is the chain's part of the figure
        coins = hashlib.sha256("".join(sorted(f"{u.txid}:{u.vout};" for u in chain.utxos(self.descriptor)))
                               .encode()).hexdigest()
        key = (tip, coins, generation)
        if cached and self._cached is not None:
            was, read = self._cached
            if was == key:
                return read
        counted = sorted((h.time, h.outflow_sat, h.txid) for h in chain.history(self.descriptor) if h.outflow_sat)
        read = _ChainRead(tip, tuple(float(t) for t, _, _ in counted), tuple(o for _, o, _ in counted),
                          frozenset(x for _, _, x in counted))
        self._cached = (key, read)
        self._keep(read, counted, f"{tip}:{coins}")
        return read

    def _keep(self, read: _ChainRead, counted: list, chain_state: str) -> None:
        """What the chain showed within the window, for when it cannot be reached (written
        again only when the chain's state changed)."""
        horizon = self.clock() - self.period_seconds
        recent = [(txid, t, o) for t, o, txid in counted if t > horizon]
        from backends.sqlite import immediate_transaction, unsynced

        with self._lock:
            if self._fact("cached_state") == chain_state:
                return
            # a cache, only shown when the chain cannot be asked (the gate never uses it):
            # no fsync of its own; the reservation the gate commits next syncs it anyway
            with unsynced(self._db), immediate_transaction(self._db):
                self._db.execute("DELETE FROM counted")
                self._db.executemany("INSERT INTO counted (txid, seen, outflow_sat) VALUES (?, ?, ?)", recent)
                self._set_fact("cached_state", chain_state)
                self._set_fact("cached_tip", read.tip)

    def _cached_read(self) -> _ChainRead:
        with self._lock:
            rows = self._db.execute("SELECT seen, outflow_sat, txid FROM counted ORDER BY seen").fetchall()
            tip = self._fact("cached_tip") or ""
        return _ChainRead(tip, tuple(r[0] for r in rows), tuple(r[1] for r in rows),
                          frozenset(r[2] for r in rows))

    # -- reservations -----------------------------------------------------------------------
    def _reserved(self, read: _ChainRead) -> int:
        """Reservations not yet in ``read``: held ones, and broadcast ones the chain's
        history did not show yet."""
        total = 0
        for amount, txid in self._db.execute("SELECT amount_sat, txid FROM reservations"):
            if txid is None or txid not in read.txids:
                total += amount
        return total

    def _settle_all(self, gone: frozenset[str] = frozenset(), seen: frozenset[str] = frozenset()) -> None:
        for (spend_id,) in self._db.execute("SELECT spend_id FROM reservations WHERE txid IS NULL").fetchall():
            self._settle(spend_id, seen)
        # a broadcast that can never confirm (conflicted) counts no more, and one older than
        # the window counts nowhere any more
        dropped = self._db.execute("DELETE FROM reservations WHERE txid IS NOT NULL AND created < ?",
                                   (self.clock() - self.period_seconds,)).rowcount
        dropped += self._db.executemany("DELETE FROM reservations WHERE txid=?", [(t,) for t in gone]).rowcount
        if dropped:
            self._bump()

    def _settle(self, spend_id: int, seen: frozenset[str] = frozenset()) -> None:
        found = self.spend_state(spend_id)
        if found is None or found[0] in _ENDED:
            if self._db.execute("DELETE FROM reservations WHERE spend_id=?", (spend_id,)).rowcount:
                self._bump()
        elif found[1] and (found[0] in _WENT_OUT or found[1] in seen):
            # went out, or signed with its broadcast unanswered and the chain shows it all the
            # same: the chain counts it now, so the reservation must not count it a second time
            if self._db.execute("UPDATE reservations SET txid=? WHERE spend_id=? AND txid IS NULL",
                                (found[1], spend_id)).rowcount:
                self._bump()

    def settle(self, spend_id: int) -> None:
        """The spend ended (or went out): release or convert its reservation now.

        One commit without an fsync: if a power cut loses it, the reservation is still held
        (it counts, never less than it should) and the next look settles it from the spend
        ledger again, as for a process killed mid-spend."""
        from backends.sqlite import immediate_transaction, unsynced

        with self._lock, unsynced(self._db), immediate_transaction(self._db):
            self._settle(spend_id)

    #: how lists of the coordinator's gates name this one
    __name__ = "global cap"

    def __call__(self, plan) -> None:
        """The coordinator gate (``spend.SpendPlan``): reserve the spend's outflow (amount and
        fee) under the cap, or the surge cap when the spend carries the owner's code."""
        self.reserve(plan.spend_id, plan.amount_sat + plan.fee_sat, surge=plan.surge is not None)

    def reserve(self, spend_id: int, amount_sat: int, *, surge: bool = False) -> GlobalUsage:
        """Reserve ``amount_sat`` for a spend if the cap allows it, atomically against every
        other gate on this data dir; else ``GateRefused`` saying used/limit and when the
        window frees room. Reads the chain afresh (never the cache)."""
        from backends.sqlite import immediate_transaction

        try:
            read = self._chain_read(cached=False)
        except CustodyError as exc:
            raise GateRefused(f"the global cap cannot be counted: the chain did not answer ({exc}); "
                              "nothing was asked of any signer",
                              hint="spend again once the chain answers") from None
        gone = self._gone(read)
        now = self.clock()
        limit = self.limit(surge)
        with self._lock, immediate_transaction(self._db):
            self._settle_all(gone, read.txids)
            usage = self._figure(read, self._reserved(read), now, surge, "chain")
            if usage.used_sat + amount_sat > limit:
                raise GateRefused(self._refusal(usage, read, amount_sat, now, surge),
                                  hint=self._hint(surge))
            self._db.execute("INSERT INTO reservations (spend_id, amount_sat, created, surge) VALUES (?, ?, ?, ?)",
                             (spend_id, amount_sat, now, int(surge)))
            self._bump()
        return GlobalUsage(usage.used_sat + amount_sat, limit, usage.window_resets_at, "chain",
                           usage.reserved_sat + amount_sat, self.period_minutes)

    def _gone(self, read: _ChainRead) -> frozenset[str]:
        """Broadcast reservations whose transaction can never confirm (conflicted: a coin of
        it is spent by a mined transaction): they stop counting. One the chain merely
        forgot (evicted, expired, a restarted node) is still a valid signed transaction that
        any copy of it can bring to a block: it keeps counting until conflicted or out of
        the window."""
        with self._lock:
            txids = [r[0] for r in self._db.execute("SELECT txid FROM reservations WHERE txid IS NOT NULL")]
        chain = self._chain()
        gone = set()
        for txid in txids:
            if txid in read.txids:
                continue
            try:
                if chain.tx_status(txid).state == "conflicted":
                    gone.add(txid)
            except CustodyError:
                pass  # unknown to us: it keeps counting
        return frozenset(gone)

    def _refusal(self, usage: GlobalUsage, read: _ChainRead, amount_sat: int, now: float, surge: bool) -> str:
        tier = "surge global cap" if surge else "global cap"
        text = (f"over the {tier}: {sats(usage.used_sat)} used of {sats(usage.limit_sat)} in the last "
                f"{_period_words(self.period_minutes)}; this spend needs {sats(amount_sat)} (amount and fee)")
        if usage.reserved_sat:
            text += f", {sats(usage.reserved_sat)} of the used is in spends still in flight"
        room_at = self._room_at(read, usage, amount_sat, now)
        if amount_sat > usage.limit_sat:
            text += "; it is more than the whole cap"
        elif room_at is not None:
            text += f"; room for it {rolls_in(room_at, now)}"
        return text + "; nothing was asked of any signer"

    def _room_at(self, read: _ChainRead, usage: GlobalUsage, amount_sat: int, now: float) -> float | None:
        """When enough counted spends have left the window for this one to fit."""
        start = bisect.bisect_right(read.times, now - self.period_seconds)
        excess = usage.used_sat + amount_sat - usage.limit_sat
        for seen, outflow in zip(read.times[start:], read.outflows[start:], strict=True):
            excess -= outflow
            if excess <= 0:
                return seen + self.period_seconds
        return None  # what is in flight must settle first

    def _hint(self, surge: bool) -> str:
        if surge or self.surge_limit_sat <= self.limit_sat:
            return "wait for the window to roll, or spend less"
        return (f"wait for the window to roll, spend less, or give the owner's TOTP code (--totp) for the "
                f"surge cap of {sats(self.surge_limit_sat)}")

    # -- small facts ------------------------------------------------------------------------
    def _fact(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM facts WHERE name=?", (name,)).fetchone()
        return row[0] if row else None

    def _set_fact(self, name: str, value: str) -> None:
        self._db.execute("INSERT INTO facts (name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (name, value))

    def _bump(self) -> None:
        """Every change to the reservations changes the generation, so a cached figure of
        this or another process is not reused past it."""
        self._db.execute("INSERT INTO facts (name, value) VALUES ('generation', '1') "
                         "ON CONFLICT(name) DO UPDATE SET value=CAST(value AS INTEGER) + 1")


def _period_words(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "24 h" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


__all__ = ["GlobalCap", "GlobalUsage", "rolls_in", "sats", "utc_text"]
