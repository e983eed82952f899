"""What the reserve holds against what the mint owes: inventory, accounting and health.

Read-only: figures come from the chain (the reserve's coins) and the ledger (deposits,
issuance, spent notes, redemptions, in-flight locks); nothing here changes state.

Liabilities are everything the mint owes in bitcoin: notes outstanding (issued, not yet
burned), deposits not yet turned into notes (credited and unissued, or registered and
waiting for depth), and redemptions whose payout has not left the reserve (pending, or
signed but not broadcast). Payouts already broadcast are out of the reserve's coins, so
they are neither reserve nor liability.
"""

from __future__ import annotations

import heapq
import statistics
from dataclasses import asdict, dataclass
from typing import Any

from .ledger import Ledger
from .redemptions import Reserve
from .spends import locked_outpoints

HEALTHY, WARN, CRITICAL = "healthy", "warn", "critical"


@dataclass(frozen=True)
class Inventory:
    utxo_count: int  # coins a payout may spend now (confirmed, mature, not in flight)
    utxo_value_sat: int
    waiting_count: int  # reserve coins not spendable yet (unconfirmed or immature)
    waiting_value_sat: int
    locked_count: int  # coins held by recorded payouts not yet broadcast
    locked_value_sat: int
    small_utxo_count: int  # spendable coins below ``small_utxo_sat``
    small_utxo_sat: int
    median_utxo_sat: int
    largest_utxo_sat: int
    max_payout_sat: int  # the most one payout can move now: the max_inputs largest spendable coins
    max_inputs: int
    max_payout_when_confirmed_sat: int = 0  # the same once waiting coins confirm

    @property
    def total_value_sat(self) -> int:
        return self.utxo_value_sat + self.waiting_value_sat + self.locked_value_sat

    @property
    def fragmentation(self) -> float:
        """Share of spendable coins that are small: 0 (consolidated) .. 1 (all dust-like)."""
        return self.small_utxo_count / self.utxo_count if self.utxo_count else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_value_sat": self.total_value_sat, "fragmentation": round(self.fragmentation, 4)}


def is_ready(coin) -> bool:
    """A chain coin a payout may spend: confirmed, and no coinbase before it matures
    (the rule of ``backends.wallet.spendable_coins``, without building wallet coins)."""
    from backends.wallet.coinselect import COINBASE_MATURITY

    return coin.confirmations >= 1 and not (coin.coinbase and coin.confirmations < COINBASE_MATURITY)


def inventory(ledger: Ledger, reserve: Reserve, *, small_utxo_sat: int | None = None,
              coins: list | None = None) -> Inventory:
    """``coins``: the reserve's chain coins when the caller has just read them."""
    policy = reserve.policy
    small = small_utxo_sat if small_utxo_sat is not None else 10 * policy.change_floor
    locked = locked_outpoints(ledger)
    spendable, held, waiting = [], [], []
    if coins is None:
        coins = reserve.chain.utxos(reserve.descriptor_text)
    for coin in coins:  # one pass: 100k coins in tens of ms
        if locked and f"{coin.txid}:{coin.vout}" in locked:
            held.append(coin.amount_sat)
        elif is_ready(coin):
            spendable.append(coin.amount_sat)
        else:
            waiting.append(coin.amount_sat)
    spendable.sort(reverse=True)
    return Inventory(
        utxo_count=len(spendable),
        utxo_value_sat=sum(spendable),
        waiting_count=len(waiting),
        waiting_value_sat=sum(waiting),
        locked_count=len(held),
        locked_value_sat=sum(held),
        small_utxo_count=sum(1 for v in spendable if v < small),
        small_utxo_sat=small,
        median_utxo_sat=int(statistics.median(spendable)) if spendable else 0,
        largest_utxo_sat=spendable[0] if spendable else 0,
        max_payout_sat=sum(spendable[: policy.max_inputs]),
        max_inputs=policy.max_inputs,
        max_payout_when_confirmed_sat=sum(heapq.nlargest(policy.max_inputs, spendable + waiting)),
    )


@dataclass(frozen=True)
class Accounting:
    deposits_credited_sat: int
    deposits_waiting_sat: int  # registered, not yet at the required depth
    issued_sat: int
    deposits_unissued_sat: int  # credited but not yet turned into notes
    burned_sat: int  # notes spent by redemptions (rejected ones are restored, not counted)
    outstanding_notes_sat: int
    redemptions_unsettled_sat: int  # pending or signed, not yet out of the reserve
    redemptions_broadcast_sat: int
    redeemed_sat: int  # finalized payouts
    reserves_sat: int
    liabilities_sat: int

    @property
    def surplus_sat(self) -> int:
        """Reserves minus liabilities: negative is a deficit."""
        return self.reserves_sat - self.liabilities_sat

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "surplus_sat": self.surplus_sat}


def accounting(ledger: Ledger, reserves_sat: int) -> Accounting:
    def total(sql: str) -> int:
        return int(ledger.read(sql)[0][0] or 0)

    credited = total("SELECT SUM(amount_sat) FROM deposits WHERE status='credited'")
    waiting = total("SELECT SUM(amount_sat) FROM deposits WHERE status='registered'")
    unissued = total("SELECT SUM(amount_sat - issued_sat) FROM deposits WHERE status='credited'")
    issued = total("SELECT SUM(amount_sat) FROM blind_sigs")
    burned = total("SELECT SUM(amount_sat) FROM spent_notes")
    unsettled = total("SELECT SUM(amount_sat) FROM redemptions WHERE status IN ('pending', 'approved')")
    broadcast = total("SELECT SUM(amount_sat) FROM redemptions WHERE status='broadcast'")
    redeemed = total("SELECT SUM(amount_sat) FROM redemptions WHERE status='finalized'")
    outstanding = issued - burned
    return Accounting(credited, waiting, issued, unissued, burned, outstanding, unsettled, broadcast, redeemed,
                      reserves_sat, outstanding + unissued + waiting + unsettled)


@dataclass(frozen=True)
class Health:
    status: str  # healthy | warn | critical
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class HealthRules:
    """When the reserve needs attention. Fragmentation and pressure are shares (0..1)."""

    warn_fragmentation: float = 0.5
    warn_surplus_fraction: float = 0.01  # surplus below this share of liabilities
    warn_payout_pressure: float = 0.5  # largest unsettled payout above this share of max_payout


def health(inv: Inventory, books: Accounting, largest_unsettled_sat: int, rules: HealthRules = HealthRules()) -> Health:
    """``critical`` when the mint cannot meet what it owes, ``warn`` when it soon may not."""
    critical, warn = [], []
    if books.surplus_sat < 0:
        critical.append(f"deficit: reserves {books.reserves_sat} sat are below liabilities {books.liabilities_sat} sat")
    if largest_unsettled_sat > max(inv.max_payout_sat, inv.max_payout_when_confirmed_sat):
        critical.append(
            f"a {largest_unsettled_sat} sat redemption exceeds what {inv.max_inputs} reserve coins can pay "
            f"({max(inv.max_payout_sat, inv.max_payout_when_confirmed_sat)} sat)"
        )
    elif largest_unsettled_sat > inv.max_payout_sat:
        warn.append(f"a {largest_unsettled_sat} sat redemption waits for reserve coins to confirm")
    if books.surplus_sat >= 0 and books.surplus_sat < rules.warn_surplus_fraction * books.liabilities_sat:
        warn.append(f"surplus of {books.surplus_sat} sat is under {rules.warn_surplus_fraction:.0%} of liabilities")
    if inv.fragmentation > rules.warn_fragmentation:
        warn.append(f"{inv.small_utxo_count} of {inv.utxo_count} spendable coins are below {inv.small_utxo_sat} sat; "
                    "consolidate")
    if largest_unsettled_sat <= inv.max_payout_sat and largest_unsettled_sat > rules.warn_payout_pressure * inv.max_payout_sat:
        warn.append(f"max-input pressure: the largest pending payout needs over "
                    f"{rules.warn_payout_pressure:.0%} of what {inv.max_inputs} coins can pay")
    if critical:
        return Health(CRITICAL, tuple(critical + warn))
    return Health(WARN if warn else HEALTHY, tuple(warn))
