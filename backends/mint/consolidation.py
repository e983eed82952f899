"""Consolidation: merge the reserve's small coins into one, as a dry-run plan, then for real.

The plan takes the spendable small coins (below ``small_utxo_sat``) that are worth spending
at the fee rate (each holds more than its input costs), smallest first, at most
``max_consolidation_inputs`` of them, into one output on the reserve's change branch. Its
``estimated_post_action`` says what the reserve looks like after: coin count, small coins,
fragmentation, value and the fee paid. Executing re-plans, signs with the reserve signer,
records the transaction and locks its coins *before* broadcasting (``spends``), so a crash
never spends a coin twice and a lost broadcast is resent as the same bytes.
"""

from __future__ import annotations

import heapq
import math
import secrets
from dataclasses import dataclass
from typing import Any

from . import spends
from .errors import RedemptionError
from .ledger import Ledger
from .redemptions import Reserve
from .reserves import inventory, is_ready

MAX_CONSOLIDATION_INPUTS = 200  # keeps the transaction far below the standard weight limit


@dataclass(frozen=True)
class ConsolidationPlan:
    inputs: tuple[str, ...]  # outpoints, smallest coin first
    input_sat: int
    fee_sat: int
    output_sat: int
    fee_rate: float
    reason: str | None  # why there is nothing to do, when inputs is empty
    estimated_post_action: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": len(self.inputs), "outpoints": list(self.inputs), "input_sat": self.input_sat,
                "fee_sat": self.fee_sat, "output_sat": self.output_sat, "fee_rate": self.fee_rate,
                "reason": self.reason, "estimated_post_action": self.estimated_post_action}


def plan(ledger: Ledger, reserve: Reserve, *, max_inputs: int = MAX_CONSOLIDATION_INPUTS,
         small_utxo_sat: int | None = None) -> tuple[ConsolidationPlan, list]:
    """The dry run, and the coins it would spend (``backends.wallet.Utxo``)."""
    from backends.wallet import Utxo, fee_for, tx_weight

    kind = reserve.policy.kind
    coins = reserve.chain.utxos(reserve.descriptor_text)
    inv = inventory(ledger, reserve, small_utxo_sat=small_utxo_sat, coins=coins)
    fee_rate = reserve.fee_rate()
    input_fee = math.ceil(fee_rate * kind.input_weight / 4)
    locked = spends.locked_outpoints(ledger)
    small = [c for c in coins
             if input_fee < c.amount_sat < inv.small_utxo_sat and is_ready(c)
             and not (locked and f"{c.txid}:{c.vout}" in locked)]
    chosen = [Utxo.from_chain(c) for c in heapq.nsmallest(max_inputs, small, key=lambda c: (c.amount_sat, c.txid, c.vout))]
    fee = fee_for(tx_weight([kind.input_weight] * len(chosen), [kind.output_size]), fee_rate) if chosen else 0
    total = sum(c.value for c in chosen)
    reason = None
    if len(chosen) < 2:
        reason = f"{len(chosen)} small coin(s) worth spending at {fee_rate:g} sat/vB; nothing to consolidate"
    elif total - fee < kind.dust_threshold:
        reason = "the small coins would not pay their own fee"
    if reason:
        chosen, total, fee = [], 0, 0
    output = total - fee
    after_count = inv.utxo_count - len(chosen) + (1 if chosen else 0)
    after_small = inv.small_utxo_count - len(chosen) + (1 if chosen and output < inv.small_utxo_sat else 0)
    post = {
        "utxo_count": after_count,
        "utxo_value_sat": inv.utxo_value_sat - fee,
        "small_utxo_count": after_small,
        "fragmentation": round(after_small / after_count, 4) if after_count else 0.0,
        "fee_sat": fee,
        "utxo_count_before": inv.utxo_count,
        "fragmentation_before": round(inv.fragmentation, 4),
    }
    return ConsolidationPlan(tuple(c.outpoint for c in chosen), total, fee, output, fee_rate, reason, post), chosen


@dataclass(frozen=True)
class Consolidation:
    consolidation_id: str
    status: str
    reason: str | None
    requested_by: str
    inputs: int
    input_sat: int
    fee_sat: int
    txid: str
    finalized_height: int | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_COLUMNS = "consolidation_id, status, reason, requested_by, inputs, input_sat, fee_sat, txid, finalized_height"


def get_consolidation(ledger: Ledger, consolidation_id: str) -> Consolidation:
    rows = ledger.read(f"SELECT {_COLUMNS} FROM consolidations WHERE consolidation_id=?", (consolidation_id,))
    if not rows:
        raise RedemptionError(f"no consolidation has id {consolidation_id[:70]!r}")
    return Consolidation(*rows[0])


def list_consolidations(ledger: Ledger) -> list[Consolidation]:
    return [Consolidation(*r) for r in ledger.read(f"SELECT {_COLUMNS} FROM consolidations ORDER BY created_at")]


def execute(ledger: Ledger, reserve: Reserve, operator: str, *, now: float,
            max_inputs: int = MAX_CONSOLIDATION_INPUTS) -> Consolidation:
    """Plan again, sign, record with its coins locked, then broadcast."""
    from embit.transaction import Transaction

    from backends.wallet import create_psbt, extract, finalize

    dry_run, coins = plan(ledger, reserve, max_inputs=max_inputs)
    if not coins:
        raise RedemptionError(f"nothing to consolidate: {dry_run.reason}")
    consolidation_id = secrets.token_hex(16)
    with ledger.transaction() as db:
        change_index = ledger.next_counter(db, "next_change_index")
    psbt = create_psbt(reserve.descriptor, coins, [], change_amount=dry_run.output_sat, change_index=change_index)
    reserve.sign(psbt)
    raw_tx = extract(finalize(psbt))
    txid = Transaction.parse(raw_tx).txid().hex()
    with ledger.transaction() as db:
        spends.lock_inputs(db, consolidation_id, list(dry_run.inputs), "plan the consolidation")
        db.execute(
            "INSERT INTO consolidations(consolidation_id, status, requested_by, inputs, input_sat, fee_sat, txid, "
            "raw_tx, created_at, updated_at) VALUES (?, 'approved', ?, ?, ?, ?, ?, ?, ?, ?)",
            (consolidation_id, operator, len(coins), dry_run.input_sat, dry_run.fee_sat, txid, raw_tx, now, now),
        )
    spends.broadcast(ledger, reserve.chain, spends.RecordedSpend("consolidations", consolidation_id, "approved",
                                                                 txid, raw_tx), now=now)
    return get_consolidation(ledger, consolidation_id)


def refresh_consolidations(ledger: Ledger, chain, depth_required: int, *, now: float,
                           reserve_descriptor: str) -> list[Consolidation]:
    def double_spent(spend: spends.RecordedSpend, reason: str) -> None:
        with ledger.transaction() as db:
            spends.release(db, spend.spend_id)
            db.execute("UPDATE consolidations SET status='replaced', reason=?, updated_at=? WHERE consolidation_id=?",
                       (reason, now, spend.spend_id))

    changed = spends.settle(ledger, chain, depth_required, "consolidations", now=now,
                            reserve_descriptor=reserve_descriptor, on_double_spend=double_spent)
    return [get_consolidation(ledger, c) for c in changed]
