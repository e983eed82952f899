"""Reserve spends recorded before they are broadcast: the one crash-safe path of every payout
and consolidation.

A spend is a row (in ``redemptions`` or ``consolidations``) holding its signed transaction,
plus a lock on each reserve coin it spends. The row and the locks are written in one
transaction *before* the broadcast; the broadcast is recorded after. Whatever point a
crash hits, :func:`settle` finds the spend at restart: the chain has it (record it), lost
it (send the very same bytes again), buried it deep enough (finalized, locks released), or
saw it double-spent (the only case where its coins may go into another transaction).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable

from backends.chain.errors import ChainError

from .errors import RedemptionError
from .ledger import Ledger

#: the tables holding spends, and their id columns (names are constants, never input)
SPEND_TABLES = {"redemptions": "redemption_id", "consolidations": "consolidation_id"}


@dataclass(frozen=True)
class RecordedSpend:
    table: str
    spend_id: str
    status: str  # approved (recorded, not yet broadcast) | broadcast
    txid: str
    raw_tx: bytes


def locked_outpoints(ledger: Ledger) -> set[str]:
    return {row[0] for row in ledger.read("SELECT outpoint FROM reserve_locks")}


def lock_inputs(db: sqlite3.Connection, holder_id: str, inputs: list[str], what: str) -> None:
    """Lock ``inputs`` for ``holder_id`` inside the caller's transaction, or refuse if any is taken."""
    marks = ",".join("?" * len(inputs))
    if db.execute(f"SELECT outpoint FROM reserve_locks WHERE outpoint IN ({marks})", inputs).fetchall():
        raise RedemptionError(f"another reserve spend took the same coins meanwhile; {what} again")
    db.executemany("INSERT INTO reserve_locks(outpoint, holder_id) VALUES (?, ?)",
                   [(outpoint, holder_id) for outpoint in inputs])


def _key(table: str) -> str:
    return SPEND_TABLES[table]


def broadcast(ledger: Ledger, chain, spend: RecordedSpend, *, now: float) -> bool:
    """Send the recorded bytes; True when the chain has them (then recorded as broadcast).

    A refused broadcast keeps the transaction and its locks, with the reason: the same bytes
    may still be in other nodes' mempools, so only a double-spent transaction is ever
    replaced. The next :func:`settle` tries the same bytes again.
    """
    key = _key(spend.table)
    try:
        chain.broadcast(spend.raw_tx)
    except ChainError as exc:
        if chain.tx_status(spend.txid).state not in ("mempool", "confirmed"):
            with ledger.transaction() as db:
                db.execute(f"UPDATE {spend.table} SET reason=?, updated_at=? WHERE {key}=?",
                           (f"broadcast refused, will retry the same transaction: {exc}", now, spend.spend_id))
            return False
    with ledger.transaction() as db:
        db.execute(f"UPDATE {spend.table} SET status='broadcast', reason=NULL, updated_at=? "
                   f"WHERE {key}=? AND status IN ('approved', 'broadcast')", (now, spend.spend_id))
    return True


def foreign_spends(ledger: Ledger, chain, reserve_descriptor: str) -> list:
    """Transactions spending reserve coins that are none of the mint's recorded spends
    (``HistoryEntry`` rows: whatever conflicts with a mint spend is among them)."""
    ours = {row[0] for table in SPEND_TABLES
            for row in ledger.read(f"SELECT txid FROM {table} WHERE txid IS NOT NULL")}
    return [e for e in chain.history(reserve_descriptor) if e.sent_sat > 0 and e.txid not in ours]


def conflict_not_final(foreign: list, depth_required: int) -> str | None:
    """Why a conflicted spend must keep waiting, or None when its conflict is final."""
    shallow = sorted((e for e in foreign if e.confirmations < depth_required), key=lambda e: e.confirmations)
    if not foreign:
        return ("its transaction is reported conflicted, but no other transaction spending the reserve's "
                "coins is visible yet; waiting before funding it again")
    if not shallow:
        return None
    names = ", ".join(f"{e.txid} ({e.confirmations} of {depth_required} confirmations)" for e in shallow[:3])
    return (f"its transaction conflicts with {names}; it is funded again only once that is "
            f"{depth_required} blocks deep (until then it may still confirm)")


def settle(
    ledger: Ledger, chain, depth_required: int, table: str, *, now: float, reserve_descriptor: str,
    on_double_spend: Callable[[RecordedSpend, str], None],
) -> list[str]:
    """Bring the recorded spends of ``table`` up to date with the chain; the ids that changed
    (a conflicted spend still waiting counts as changed when its reason does)."""
    key = _key(table)
    # an approved row without a transaction is a payout the signer quorum is still signing
    # (``quorum_payouts`` settles it); there is nothing of the mint's own to send yet
    rows = ledger.read(f"SELECT {key}, status, txid, raw_tx, reason FROM {table} "
                       f"WHERE status IN ('approved', 'broadcast') AND txid IS NOT NULL ORDER BY created_at, {key}")
    changed = []
    foreign = None
    for spend_id, status, txid, raw_tx, reason in rows:
        spend = RecordedSpend(table, spend_id, status, txid, bytes(raw_tx))
        state = chain.tx_status(txid)
        if state.state == "conflicted":
            foreign = foreign_spends(ledger, chain, reserve_descriptor) if foreign is None else foreign
            waiting = conflict_not_final(foreign, depth_required)
            if waiting is None:
                final = [e.txid for e in foreign]
                on_double_spend(spend, "its transaction was double-spent by " + ", ".join(final[:3]))
            elif waiting != reason:
                with ledger.transaction() as db:
                    db.execute(f"UPDATE {table} SET reason=?, updated_at=? WHERE {key}=?", (waiting, now, spend_id))
            else:
                continue
        elif state.state == "confirmed" and state.confirmations >= depth_required:
            height = chain.tip().height - state.confirmations + 1
            with ledger.transaction() as db:
                db.execute("DELETE FROM reserve_locks WHERE holder_id=?", (spend_id,))
                db.execute(f"UPDATE {table} SET status='finalized', finalized_height=?, updated_at=? WHERE {key}=?",
                           (height, now, spend_id))
        elif state.state in ("mempool", "confirmed") and (status == "approved" or reason):
            # found (after a crash), or back after a conflict that did not last: no reason left
            with ledger.transaction() as db:
                db.execute(f"UPDATE {table} SET status='broadcast', reason=NULL, updated_at=? WHERE {key}=?",
                           (now, spend_id))
        elif state.state == "unknown":
            if not broadcast(ledger, chain, spend, now=now) or status == "broadcast":
                continue
        else:
            continue
        changed.append(spend_id)
    return changed


def release(db: sqlite3.Connection, holder_id: str) -> None:
    db.execute("DELETE FROM reserve_locks WHERE holder_id=?", (holder_id,))
