"""The mint as one object: its ledger, its keys, its reserve's chain, and its operations.

Screens, the CLI and the HTTP API all go through :class:`Mint`; every method that changes
state does it in one ledger transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .blindrsa import Variant
from .deposits import Deposit, get_deposit, list_deposits, refresh_deposits, register_deposit
from .errors import DepositError, MintError
from .issuance import BlindRequest, Issued, issue_blind
from .keysets import DEFAULT_VARIANT, Keyset, Signers, create_keyset, find_keyset, load_keysets
from .ledger import Ledger
from .notes import Note, check_notes, record_spent

DEFAULT_FINALIZATION_DEPTH = 6


@dataclass(frozen=True)
class MintSettings:
    """What the operator configures. ``reserve_descriptor`` is the watched reserve wallet."""

    reserve_descriptor: str | None = None
    finalization_depth: int = DEFAULT_FINALIZATION_DEPTH

    def __post_init__(self) -> None:
        depth = self.finalization_depth
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 1000:
            raise MintError(f"finalization_depth must be 1..1000 blocks, got {depth!r}")


@dataclass(frozen=True)
class SpendReceipt:
    total_sat: int
    note_hashes: tuple[str, ...]


class Mint:
    """A mint whose state lives in ``<data_dir>/mint.sqlite3`` and whose keys live in ``keystore``."""

    def __init__(
        self,
        data_dir: Path,
        keystore,
        *,
        chain=None,
        settings: MintSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ledger = Ledger.in_data_dir(data_dir)
        self.settings = settings or MintSettings()
        self.chain = chain
        self._signers = Signers(keystore)
        self._keystore = keystore
        self._clock = clock

    def __repr__(self) -> str:
        return f"Mint({str(self.ledger.path)!r})"

    def close(self) -> None:
        self.ledger.close()

    @property
    def mint_id(self) -> str:
        return self.ledger.mint_id

    # -- keys ----------------------------------------------------------------------

    def create_keyset(self, denominations: Iterable[int], *, variant: Variant = DEFAULT_VARIANT,
                      bits: int = 2048) -> Keyset:
        return create_keyset(self.ledger, self._keystore, denominations, variant=variant, bits=bits,
                             clock=self._clock)

    def keysets(self) -> list[Keyset]:
        return load_keysets(self.ledger)

    def keyset(self, keyset_id: str | None = None) -> Keyset:
        return find_keyset(self.ledger, keyset_id)

    # -- deposits ------------------------------------------------------------------

    def register_deposit(self, txid, vout, *, mint_id=None, amount_sat=None) -> Deposit:
        chain, descriptor = self._reserve()
        return register_deposit(self.ledger, chain, descriptor, txid, vout, now=self._clock(),
                                mint_id=mint_id, amount_sat=amount_sat)

    def refresh_deposits(self) -> list[Deposit]:
        chain, _ = self._reserve()
        return refresh_deposits(self.ledger, chain, self.settings.finalization_depth, now=self._clock())

    def deposit(self, reference: str) -> Deposit:
        return get_deposit(self.ledger, reference)

    def deposits(self, status: str | None = None) -> list[Deposit]:
        return list_deposits(self.ledger, status)

    def _reserve(self):
        if self.chain is None or self.settings.reserve_descriptor is None:
            raise DepositError("the mint has no reserve wallet configured",
                               hint="set mint.reserve_descriptor and a chain in the config")
        return self.chain, self.settings.reserve_descriptor

    # -- issuance and notes ----------------------------------------------------------

    def issue_blind(self, deposit_ref: str, requests: Iterable[BlindRequest], *,
                    keyset_id: str | None = None) -> Issued:
        return issue_blind(self.ledger, self._signers, deposit_ref, requests, now=self._clock(),
                           keyset_id=keyset_id)

    def spend_notes(self, notes: Iterable[Note], *, redemption_id: str | None = None) -> SpendReceipt:
        """Verify every note, then mark all spent in one transaction, or none."""
        notes = check_notes(notes, {k.keyset_id: k for k in self.keysets()})
        with self.ledger.transaction() as db:
            record_spent(db, notes, self._clock(), redemption_id)
        return SpendReceipt(sum(n.amount_sat for n in notes), tuple(n.note_hash for n in notes))

    def is_spent(self, note: Note) -> bool:
        return bool(self.ledger.read("SELECT 1 FROM spent_notes WHERE note_hash=?", (note.note_hash,)))
