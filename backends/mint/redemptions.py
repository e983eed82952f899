"""Redemptions: notes burned for an on-chain payout from the reserve.

    create ──> pending ──(operator approves, funded, signed, recorded)──> approved
                 │  ^                                                      │ broadcast
                 │  └── unfundable: stays pending with the reason          v
                 └──(operator rejects: notes restored)──> rejected     broadcast ──(depth)──> finalized

The signed transaction and its inputs are recorded (``approved``, inputs locked) *before*
it is broadcast. A process killed between broadcast and recording it therefore finds the
transaction at restart (:func:`refresh_redemptions`) and rebroadcasts the very same bytes
if the chain lost it: the reserve coins it spends are never put into a second transaction.
The payout is the notes' value; the network fee is paid by the reserve (it shows in the
mint's accounting as a cost against its surplus).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from backends.errors import CustodyError

from .errors import RedemptionError
from .keysets import Keyset
from .ledger import Ledger
from . import spends
from .notes import Note, check_notes, record_spent
from .spends import SPEND_TABLES, RecordedSpend, lock_inputs, locked_outpoints

_COLUMNS = ("redemption_id, address, script_pubkey, amount_sat, status, reason, created_at, updated_at, "
            "approved_by, txid, raw_tx, fee_sat, finalized_height")


@dataclass(frozen=True)
class Redemption:
    redemption_id: str
    address: str
    script_pubkey: bytes
    amount_sat: int
    status: str
    reason: str | None
    created_at: float
    updated_at: float
    approved_by: str | None
    txid: str | None
    raw_tx: bytes | None
    fee_sat: int | None
    finalized_height: int | None

    def to_dict(self, *, depth_required: int, depth: int | None = None) -> dict[str, Any]:
        return {
            "batch_id": self.redemption_id,
            "redeem_address": self.address,
            "amount_sat": self.amount_sat,
            "status": self.status,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "txid": self.txid,
            "fee_sat": self.fee_sat,
            "finalization_depth_required": depth_required,
            "finalization_depth": depth,
            "finalized_height": self.finalized_height,
        }


@dataclass(frozen=True)
class InFlight:
    """Reserve spends recorded but not final (the seed's ``pending_spend_*`` counts)."""

    pending_spend_commitment_count: int  # redemption transactions approved or broadcast
    pending_spend_input_count: int  # reserve coins those transactions spend


def get_redemption(ledger: Ledger, redemption_id: str) -> Redemption:
    rows = ledger.read(f"SELECT {_COLUMNS} FROM redemptions WHERE redemption_id=?", (str(redemption_id),))
    if not rows:
        raise RedemptionError(f"no redemption has id {str(redemption_id)[:70]!r}")
    return Redemption(*rows[0])


def list_redemptions(ledger: Ledger, status: str | None = None) -> list[Redemption]:
    where, params = ("WHERE status=?", (status,)) if status else ("", ())
    rows = ledger.read(f"SELECT {_COLUMNS} FROM redemptions {where} ORDER BY created_at, redemption_id", params)
    return [Redemption(*r) for r in rows]


def in_flight(ledger: Ledger) -> InFlight:
    """Payouts and consolidations recorded or broadcast but not final, and the coins they hold."""
    commitments = sum(
        ledger.read(f"SELECT COUNT(*) FROM {table} WHERE status IN ('approved', 'broadcast')")[0][0]
        for table in SPEND_TABLES
    )
    inputs = ledger.read("SELECT COUNT(*) FROM reserve_locks")[0][0]
    return InFlight(commitments, inputs)


def create_redemption(
    ledger: Ledger, notes: Iterable[Note], address: Any, network: str, keysets: Mapping[str, Keyset], *, now: float
) -> Redemption:
    """Burn ``notes`` and queue their value for payout to ``address``, in one transaction."""
    from backends.wallet import dust_threshold, parse_address

    if not isinstance(address, str) or not 0 < len(address) <= 120:
        raise RedemptionError("the redeem address must be a bitcoin address")
    try:
        script_pubkey = parse_address(address, network)
    except CustodyError as exc:
        raise RedemptionError(f"redeem address refused: {exc}", hint=exc.hint) from None
    notes = check_notes(notes, keysets)
    amount = sum(n.amount_sat for n in notes)
    if amount < dust_threshold(script_pubkey):
        raise RedemptionError(f"{amount} sat is below the dust limit for {address}; redeem more notes at once")
    redemption_id = secrets.token_hex(16)
    with ledger.transaction() as db:
        db.execute(
            "INSERT INTO redemptions(redemption_id, address, script_pubkey, amount_sat, status, created_at, updated_at) "
            "VALUES (?,?,?,?, 'pending', ?, ?)",
            (redemption_id, address, script_pubkey, amount, now, now),
        )
        record_spent(db, notes, now, redemption_id)
    return get_redemption(ledger, redemption_id)


def reject_redemption(ledger: Ledger, redemption_id: str, operator: str, reason: str, *, now: float) -> Redemption:
    """Refuse a pending redemption and give its notes back (they become spendable again)."""
    if not isinstance(reason, str) or not reason.strip():
        raise RedemptionError("a rejection needs a reason the user and the other operators can read")
    with ledger.transaction() as db:
        redemption = get_redemption(ledger, redemption_id)
        if redemption.status != "pending":
            raise RedemptionError(
                f"redemption {redemption_id[:16]} is {redemption.status}; only a pending one can be rejected"
            )
        db.execute("DELETE FROM spent_notes WHERE redemption_id=?", (redemption_id,))
        db.execute(
            "UPDATE redemptions SET status='rejected', reason=?, approved_by=?, updated_at=? WHERE redemption_id=?",
            (f"rejected by {operator}: {reason}", operator, now, redemption_id),
        )
    return get_redemption(ledger, redemption_id)


@dataclass(frozen=True)
class Reserve:
    """The reserve wallet: its descriptor (``backends.wallet.Descriptor``), the chain that
    watches it, the signer of its spends, and the coin-selection policy and fee rate."""

    descriptor: Any
    descriptor_text: str
    chain: Any
    sign: Callable[[Any], None]  # adds every input's signature to a PSBT, in place
    policy: Any
    fee_rate: Callable[[], float]

    def spendable(self, locked: set[str]) -> list:
        from backends.wallet import spendable_coins

        coins = spendable_coins(self.chain.utxos(self.descriptor_text), min_confirmations=1)
        return [c for c in coins if c.outpoint not in locked]


def approve_and_broadcast(
    ledger: Ledger, redemption_id: str, operator: str, reserve: Reserve, *, now: float
) -> Redemption:
    """Approve a pending redemption, fund, sign, record, then broadcast its payout.

    Unfundable: it stays pending with the reason, approved by ``operator``, and a later
    approval (or :func:`retry_funding`) tries again.
    """
    redemption = get_redemption(ledger, redemption_id)
    if redemption.status == "approved" and redemption.txid is None:
        raise RedemptionError(f"redemption {redemption_id[:16]} is being paid through the signer quorum",
                              hint="`mint refresh` settles it with the quorum's ledger")
    if redemption.status == "approved":  # signed and recorded earlier; finish the broadcast
        return _broadcast(ledger, reserve.chain, redemption, now=now)
    if redemption.status != "pending":
        raise RedemptionError(f"redemption {redemption_id[:16]} is {redemption.status}, not pending")
    with ledger.transaction() as db:
        db.execute("UPDATE redemptions SET approved_by=?, updated_at=? WHERE redemption_id=? AND status='pending'",
                   (operator, now, redemption_id))
    return retry_funding(ledger, redemption_id, reserve, now=now)


def retry_funding(ledger: Ledger, redemption_id: str, reserve: Reserve, *, now: float) -> Redemption:
    """Fund an approved pending redemption now, or record why it cannot be funded."""
    from backends.wallet import CannotFund

    redemption = get_redemption(ledger, redemption_id)
    if redemption.status != "pending" or redemption.approved_by is None:
        raise RedemptionError(f"redemption {redemption_id[:16]} is not an approved pending redemption")
    try:
        raw_tx, txid, fee, inputs = _build_payout(ledger, redemption, reserve)
    except CannotFund as exc:
        with ledger.transaction() as db:
            db.execute("UPDATE redemptions SET reason=?, updated_at=? WHERE redemption_id=?",
                       (f"cannot fund: {exc}", now, redemption_id))
        return get_redemption(ledger, redemption_id)
    with ledger.transaction() as db:
        if get_redemption(ledger, redemption_id).status != "pending":
            raise RedemptionError(f"redemption {redemption_id[:16]} changed while it was being funded")
        lock_inputs(db, redemption_id, inputs, "approve")
        db.execute(
            "UPDATE redemptions SET status='approved', reason=NULL, txid=?, raw_tx=?, fee_sat=?, updated_at=? "
            "WHERE redemption_id=?",
            (txid, raw_tx, fee, now, redemption_id),
        )
    return _broadcast(ledger, reserve.chain, get_redemption(ledger, redemption_id), now=now)


def _build_payout(ledger: Ledger, redemption: Redemption, reserve: Reserve) -> tuple[bytes, str, int, list[str]]:
    from embit.transaction import Transaction

    from backends.wallet import Payment, create_psbt, extract, finalize, select_coins

    coins = reserve.spendable(locked_outpoints(ledger))
    selection = select_coins(coins, redemption.amount_sat, reserve.fee_rate(), reserve.policy,
                             payment_scripts=[redemption.script_pubkey])
    change_index = None
    if selection.change:
        with ledger.transaction() as db:  # a fresh change address per payout, never reused
            change_index = ledger.next_counter(db, "next_change_index")
    psbt = create_psbt(reserve.descriptor, selection.coins, [Payment(redemption.script_pubkey, redemption.amount_sat)],
                       change_amount=selection.change, change_index=change_index)
    reserve.sign(psbt)
    raw_tx = extract(finalize(psbt))
    txid = Transaction.parse(raw_tx).txid().hex()
    return raw_tx, txid, selection.fee, [c.outpoint for c in selection.coins]


def _broadcast(ledger: Ledger, chain, redemption: Redemption, *, now: float) -> Redemption:
    spends.broadcast(ledger, chain, _as_spend(redemption), now=now)
    return get_redemption(ledger, redemption.redemption_id)


def _as_spend(redemption: Redemption) -> RecordedSpend:
    return RecordedSpend("redemptions", redemption.redemption_id, redemption.status, redemption.txid,
                         redemption.raw_tx)


def _back_to_pending(ledger: Ledger, redemption: Redemption, reason: str, *, now: float) -> Redemption:
    """The transaction can never confirm (an input was spent elsewhere): its other coins are
    free again and the redemption waits for funding anew, its notes still burned."""
    with ledger.transaction() as db:
        spends.release(db, redemption.redemption_id)
        db.execute(
            "UPDATE redemptions SET status='pending', reason=?, txid=NULL, raw_tx=NULL, fee_sat=NULL, updated_at=? "
            "WHERE redemption_id=?",
            (reason, now, redemption.redemption_id),
        )
    return get_redemption(ledger, redemption.redemption_id)


def refresh_redemptions(ledger: Ledger, chain, depth_required: int, *, now: float,
                        reserve_descriptor: str) -> list[Redemption]:
    """Bring recorded payouts up to date with the chain (run at start and on each poll):
    approved ones the chain already has become broadcast (a crash after broadcasting), those it
    lost are rebroadcast as the same bytes, deep enough ones become finalized, ones whose
    double spend is final wait for funding anew (a conflict not yet final keeps the payout as
    it is, with the reason; see ``spends``)."""
    def double_spent(spend: RecordedSpend, reason: str) -> None:
        _back_to_pending(ledger, get_redemption(ledger, spend.spend_id), reason, now=now)

    changed = spends.settle(ledger, chain, depth_required, "redemptions", now=now,
                            reserve_descriptor=reserve_descriptor, on_double_spend=double_spent)
    return [get_redemption(ledger, spend_id) for spend_id in changed]
