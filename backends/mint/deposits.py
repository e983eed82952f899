"""Deposits into the reserve: registered by outpoint, credited only at the required depth.

A deposit's reference is a hash of its outpoint and the mint's id, so the same deposit
always gets the same reference (registering twice is harmless) and a reference made for
another mint is never valid here. Registration checks the outpoint pays the reserve
wallet; crediting waits until the chain reports ``finalization_depth`` confirmations.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from backends.chain.interface import require_txid
from backends.errors import CustodyError

from .errors import DepositError
from .ledger import Ledger
from .spends import SPEND_TABLES

DEPOSIT_DOMAIN = b"custody-tui/mint/deposit/v1\x00"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_COLUMNS = ("reference, txid, vout, amount_sat, status, registered_at, credited_at, "
            "credited_height, issued_sat")


def deposit_reference(txid: str, vout: int, mint_id: str) -> str:
    """SHA-256 over a domain tag, the txid (display order), vout (u32 LE) and the mint id."""
    return hashlib.sha256(
        DEPOSIT_DOMAIN + bytes.fromhex(txid) + vout.to_bytes(4, "little") + bytes.fromhex(mint_id)
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class Deposit:
    reference: str
    txid: str
    vout: int
    amount_sat: int
    status: str  # registered | credited | conflicted
    registered_at: float
    credited_at: float | None
    credited_height: int | None
    issued_sat: int

    @property
    def outpoint(self) -> str:
        return f"{self.txid}:{self.vout}"

    @property
    def available_sat(self) -> int:
        """What blind issuance may still draw on this deposit."""
        return self.amount_sat - self.issued_sat if self.status == "credited" else 0

    def to_dict(self, *, depth_required: int, depth: int | None = None) -> dict[str, Any]:
        return {
            "mint_deposit_ref": self.reference,
            "txid": self.txid,
            "vout": self.vout,
            "amount_sat": self.amount_sat,
            "status": self.status,
            "finalization_depth_required": depth_required,
            "finalization_depth": depth,
            "credited_height": self.credited_height,
            "issued_sat": self.issued_sat,
            "available_sat": self.available_sat,
        }


def _row_to_deposit(row: tuple) -> Deposit:
    return Deposit(*row)


def get_deposit(ledger: Ledger, reference: str) -> Deposit:
    rows = ledger.read(f"SELECT {_COLUMNS} FROM deposits WHERE reference=?", (str(reference).lower(),))
    if not rows:
        raise DepositError(f"no deposit has reference {str(reference)[:70]!r}",
                           hint="register the deposit first; the reference comes from that")
    return _row_to_deposit(rows[0])


def list_deposits(ledger: Ledger, status: str | None = None) -> list[Deposit]:
    if status is None:
        rows = ledger.read(f"SELECT {_COLUMNS} FROM deposits ORDER BY registered_at")
    else:
        rows = ledger.read(f"SELECT {_COLUMNS} FROM deposits WHERE status=? ORDER BY registered_at", (status,))
    return [_row_to_deposit(r) for r in rows]


def _check_outpoint(txid: Any, vout: Any) -> tuple[str, int]:
    try:
        txid = require_txid(txid)
    except CustodyError as exc:
        raise DepositError(str(exc), hint=exc.hint) from None
    if isinstance(vout, bool) or not isinstance(vout, int) or not 0 <= vout <= 0xFFFFFFFF:
        raise DepositError(f"vout {vout!r} is not an output index (0..4294967295)")
    return txid, vout


def register_deposit(
    ledger: Ledger,
    chain,
    reserve_descriptor: str,
    txid: Any,
    vout: Any,
    *,
    now: float,
    mint_id: Any = None,
    amount_sat: Any = None,
) -> Deposit:
    """Record a deposit paying the reserve; the same outpoint again returns the same deposit."""
    txid, vout = _check_outpoint(txid, vout)
    own_id = ledger.mint_id
    if mint_id is not None:
        if not isinstance(mint_id, str) or not _HEX64.fullmatch(mint_id):
            raise DepositError("mint_id must be 64 hex digits")
        if mint_id.lower() != own_id:
            raise DepositError(f"the deposit names mint {mint_id[:16]}...; this is mint {own_id[:16]}...",
                               hint="send the deposit to the mint it was made for")
    reference = deposit_reference(txid, vout, own_id)
    existing = ledger.read(f"SELECT {_COLUMNS} FROM deposits WHERE reference=?", (reference,))
    if existing:
        return _row_to_deposit(existing[0])
    coin = next((u for u in chain.utxos(reserve_descriptor) if u.txid == txid and u.vout == vout), None)
    if coin is None:
        raise DepositError(
            f"{txid}:{vout} is not an unspent output paying the mint's reserve",
            hint="check the txid and vout, and that the transaction reached the mint's node",
        )
    # the change of a payout or a consolidation is reserve money that already backs notes:
    # credited as a deposit, it would let anyone mint notes against the mint's own coins
    own_spend = any(ledger.read(f"SELECT 1 FROM {table} WHERE txid=? LIMIT 1", (txid,)) for table in SPEND_TABLES)
    if own_spend or coin.branch == 1:
        raise DepositError(f"{txid}:{vout} is change of the mint's own reserve spend, not a deposit",
                           hint="deposits pay the reserve's receive addresses")
    if amount_sat is not None and amount_sat != coin.amount_sat:
        raise DepositError(f"the deposit claims {amount_sat!r} sat but {txid}:{vout} pays {coin.amount_sat} sat")
    with ledger.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO deposits(reference, txid, vout, amount_sat, status, registered_at) "
            "VALUES (?,?,?,?, 'registered', ?)",
            (reference, txid, vout, coin.amount_sat, now),
        )
    return get_deposit(ledger, reference)


def refresh_deposits(ledger: Ledger, chain, depth_required: int, *, now: float) -> list[Deposit]:
    """Credit registered deposits the chain now reports at ``depth_required``; mark
    conflicted ones. Returns the deposits whose status changed."""
    changed = []
    tip_height = None
    for deposit in list_deposits(ledger, "registered"):
        status = chain.tx_status(deposit.txid)
        if status.state == "conflicted":
            with ledger.transaction() as db:
                db.execute("UPDATE deposits SET status='conflicted' WHERE reference=? AND status='registered'",
                           (deposit.reference,))
        elif status.state == "confirmed" and status.confirmations >= depth_required:
            tip_height = chain.tip().height if tip_height is None else tip_height
            with ledger.transaction() as db:
                db.execute(
                    "UPDATE deposits SET status='credited', credited_at=?, credited_height=? "
                    "WHERE reference=? AND status='registered'",
                    (now, tip_height - status.confirmations + 1, deposit.reference),
                )
        else:
            continue
        changed.append(get_deposit(ledger, deposit.reference))
    return changed
