"""Coin selection as a reusable policy: which coins fund a spend, what it costs, what comes back.

Two rules, one engine:

- the mint's rule (:func:`mint_policy`): the smallest sufficient set (fewest coins), and of
  the sets of that size the one with the least change: the smallest total that either leaves
  no change (a leftover too small for change goes to the fee) or change of at least
  ``min_change`` and not dust; at most ``max_inputs`` coins; otherwise CannotFund with the
  reason, never a transaction that breaks the rule;
- the quorum's rule (:func:`quorum_policy`): seed the spend with the largest coin, then add
  coins as needed, so few inputs keep the fee under Coldcard's 5% "big fee" warning (which an
  HSM policy refuses); a fee at or above ``max_fee_fraction`` of what the transaction pays
  out (payment plus change, the device's own measure) is CannotFund.

The coins of one wallet cost the same to spend, so ranking by value ranks by effective value.
Only the ``max_inputs`` largest coins are ever sorted to find the smallest sufficient size
(a partial sort; prefix sums give the best k-coin total for every k at once). A set of k coins
is first completed greedily (the k-1 largest plus the smallest coin that completes them);
for the mint that set is then improved by a branch-and-bound search for the smallest k-coin
total above the threshold (see :func:`_least_k_total`), over only the coins that can belong to
a better set, so 100k coins take tens of milliseconds. The search is exact when it completes
within ``SEARCH_BUDGET`` steps, which bounds its time on adversarial wallets; past that it
keeps the best set found, never a worse one than the greedy set.
"""

from __future__ import annotations

import bisect
import heapq
import math
from dataclasses import dataclass
from itertools import accumulate
from typing import Sequence

from .errors import CannotFund
from .fees import (
    SEGWIT_MARKER_WEIGHT,
    TX_BASE,
    ScriptKind,
    compact_size_len,
    fee_for,
    output_size,
    vsize,
)


@dataclass(frozen=True, slots=True)
class Utxo:
    """A coin the wallet can spend, with where it sits on the wallet's descriptor."""

    txid: str  # hex, display byte order
    vout: int
    value: int  # sat
    script_pubkey: bytes = b""
    branch: int | None = None  # 0 receive, 1 change
    index: int | None = None
    prev_tx: bytes | None = None  # the full funding transaction, for PSBT_IN_NON_WITNESS_UTXO
    confirmations: int = 0

    @property
    def outpoint(self) -> str:
        return f"{self.txid}:{self.vout}"

    @classmethod
    def from_chain(cls, coin) -> Utxo:
        """A coin as the chain layer reports it (``backends.chain.Utxo``)."""
        return cls(coin.txid, coin.vout, coin.amount_sat, coin.script_pubkey, coin.branch,
                   coin.index, confirmations=coin.confirmations)


#: blocks before a coinbase output may be spent (consensus)
COINBASE_MATURITY = 100


def spendable_coins(chain_coins, *, min_confirmations: int = 1) -> list[Utxo]:
    """The chain's coins that may go into a spend: confirmed enough, and no coinbase
    output before it matures (a transaction spending one would be rejected)."""
    return [
        Utxo.from_chain(coin)
        for coin in chain_coins
        if coin.confirmations >= min_confirmations
        and not (coin.coinbase and coin.confirmations < COINBASE_MATURITY)
    ]


@dataclass(frozen=True)
class SelectionPolicy:
    """How to choose coins for one wallet. Build with :func:`mint_policy` or :func:`quorum_policy`."""

    name: str
    kind: ScriptKind  # the wallet's own script type: its inputs and its change output
    max_inputs: int
    min_change: int  # smallest change output worth creating (never below dust)
    seed_with_largest: bool
    max_fee_fraction: float | None = None  # fee / (amount + change) must stay below this
    max_absorbed: int | None = None  # leftover that may go to the fee instead of change

    @property
    def change_floor(self) -> int:
        return max(self.min_change, self.kind.dust_threshold)


def mint_policy(kind: ScriptKind, *, min_change: int = 1_000, max_inputs: int = 8) -> SelectionPolicy:
    """The mint's rule: smallest sufficient set with the least change, change >=
    ``min_change`` (and not dust) or none, at most ``max_inputs`` coins."""
    return SelectionPolicy("mint", kind, max_inputs, min_change, seed_with_largest=False)


def quorum_policy(
    kind: ScriptKind, *, max_fee_fraction: float = 0.05, max_inputs: int = 100
) -> SelectionPolicy:
    """The quorum's rule: largest coin first, fee below ``max_fee_fraction`` of the outputs."""
    return SelectionPolicy(
        "quorum", kind, max_inputs, 0, seed_with_largest=True, max_fee_fraction=max_fee_fraction
    )


@dataclass(frozen=True)
class Selection:
    """The chosen coins and the resulting fee and change."""

    coins: tuple[Utxo, ...]
    target: int
    fee: int
    change: int  # 0 when there is no change output
    absorbed: int  # leftover given to the fee because it was too small to be change
    fee_rate: float
    weight: int
    policy: str

    @property
    def total_in(self) -> int:
        return sum(c.value for c in self.coins)

    @property
    def vsize(self) -> int:
        return vsize(self.weight)

    @property
    def has_change(self) -> bool:
        return self.change > 0


class _Costs:
    """Fees of a spend as a function of its input count, in whole sat, never underestimated."""

    def __init__(self, target: int, fee_rate: float, policy: SelectionPolicy, payment_sizes: list[int]):
        self.target, self.fee_rate, self.policy = target, fee_rate, policy
        self.payment_sizes = payment_sizes
        self.input_fee = math.ceil(fee_rate * policy.kind.input_weight / 4)
        # rounding vsize up and the fee up can cost at most this much over the per-part sum
        self.margin = math.ceil(fee_rate * 0.75) + 1

    def _base_weight(self, n_inputs: int, n_outputs: int, output_bytes: int) -> int:
        header = TX_BASE + compact_size_len(n_inputs) + compact_size_len(n_outputs)
        return 4 * (header + output_bytes) + SEGWIT_MARKER_WEIGHT

    def need(self, k: int, with_change: bool) -> int:
        """Effective value ``k`` coins must reach (coins' own input fees already deducted)."""
        sizes = sum(self.payment_sizes) + (self.policy.kind.output_size if with_change else 0)
        n_out = len(self.payment_sizes) + int(with_change)
        base = self._base_weight(k, n_out, sizes)
        return self.target + math.ceil(self.fee_rate * base / 4) + self.margin

    def weight(self, k: int, with_change: bool) -> int:
        sizes = sum(self.payment_sizes) + (self.policy.kind.output_size if with_change else 0)
        n_out = len(self.payment_sizes) + int(with_change)
        return self._base_weight(k, n_out, sizes) + k * self.policy.kind.input_weight


def select_coins(
    utxos: Sequence[Utxo],
    target: int,
    fee_rate: float,
    policy: SelectionPolicy,
    *,
    payment_scripts: Sequence[bytes] | None = None,
    required: Sequence[Utxo] = (),
) -> Selection:
    """Choose coins paying ``target`` sat at ``fee_rate`` sat/vB under ``policy``.

    ``payment_scripts`` are the scriptPubKeys paid (their sizes set the fee); by default one
    output of the wallet's own type. ``required`` coins are spent whatever they are worth
    (a spend that must conflict with an earlier transaction), then the largest others as
    needed. Raises CannotFund with the reason when no set fits.
    """
    if target <= 0:
        raise CannotFund(f"the amount must be positive, got {target} sat")
    if not fee_rate > 0:
        raise CannotFund(f"the fee rate must be positive, got {fee_rate} sat/vB")
    sizes = (
        [output_size(s) for s in payment_scripts]
        if payment_scripts is not None
        else [policy.kind.output_size]
    )
    costs = _Costs(target, fee_rate, policy, sizes)
    if required:
        return _with_required(list(required), utxos, costs)
    values = [u.value for u in utxos]
    indexes = _search(values, costs)
    return _finish([utxos[i] for i in indexes], costs)


def _search(values: list[int], costs: _Costs) -> list[int]:
    """Indexes of the chosen coins, largest first."""
    policy, fee = costs.policy, costs.input_fee
    # The only coins that can be "the k-1 largest" are among the max_inputs largest, so a
    # partial sort of those replaces a sort of every coin.
    top = [v for v in heapq.nlargest(policy.max_inputs, values) if v > fee]
    if not top:
        raise CannotFund(
            f"none of the wallet's {len(values)} coins is worth spending at {costs.fee_rate:g} "
            f"sat/vB (each input costs {fee} sat)",
            hint="wait for a lower fee rate or receive more funds",
        )
    best = list(accumulate(top, initial=0))  # best[k]: value of the k largest coins

    def need(k: int, with_change: bool) -> int:  # value k coins must hold, their fees included
        return costs.need(k, with_change) + k * fee

    limit = len(top)
    if best[limit] < need(limit, False):
        raise _not_enough(values, costs, limit, best[limit], need)
    change_cost = costs.need(1, True) - costs.need(1, False)
    absorb_limit = (
        policy.max_absorbed if policy.max_absorbed is not None else policy.change_floor + change_cost
    )
    first_k = next(k for k in range(1, limit + 1) if best[k] >= need(k, False))
    for k in range(first_k, limit + 1):
        fixed = best[k - 1]
        need0, need1 = need(k, False) - fixed, need(k, True) - fixed
        coin = _smallest_completion(values, top, k, need0, costs)
        if coin is not None and not (
            coin - need1 >= policy.change_floor or coin - need0 <= absorb_limit
        ):
            coin = _smallest_completion(values, top, k, need1 + policy.change_floor, costs)
        if coin is not None:
            chosen = _indexes_of(values, top[: k - 1], coin)
            if policy.seed_with_largest or k == 1:  # one coin: the smallest that does is least change
                return chosen
            return _least_change(values, top, k, chosen, need0 + fixed, need1 + fixed, absorb_limit, costs)
        if not policy.seed_with_largest:
            found = _least_change(values, top, k, None, need0 + fixed, need1 + fixed, absorb_limit, costs)
            if found is not None:
                return found
    raise CannotFund(
        f"no set of at most {policy.max_inputs} coins pays {costs.target} sat with either no "
        f"change or change of at least {policy.change_floor} sat",
        hint="lower min_change, change the amount, or consolidate",
    )


def _smallest_completion(
    values: list[int], top: list[int], k: int, at_least: int, costs: _Costs
) -> int | None:
    """Value of the smallest coin outside the k-1 largest that is worth at least ``at_least``."""
    at_least = max(at_least, costs.input_fee + 1)
    if k == 1 and costs.policy.seed_with_largest:
        return top[0] if top[0] >= at_least else None
    candidates = [v for v in values if v >= at_least]
    if not candidates:
        return None
    coin = min(candidates)
    if k >= 2 and coin >= top[k - 2]:
        # every candidate ties with the fixed coins; the k-th largest is the only one left
        return top[k - 1] if len(top) >= k and top[k - 1] >= at_least else None
    return coin


def _indexes_of(values: list[int], fixed: list[int], coin: int) -> list[int]:
    """Indexes of the coins holding ``fixed`` (the largest) and ``coin``; ties go to the first."""
    chosen: list[int] = []
    if fixed:
        floor = fixed[-1]
        candidates = [i for i, v in enumerate(values) if v >= floor]
        candidates.sort(key=lambda i: (-values[i], i))
        chosen = candidates[: len(fixed)]
    used, start = set(chosen), 0
    while True:
        i = values.index(coin, start)
        if i not in used:
            return chosen + [i]
        start = i + 1


#: branch-and-bound steps per search; past it the best set found so far is used
SEARCH_BUDGET = 20_000


def _least_change(
    values: list[int], top: list[int], k: int, greedy: list[int] | None, need0: int, need1: int,
    absorb_limit: int, costs: _Costs,
) -> list[int] | None:
    """Indexes of the k coins with the smallest total the rule accepts: a total in
    ``[need0, need0 + absorb_limit]`` (no change) or at least ``need1 + change_floor``."""
    incumbent = sum(values[i] for i in greedy) if greedy is not None else None
    floor_with_change = need1 + costs.policy.change_floor
    for threshold in (need0, floor_with_change):
        found = _least_k_total(values, sum(top[: k - 1]), k, threshold, incumbent, costs.input_fee)
        if found is None:
            continue
        total, chosen = found
        if total <= need0 + absorb_limit or total >= floor_with_change:
            return _indexes_of_values(values, chosen)
    return greedy


def _least_k_total(
    values: list[int], largest_others: int, k: int, threshold: int, incumbent: int | None, input_fee: int
) -> tuple[int, list[int]] | None:
    """The smallest total of k coins that is at least ``threshold``, with its values.

    Only coins that can be in such a set are searched: each is at least ``threshold`` minus
    the k-1 largest coins (``largest_others``), and (with an incumbent total) at most the
    incumbent minus the k-1 smallest. The search picks coins largest first, cuts a branch whose largest reachable
    total is short or whose smallest reachable total is no better, skips equal values at the
    same depth, and finds the last coin by bisection.
    """
    low = max(threshold - largest_others, input_fee + 1)
    if incumbent is not None:
        high = incumbent - (k - 1) * low  # the other k-1 coins hold at least low each
        pool = [v for v in values if low <= v <= high]
        if len(pool) >= k:
            high = incumbent - sum(heapq.nsmallest(k - 1, pool))
            pool = [v for v in pool if v <= high]
    else:
        pool = [v for v in values if v >= low]
    if len(pool) < k:
        return None
    desc = sorted(pool, reverse=True)
    neg = [-v for v in desc]  # ascending, for bisect
    prefix = list(accumulate(desc, initial=0))
    n = len(desc)
    smallest = [sum(desc[n - r:]) if r else 0 for r in range(k + 1)]
    best_total = incumbent + 1 if incumbent is not None else None
    best: list[int] | None = None
    steps = SEARCH_BUDGET

    def search(start: int, remaining: int, total: int, chosen: list[int]) -> None:
        nonlocal best_total, best, steps
        if remaining == 1:
            last = bisect.bisect_right(neg, -(threshold - total)) - 1  # smallest value >= the rest
            if last >= start and (best_total is None or total + desc[last] < best_total):
                best_total, best = total + desc[last], chosen + [desc[last]]
            return
        for i in range(start, n - remaining + 1):
            if steps <= 0 or best_total == threshold:
                return
            v = desc[i]
            if i > start and v == desc[i - 1]:
                continue
            if total + prefix[i + remaining] - prefix[i] < threshold:
                return  # even the largest coins from here on fall short
            if best_total is not None and total + v + smallest[remaining - 1] >= best_total:
                continue
            steps -= 1
            search(i + 1, remaining - 1, total + v, chosen + [v])

    search(0, k, 0, [])
    return (best_total, best) if best is not None else None


def _indexes_of_values(values: list[int], chosen: list[int]) -> list[int]:
    """Indexes holding the multiset ``chosen``, largest first; ties go to the first coin."""
    found: list[int] = []
    next_start: dict[int, int] = {}
    for v in chosen:  # list.index scans at C speed; a handful of scans beats a Python loop
        i = values.index(v, next_start.get(v, 0))
        next_start[v] = i + 1
        found.append(i)
    return sorted(found, key=lambda i: (-values[i], i))


def _not_enough(values: list[int], costs: _Costs, limit: int, best: int, need) -> CannotFund:
    spendable = [v for v in values if v > costs.input_fee]
    total = sum(spendable)
    if len(spendable) <= limit or total < need(len(spendable), False):
        return CannotFund(
            f"the wallet's {len(spendable)} spendable coins hold {total} sat; paying "
            f"{costs.target} sat at {costs.fee_rate:g} sat/vB needs "
            f"{need(len(spendable), False)} sat with all of them",
            hint="receive more funds or lower the amount",
        )
    return CannotFund(
        f"paying {costs.target} sat needs more than {costs.policy.max_inputs} coins under the "
        f"{costs.policy.name} policy; its {limit} largest coins hold {best} sat",
        hint="consolidate small coins first or raise max_inputs",
    )


def _with_required(required: list[Utxo], utxos: Sequence[Utxo], costs: _Costs) -> Selection:
    """The ``required`` coins, then the largest of the others until the spend is paid."""
    fee = costs.input_fee
    taken = {c.outpoint for c in required}
    others = iter(sorted((u for u in utxos if u.outpoint not in taken and u.value > fee), key=lambda u: -u.value))
    chosen, total = list(required), sum(c.value for c in required)
    while total < costs.need(len(chosen), False) + len(chosen) * fee:
        coin = next(others, None)
        if coin is None:
            raise CannotFund(
                f"the {len(required)} coin(s) this spend must reuse and the wallet's other coins hold "
                f"{total} sat; paying {costs.target} sat needs {costs.need(len(chosen), False) + len(chosen) * fee}",
                hint="receive more funds or lower the amount")
        chosen.append(coin)
        total += coin.value
    if len(chosen) > costs.policy.max_inputs:
        raise CannotFund(
            f"paying {costs.target} sat with the {len(required)} coin(s) this spend must reuse takes "
            f"{len(chosen)} coins, more than the {costs.policy.name} policy's {costs.policy.max_inputs}",
            hint="consolidate small coins first or raise max_inputs")
    return _finish(chosen, costs)


def _finish(coins: list[Utxo], costs: _Costs) -> Selection:
    policy = costs.policy
    total, k = sum(c.value for c in coins), len(coins)
    weight_change = costs.weight(k, True)
    change = total - costs.target - fee_for(weight_change, costs.fee_rate)
    if change >= policy.change_floor:
        fee, absorbed, weight = total - costs.target - change, 0, weight_change
    else:
        weight = costs.weight(k, False)
        change, fee = 0, total - costs.target
        absorbed = fee - fee_for(weight, costs.fee_rate)
    paid_out = costs.target + change
    if policy.max_fee_fraction is not None and fee >= policy.max_fee_fraction * paid_out:
        # Coldcard's measure: fee against every output, change included (its "Big Fee" warning)
        raise CannotFund(
            f"the fee of {fee} sat would be {100 * fee / paid_out:.1f}% of the {paid_out} sat "
            f"paid out (limit {100 * policy.max_fee_fraction:g}%: Coldcard warns from 5% and an HSM "
            "policy refuses warnings)",
            hint="send a larger amount, wait for a lower fee rate, or consolidate coins",
        )
    return Selection(tuple(coins), costs.target, fee, change, absorbed, costs.fee_rate, weight, policy.name)
