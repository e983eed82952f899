"""Redemption payouts signed by the Coldcard quorum (``backends.quorum``) instead of the hot key.

The coordinator's spend pipeline does the work: coin selection from the quorum's wallet (the
mint's reserve), pre-flight, its gates (``coordinator.gates``), two devices signing under
their HSM policy, broadcast and its own crash-safe ledger. The mint keeps its redemption in
step with that ledger:

    pending ──(approve: a ``quorum_payouts`` row, status approved, no txid yet)──> quorum spend
       ^                                                                            │
       └── refused (policy, a gate, too few signers): pending with the reason ──────┤
                                                            Done: broadcast, inputs held

The quorum spend carries the note ``mint redemption <id>``. A process killed anywhere in
between leaves the ``quorum_payouts`` row; :func:`settle` (at refresh, and before any new
payout) first lets the coordinator recover its own unfinished spends (it asks the chain;
one that went out is ``recorded``, one that did not is ``dropped``), then takes the outcome
of the spend with that note: recorded means the payout went out with that transaction; any
other means nothing went out and the redemption waits again. Never a second spend while
the first one's fate is unknown: a redemption with a ``quorum_payouts`` row is not paid again
until it is settled, and the coordinator itself refuses to build while a cut-short spend is
unsettled.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from backends.errors import CustodyError

from .errors import RedemptionError
from .ledger import Ledger
from .redemptions import Redemption, get_redemption

NOTE_PREFIX = "mint redemption "
#: quorum spends looked through for a note at settlement (far more than are ever in flight)
RECENT_SPENDS = 10_000
SIGNING = "being signed by the signer quorum"
#: held (flock) by the process paying through the quorum, from before its ``quorum_payouts``
#: row is written until the outcome is recorded: until the coordinator takes its own lock
#: that process has started no quorum spend, and another process settling then would see
#: "no spend was started" and put a redemption that is about to be paid back to pending
LOCK_FILE = "quorum-payouts.lock"


@contextlib.contextmanager
def _in_flight(ledger: Ledger) -> Iterator[bool]:
    """Take the payout lock if free; yields whether this process holds it."""
    with open(ledger.path.parent / LOCK_FILE, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def note_for(redemption_id: str) -> str:
    return NOTE_PREFIX + redemption_id


def pay(ledger: Ledger, redemption_id: str, operator: str, coordinator, *, now: float) -> Redemption:
    """Approve a pending redemption and pay it through the quorum, or leave it pending with
    the reason the quorum gave (an HSM policy refusal in the devices' words, a gate's)."""
    with _in_flight(ledger) as mine:
        if not mine:
            raise RedemptionError("another process is paying a redemption through the signer quorum",
                                  hint="wait for it to finish, then approve again")
        return _pay(ledger, redemption_id, operator, coordinator, now=now)


def _pay(ledger: Ledger, redemption_id: str, operator: str, coordinator, *, now: float) -> Redemption:
    from backends.quorum import Done, Failed

    _settle(ledger, coordinator, now=now)
    redemption = get_redemption(ledger, redemption_id)
    if redemption.status != "pending":
        raise RedemptionError(f"redemption {redemption_id[:16]} is {redemption.status}, not pending")
    with ledger.transaction() as db:
        moved = db.execute("UPDATE redemptions SET status='approved', approved_by=?, reason=?, updated_at=? "
                           "WHERE redemption_id=? AND status='pending'", (operator, SIGNING, now, redemption_id))
        if moved.rowcount != 1:
            raise RedemptionError(f"redemption {redemption_id[:16]} changed while it was being approved")
        db.execute("INSERT INTO quorum_payouts(redemption_id, started_at) VALUES (?, ?)", (redemption_id, now))
    last: Any = None
    for last in coordinator.spend(redemption.amount_sat, redemption.address, note=note_for(redemption_id)):
        pass
    if isinstance(last, Done):
        _record(ledger, redemption_id, coordinator.ledger.get(last.spend_id), now=now)
        return get_redemption(ledger, redemption_id)
    spend = _spend_of(coordinator, redemption_id)
    if spend is not None and spend.state == "recorded":
        # this payout's earlier spend went out (the coordinator refused to build another)
        _record(ledger, redemption_id, spend, now=now)
    elif spend is not None and spend.state not in ENDED:
        # cut short with its fate unknown (a broadcast the chain did not answer): back to
        # pending, approving it again would pay twice; it stays approved, with its
        # quorum_payouts row, until settle() learns from the chain whether it went out
        with ledger.transaction() as db:
            db.execute("UPDATE redemptions SET reason=?, updated_at=? WHERE redemption_id=? AND status='approved'",
                       (f"{refusal_text(last if isinstance(last, Failed) else None)}; whether it went out is "
                        "settled from the chain at the next refresh", now, redemption_id))
    else:
        _back_to_pending(ledger, redemption_id, refusal_text(last if isinstance(last, Failed) else None), now=now)
    return get_redemption(ledger, redemption_id)


#: quorum spend states in which nothing went out, and never will through that spend
ENDED = ("refused", "failed", "dropped")


def _spend_of(coordinator, redemption_id: str):
    """The newest quorum spend of this redemption (by its note), or None."""
    note = note_for(redemption_id)
    return next((row for row in coordinator.ledger.recent(RECENT_SPENDS) if row.note == note), None)


def refusal_text(failed) -> str:
    if failed is None:
        return "the signer quorum reported nothing; approve it again"
    reasons = "; ".join(f"{name}: {why}" for name, why in sorted(failed.refusals.items()))
    return f"refused by the signer quorum: {failed.reason}" + (f" ({reasons})" if reasons else "")


def settle(ledger: Ledger, coordinator, *, now: float) -> list[str]:
    """Settle payouts a killed process left between approval and recording (see the module
    docstring); the redemption ids that changed. Unsettled while the coordinator cannot
    say (its chain does not answer, another spend runs, another process is paying): they
    stay as they are."""
    with _in_flight(ledger) as mine:
        return _settle(ledger, coordinator, now=now) if mine else []


def _settle(ledger: Ledger, coordinator, *, now: float) -> list[str]:
    waiting = [row[0] for row in ledger.read("SELECT redemption_id FROM quorum_payouts ORDER BY started_at")]
    if not waiting:
        return []
    try:
        coordinator.recover()
    except CustodyError:
        return []
    by_note = {}
    for row in reversed(coordinator.ledger.recent(RECENT_SPENDS)):  # oldest first: the newest wins
        if row.note.startswith(NOTE_PREFIX):
            by_note[row.note] = row
    for redemption_id in waiting:
        row = by_note.get(note_for(redemption_id))
        if row is not None and row.state == "recorded":
            _record(ledger, redemption_id, row, now=now)
        elif row is None or row.state in ENDED:
            what = f"spend #{row.id} was {row.state}" if row is not None else "no spend was started"
            _back_to_pending(ledger, redemption_id, f"its quorum payout was cut short ({what}); nothing went "
                                                    "out; approve it again", now=now)
    return waiting


def _record(ledger: Ledger, redemption_id: str, row, *, now: float) -> None:
    """The quorum's transaction is on the chain: the payout is broadcast, its inputs held."""
    from embit.transaction import Transaction

    inputs = [f"{vin.txid.hex()}:{vin.vout}" for vin in Transaction.parse(bytes(row.raw_tx)).vin]
    with ledger.transaction() as db:
        # the coins are spent on the chain whatever the mint's locks say: hold them for this payout
        db.executemany("INSERT OR REPLACE INTO reserve_locks(outpoint, holder_id) VALUES (?, ?)",
                       [(outpoint, redemption_id) for outpoint in inputs])
        db.execute("UPDATE redemptions SET status='broadcast', reason=NULL, txid=?, raw_tx=?, fee_sat=?, "
                   "updated_at=? WHERE redemption_id=?", (row.txid, bytes(row.raw_tx), row.fee_sat, now,
                                                          redemption_id))
        db.execute("DELETE FROM quorum_payouts WHERE redemption_id=?", (redemption_id,))


def _back_to_pending(ledger: Ledger, redemption_id: str, reason: str, *, now: float) -> None:
    with ledger.transaction() as db:
        db.execute("UPDATE redemptions SET status='pending', reason=?, updated_at=? WHERE redemption_id=? "
                   "AND status='approved' AND txid IS NULL", (reason, now, redemption_id))
        db.execute("DELETE FROM quorum_payouts WHERE redemption_id=?", (redemption_id,))


@dataclass(frozen=True)
class SignerAllowance:
    name: str
    live: bool
    spent_sat: int | None  # this period, by the device's own counter (None: never read)
    headroom_sat: int | None


@dataclass(frozen=True)
class Allowance:
    """What the quorum's HSM policy still lets out this period, from the devices' counters
    at their last read: a payout needs ``threshold`` signers, so the quorum can pay what
    the ``threshold``-th most generous live signer still allows."""

    per_period_sat: int | None  # the policy's velocity limit (first rule that has one)
    max_per_payout_sat: int | None  # that rule's max_amount
    period_minutes: int | None
    period_ends_seconds: int | None
    allowed_now_sat: int | None  # None: no limit, or too few signers read and live
    signers: tuple[SignerAllowance, ...]
    gates: tuple[str, ...]  # the coordinator's gates, by name (they may refuse on their own)
    global_headroom_sat: int | None = None  # the coordinator's global cap, counted from the chain
    global_cap: str | None = None  # its figure in words ('... used of ...; rolls in ...')

    def to_dict(self) -> dict[str, Any]:
        return {"signer": "quorum", "per_period_sat": self.per_period_sat,
                "max_per_payout_sat": self.max_per_payout_sat, "period_minutes": self.period_minutes,
                "period_ends_seconds": self.period_ends_seconds, "allowed_now_sat": self.allowed_now_sat,
                "signers": [s.__dict__ for s in self.signers], "gates": list(self.gates),
                "global_headroom_sat": self.global_headroom_sat, "global_cap": self.global_cap}

    def text(self) -> str:
        if self.global_cap is not None:
            return self._devices_text() + f"; global cap {self.global_cap}" + (
                f"; {self.allowed_now_sat} sat can go out now" if self.allowed_now_sat is not None else "")
        return self._devices_text()

    def _devices_text(self) -> str:
        if self.per_period_sat is None:
            return "quorum policy: no velocity limit" + (
                f", at most {self.max_per_payout_sat} sat per payout" if self.max_per_payout_sat else "")
        allowed = "unknown (signers not read or not live)" if self.allowed_now_sat is None \
            else f"{self.allowed_now_sat} sat"
        parts = [f"quorum policy allows {allowed} more this period (limit {self.per_period_sat} sat per "
                 f"{self.period_minutes} min)"]
        if self.max_per_payout_sat:
            parts.append(f"at most {self.max_per_payout_sat} sat per payout")
        if self.period_ends_seconds is not None:
            parts.append(f"period ends in {self.period_ends_seconds} s")
        if self.gates:
            parts.append("coordinator gates: " + ", ".join(self.gates))
        return "; ".join(parts)


def allowance(coordinator) -> Allowance:
    """From the coordinator's newest statuses (no device is asked) and the armed policy."""
    from backends.coldcard.hsm import HsmPolicy

    policy = HsmPolicy.from_json(coordinator.spec.policy)
    rule = next((r for r in policy.rules if r.per_period is not None), None)
    max_amount = rule.max_amount if rule is not None else next(
        (r.max_amount for r in policy.rules if r.max_amount is not None), None)
    signers, ends = [], None
    for status in coordinator.statuses():
        spent = None
        if rule is not None and status.reachable:
            running = bool(status.has_spent) and status.period_ends is not None
            spent = status.has_spent[rule.index - 1] if running and len(status.has_spent) >= rule.index else 0
            if running:
                ends = status.period_ends if ends is None else min(ends, status.period_ends)
        headroom = None if spent is None else max(0, rule.per_period - spent)
        signers.append(SignerAllowance(status.name, status.live, spent, headroom))
    live = sorted((s.headroom_sat for s in signers if s.live and s.headroom_sat is not None), reverse=True)
    threshold = coordinator.spec.threshold
    allowed = live[threshold - 1] if rule is not None and len(live) >= threshold else None
    gates = tuple(getattr(g, "__name__", type(g).__name__) for g in coordinator.gates)
    headroom, words = _global_cap(coordinator)
    if headroom is not None and (rule is None or allowed is not None):
        # the coordinator's cap is counted from the chain: what the devices allow, within it
        allowed = headroom if allowed is None else min(allowed, headroom)
    return Allowance(rule.per_period if rule else None, max_amount, policy.period if rule else None,
                     ends if rule else None, allowed, tuple(signers), gates, headroom, words)


def _global_cap(coordinator) -> tuple[int | None, str | None]:
    """The global cap's headroom and words, or (None, None) without a cap or a figure."""
    from backends.errors import CustodyError

    try:
        usage = coordinator.global_usage()
    except CustodyError as exc:  # neither the chain nor the cache has a figure
        return None, f"unknown ({exc})"
    if usage is None:
        return None, None
    return usage.headroom_sat, usage.summary()
