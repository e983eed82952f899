"""Deposits into the reserve: a claimable address first, then registration by outpoint,
credit only at the required depth.

A deposit's reference is a hash of its outpoint and the mint's id (the seed's public
identifier): the same deposit always gets the same reference (registering twice is
harmless) and a reference made for another mint is never valid here. Because anyone
watching the chain can compute it, the reference alone never draws notes: the depositor
first asks the mint for a deposit address (:func:`new_deposit_address`), and with it gets a
**claim secret**, shown once and kept by the mint only as a hash. Registration accepts only
outputs paying such an address, and blind issuance against the deposit must present that
address's secret (:func:`check_claim`). Someone who sees the payment on the chain knows the
reference but not the secret, so they cannot take the issuance.

Registration checks the outpoint pays the reserve wallet; crediting waits until the chain
reports ``finalization_depth`` confirmations. Anyone may ask for an address, so how many wait
for a deposit at once is capped, and they expire (``deposit_limits``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from backends.chain.interface import require_txid
from backends.errors import CustodyError

from .deposit_limits import DepositLimits, check_cap
from .errors import DepositError, IssuanceRefused
from .ledger import Ledger
from .spends import SPEND_TABLES

DEPOSIT_DOMAIN = b"custody-tui/mint/deposit/v1\x00"
CLAIM_DOMAIN = b"custody-tui/mint/deposit-claim/v1\x00"
CLAIM_SECRET_BYTES = 32
#: the chain watches reserve addresses up to index 999 by default; past this margin below
#: it, handing out an address widens the watch so a payment to it is seen
WATCH_MARGIN = 100
WATCH_STEP = 1000
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_COLUMNS = ("reference, txid, vout, amount_sat, status, registered_at, credited_at, "
            "credited_height, issued_sat")


def deposit_reference(txid: str, vout: int, mint_id: str) -> str:
    """SHA-256 over a domain tag, the txid (display order), vout (u32 LE) and the mint id."""
    return hashlib.sha256(
        DEPOSIT_DOMAIN + bytes.fromhex(txid) + vout.to_bytes(4, "little") + bytes.fromhex(mint_id)
    ).hexdigest()


def claim_hash(secret: bytes) -> str:
    return hashlib.sha256(CLAIM_DOMAIN + secret).hexdigest()


@dataclass(frozen=True, slots=True)
class DepositAddress:
    """A reserve address handed out for a deposit, and its claim secret (given once)."""

    address: str
    address_index: int
    claim_secret: bytes
    expires_at: float | None = None  # after it, the address no longer counts against the cap

    def __repr__(self) -> str:  # the secret never reaches a log
        return f"DepositAddress({self.address!r}, index {self.address_index})"

    def to_dict(self, mint_id: str) -> dict[str, Any]:
        return {"address": self.address, "address_index": self.address_index,
                "claim_secret": self.claim_secret.hex(), "mint_id": mint_id,
                "expires_at": None if self.expires_at is None else int(self.expires_at)}


def new_deposit_address(ledger: Ledger, chain, reserve_descriptor: str, network: str, *, now: float,
                        limits: DepositLimits = DepositLimits()) -> DepositAddress:
    """The next unused receive address of the reserve and a fresh claim secret for it; the
    ledger keeps only the secret's hash. Refused (``DepositAddressLimited``) while ``limits.cap``
    addresses wait for a deposit."""
    from backends.chain.interface import DEFAULT_RANGE_END
    from backends.wallet import parse_descriptor

    secret = secrets.token_bytes(CLAIM_SECRET_BYTES)
    with ledger.transaction() as db:
        check_cap(db, limits, now)
        index = ledger.next_counter(db, "next_deposit_index")
        db.execute("INSERT INTO deposit_addresses(address_index, claim_hash, created_at) VALUES (?,?,?)",
                   (index, claim_hash(secret), now))
    if index + WATCH_MARGIN > DEFAULT_RANGE_END:
        # widened a step at a time: each widening is an import (on Bitcoin Core a rescan), and
        # a call within the watched range imports nothing; every call asks, so one that failed
        # is made good by the next
        chain.watch(reserve_descriptor, range_end=-(-(index + WATCH_MARGIN + 1) // WATCH_STEP) * WATCH_STEP - 1)
    address = parse_descriptor(reserve_descriptor, network).receive_address(index)
    return DepositAddress(address, index, secret, now + limits.expiry_seconds)


def check_claim(ledger: Ledger, reference: str, claim_secret: Any) -> None:
    """Refuse unless ``claim_secret`` is the secret of the address the deposit pays."""
    if isinstance(claim_secret, (bytes, bytearray)):
        secret = bytes(claim_secret)
    else:
        try:
            secret = bytes.fromhex(claim_secret) if isinstance(claim_secret, str) else None
        except ValueError:
            secret = None
    if secret is None or len(secret) != CLAIM_SECRET_BYTES:
        raise IssuanceRefused(f"the claim secret must be {CLAIM_SECRET_BYTES * 2} hex digits",
                              hint="present the claim secret the mint gave with the deposit address")
    rows = ledger.read("SELECT a.claim_hash FROM deposit_claims c JOIN deposit_addresses a USING (address_index) "
                       "WHERE c.reference=?", (str(reference).lower(),))
    if not rows:
        raise IssuanceRefused(f"deposit {str(reference)[:16]} has no claim; nothing can be issued on it",
                              hint="deposits pay an address asked for with a claim secret")
    if not hmac.compare_digest(rows[0][0], claim_hash(secret)):
        raise IssuanceRefused(f"the claim secret is not the one of deposit {str(reference)[:16]}",
                              hint="present the claim secret the mint gave with the deposit address")


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
    # anyone may call this: a transaction the node does not know is refused before the
    # reserve's coins (100,000 of them, on a busy mint) are read
    known = chain.tx_status(txid).state in ("mempool", "confirmed")
    coin = next((u for u in chain.utxos(reserve_descriptor) if u.txid == txid and u.vout == vout), None) \
        if known else None
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
    handed_out = coin.branch == 0 and coin.index is not None and ledger.read(
        "SELECT 1 FROM deposit_addresses WHERE address_index=?", (coin.index,))
    if not handed_out:
        raise DepositError(f"{txid}:{vout} pays a reserve address the mint never handed out for a deposit",
                           hint="ask the mint for a deposit address (it comes with the claim secret) and pay that")
    if amount_sat is not None and amount_sat != coin.amount_sat:
        raise DepositError(f"the deposit claims {amount_sat!r} sat but {txid}:{vout} pays {coin.amount_sat} sat")
    with ledger.transaction() as db:
        db.execute(
            "INSERT OR IGNORE INTO deposits(reference, txid, vout, amount_sat, status, registered_at) "
            "VALUES (?,?,?,?, 'registered', ?)",
            (reference, txid, vout, coin.amount_sat, now),
        )
        db.execute("INSERT OR IGNORE INTO deposit_claims(reference, address_index) VALUES (?, ?)",
                   (reference, coin.index))
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
