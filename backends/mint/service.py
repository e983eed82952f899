"""The mint as one object: its ledger, its keys, its reserve's chain, and its operations.

Screens, the CLI and the HTTP API all go through :class:`Mint`; every method that changes
state does it in one ledger transaction.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import attestation, consolidation, deposit_limits, events, metrics, quorum_payouts
from .blindrsa import Variant
from .consolidation import Consolidation, ConsolidationPlan
from .deposits import (
    Deposit,
    DepositAddress,
    get_deposit,
    list_deposits,
    new_deposit_address,
    refresh_deposits,
    register_deposit,
)
from .errors import DepositError, MintError, RedemptionError
from .issuance import BlindRequest, Issued, issue_blind
from .keysets import DEFAULT_VARIANT, Keyset, Signers, create_keyset, find_keyset, load_keysets
from .ledger import Ledger
from .notes import Note, check_notes, record_spent
from .operators import SignedRequest, create_operator_key, verify_request
from .pause import (
    PauseState,
    apply_auto_pause,
    pause,
    pause_state,
    recommendation,
    require_running,
    resume,
    set_auto_pause,
)
from .reserves import Accounting, Health, HealthRules, Inventory, accounting, health, inventory
from .redemptions import (
    InFlight,
    Redemption,
    Reserve,
    approve_and_broadcast,
    create_redemption,
    get_redemption,
    in_flight,
    list_redemptions,
    refresh_redemptions,
    reject_redemption,
    retry_funding,
)

DEFAULT_FINALIZATION_DEPTH = 6
RESERVE_SIGNERS = ("hot", "quorum")


@dataclass(frozen=True)
class MintSettings:
    """What the operator configures.

    ``reserve_descriptor`` is the watched reserve wallet; ``reserve_signer`` who signs its
    payouts: ``hot``, the keystore mnemonic ``reserve_signer_label``, or ``quorum``, the
    Coldcard quorum's coordinator given to :class:`Mint` (the reserve is then the quorum's
    wallet); ``fee_rate`` a fixed sat/vB, or None to ask the chain for a 6-block estimate.
    """

    reserve_descriptor: str | None = None
    finalization_depth: int = DEFAULT_FINALIZATION_DEPTH
    reserve_signer: str = "hot"  # "hot" (the keystore key) or "quorum" (the Coldcard quorum)
    reserve_signer_label: str | None = None
    fee_rate: float | None = None
    min_change: int = 1_000
    max_inputs: int = 8
    events_retention_days: int = events.DEFAULT_RETENTION_DAYS
    deposit_limits: deposit_limits.DepositLimits = deposit_limits.DepositLimits()

    def __post_init__(self) -> None:
        if self.reserve_signer not in RESERVE_SIGNERS:
            raise MintError(f"reserve_signer must be 'hot' or 'quorum', got {self.reserve_signer!r}")
        depth = self.finalization_depth
        if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 1000:
            raise MintError(f"finalization_depth must be 1..1000 blocks, got {depth!r}")
        if self.fee_rate is not None and not 0 < self.fee_rate <= 10_000:
            raise MintError(f"fee_rate must be 0..10000 sat/vB, got {self.fee_rate!r}")
        if not 1 <= self.max_inputs <= 500 or self.min_change < 0:
            raise MintError("max_inputs must be 1..500 and min_change at least 0")
        if not 1 <= self.events_retention_days <= 3650:
            raise MintError("events_retention_days must be 1..3650")


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
        quorum=None,
    ) -> None:
        self.ledger = Ledger.in_data_dir(data_dir)
        self.settings = settings or MintSettings()
        # the quorum's Coordinator, or a callable opening it on first use (reserve_signer "quorum")
        self._quorum = quorum
        self.chain = chain
        self._signers = Signers(keystore)
        self._keystore = keystore
        self._clock = clock
        # one reserve spend built at a time in this process: two approvals at once would pick
        # the same coins and the second would be refused at recording (across processes the
        # ledger's locks still decide)
        self._spend_lock = threading.Lock()

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

    def deposit_address(self) -> DepositAddress:
        """A fresh reserve address for one depositor, with the claim secret that alone lets
        notes be issued on what pays it (returned this once; the ledger keeps its hash)."""
        chain, descriptor = self._reserve()
        return new_deposit_address(self.ledger, chain, descriptor, chain.network, now=self._clock(),
                                   limits=self.settings.deposit_limits)

    def deposit_address_figures(self) -> dict:
        """Outstanding deposit addresses against the cap, and requests refused so far by reason."""
        limits = self.settings.deposit_limits
        count, next_expiry = deposit_limits.outstanding(self.ledger, limits, self._clock())
        return {"outstanding": count, "cap": limits.cap, "expiry_seconds": limits.expiry_seconds,
                "next_expiry": next_expiry, "refused": deposit_limits.refusal_totals(self.ledger)}

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

    @property
    def signs_with_quorum(self) -> bool:
        return self.settings.reserve_signer == "quorum"

    def _coordinator(self):
        if self._quorum is None:
            raise RedemptionError("the mint's reserve signer is the quorum, but no quorum is configured",
                                  hint="add [quorum] and its [[quorum.signers]], or set mint.reserve_signer = 'hot'")
        return self._quorum() if callable(self._quorum) and not hasattr(self._quorum, "spend") else self._quorum

    def payout_allowance(self):
        """What the quorum's HSM policy still lets out this period (``quorum_payouts.Allowance``),
        or None with the hot-key signer (which has no limit of its own)."""
        return quorum_payouts.allowance(self._coordinator()) if self.signs_with_quorum else None

    def _reserve_wallet(self) -> Reserve:
        from backends.wallet import mint_policy, parse_descriptor

        chain, text = self._reserve()
        label = self.settings.reserve_signer_label
        descriptor = parse_descriptor(text, chain.network)
        settings = self.settings

        def sign(psbt) -> None:
            if self.signs_with_quorum:
                raise RedemptionError("consolidations are signed by the hot key; the quorum signer pays "
                                      "redemptions only", hint="merge coins with a quorum spend to the "
                                                               "quorum's own address (quorum spend)")
            if label is None:
                raise RedemptionError("the mint has no reserve signer configured",
                                      hint="set mint.reserve_signer_label to the keystore key of the reserve")
            signed = self._keystore.sign_psbt(label, psbt, chain.network)
            if signed < len(psbt.inputs):
                raise RedemptionError(
                    f"keystore key {label!r} signed {signed} of {len(psbt.inputs)} reserve inputs",
                    hint="the reserve descriptor must be this key's",
                )

        return Reserve(
            descriptor, text, chain, sign,
            mint_policy(descriptor.kind, min_change=settings.min_change, max_inputs=settings.max_inputs),
            (lambda: settings.fee_rate) if settings.fee_rate is not None else (lambda: chain.estimate_fee_rate(6)),
        )

    # -- issuance and notes ----------------------------------------------------------

    def issue_blind(self, deposit_ref: str, requests: Iterable[BlindRequest], *, claim_secret,
                    keyset_id: str | None = None) -> Issued:
        """Blind signatures on a credited deposit, for whoever holds its claim secret."""
        return issue_blind(self.ledger, self._signers, deposit_ref, requests, claim_secret=claim_secret,
                           now=self._clock(), keyset_id=keyset_id)

    def spend_notes(self, notes: Iterable[Note], *, redemption_id: str | None = None) -> SpendReceipt:
        """Verify every note, then mark all spent in one transaction, or none."""
        notes = check_notes(notes, {k.keyset_id: k for k in self.keysets()})
        with self.ledger.transaction() as db:
            record_spent(db, notes, self._clock(), redemption_id)
        return SpendReceipt(sum(n.amount_sat for n in notes), tuple(n.note_hash for n in notes))

    def is_spent(self, note: Note) -> bool:
        return bool(self.ledger.read("SELECT 1 FROM spent_notes WHERE note_hash=?", (note.note_hash,)))

    # -- operators ---------------------------------------------------------------------

    def create_operator_key(self, key_id: str) -> bytes:
        """A new operator HMAC key in the keystore; the secret is returned this once."""
        return create_operator_key(self._keystore, key_id)

    def authenticate(self, method: str, path: str, body: bytes, headers) -> str:
        """The operator key id of a signed admin request; refuses stale, wrong and replayed ones."""
        return self.verify_operator_request(method, path, body, headers).key_id

    def verify_operator_request(self, method: str, path: str, body: bytes, headers) -> SignedRequest:
        """The signed admin request, once verified (its ``record()`` goes to the audit log)."""
        request = SignedRequest.from_headers(method, path, body, headers)
        verify_request(self.ledger, self._keystore, request, now=self._clock())
        return request

    # -- redemptions -------------------------------------------------------------------

    def create_redemption(self, notes: Iterable[Note], address: str) -> Redemption:
        chain, _ = self._reserve()
        return create_redemption(self.ledger, notes, address, chain.network,
                                 {k.keyset_id: k for k in self.keysets()}, now=self._clock())

    def approve_redemption(self, redemption_id: str, operator: str) -> Redemption:
        """Approve, fund, sign, record and broadcast; unfundable stays pending with the reason.
        Refused while payouts are paused (auto-pause is checked first)."""
        with self._spend_lock:
            self._check_running()
            if self.signs_with_quorum:
                redemption = quorum_payouts.pay(self.ledger, redemption_id, operator, self._coordinator(),
                                                now=self._clock())
            else:
                redemption = approve_and_broadcast(self.ledger, redemption_id, operator, self._reserve_wallet(),
                                                   now=self._clock())
        if redemption.status == "pending" and redemption.reason:
            kind = "quorum_refused" if self.signs_with_quorum else "unfundable"
            self.record_event(kind, "warn", f"redemption {redemption_id[:16]} of {redemption.amount_sat} "
                                            f"sat waits: {redemption.reason}")
        return redemption

    def retry_funding(self, redemption_id: str) -> Redemption:
        with self._spend_lock:
            self._check_running()
            if self.signs_with_quorum:
                # paying through the quorum is its approval path: only a redemption an operator
                # already approved (and that waits for funding) may be retried here
                redemption = self.redemption(redemption_id)
                if redemption.status != "pending" or redemption.approved_by is None:
                    raise RedemptionError(f"redemption {redemption_id[:16]} is not an approved pending redemption",
                                          hint="an operator approves it first")
                return quorum_payouts.pay(self.ledger, redemption_id, redemption.approved_by, self._coordinator(),
                                          now=self._clock())
            return retry_funding(self.ledger, redemption_id, self._reserve_wallet(), now=self._clock())

    def _check_running(self) -> None:
        self._watch_health()
        require_running(self.ledger)

    def _watch_health(self) -> None:
        """Health now: an event when it changes, and auto-pause when it turns critical."""
        health_now = self.health()
        self._note_health(health_now)
        before = pause_state(self.ledger).paused
        state = apply_auto_pause(self.ledger, health_now, now=self._clock())
        if state.paused and not before:
            self.record_event("pause", "critical", f"redemption payouts auto-paused: {state.reason}")

    # -- consolidation -------------------------------------------------------------------

    def consolidation_plan(self, *, small_utxo_sat: int | None = None) -> ConsolidationPlan:
        """The dry run: which small coins would merge, the fee, and the reserve after."""
        return consolidation.plan(self.ledger, self._reserve_wallet(), small_utxo_sat=small_utxo_sat)[0]

    def consolidate(self, operator: str) -> Consolidation:
        """Execute the plan: sign with the reserve signer, record, then broadcast."""
        with self._spend_lock:
            return consolidation.execute(self.ledger, self._reserve_wallet(), operator, now=self._clock())

    def consolidations(self) -> list[Consolidation]:
        return consolidation.list_consolidations(self.ledger)

    def metrics_text(self) -> str:
        """The mint's figures in Prometheus text format (for ``/monitoring/metrics``)."""
        inv = self.inventory()
        books = accounting(self.ledger, inv.total_value_sat)
        redemptions = self.redemptions()
        unsettled = [r.amount_sat for r in redemptions if r.status in ("pending", "approved")]
        by_status = {s: 0 for s in ("pending", "approved", "broadcast", "finalized", "rejected")}
        for r in redemptions:
            by_status[r.status] += 1
        flight = self.in_flight()
        return metrics.render(inv, books, health(inv, books, max(unsettled, default=0)), self.pause_state(),
                              by_status, flight.pending_spend_commitment_count, flight.pending_spend_input_count,
                              self.deposit_address_figures())

    # -- attestations --------------------------------------------------------------------

    def attestation_pubkey(self) -> str:
        """The x-only key that signs attestations (created in the keystore on first use)."""
        return attestation.ensure_key(self._keystore)

    def attest(self, operator: str) -> dict:
        """A signed statement of reserves (confirmed reserve coins) against liabilities at the tip."""
        chain, descriptor = self._reserve()
        tip = chain.tip()
        coins = [c for c in chain.utxos(descriptor) if c.confirmations >= 1]
        books = accounting(self.ledger, sum(c.amount_sat for c in coins))
        body = {
            "mint_id": self.mint_id, "network": chain.network, "height": tip.height, "block_hash": tip.hash_hex,
            "block_time": tip.time, "issued_at": int(self._clock()), "reserve_descriptor": descriptor,
            "reserves_sat": books.reserves_sat, "liabilities_sat": books.liabilities_sat,
            "outstanding_notes_sat": books.outstanding_notes_sat, "surplus_sat": books.surplus_sat,
            "utxo_count": len(coins), "requested_by": operator,
        }
        return attestation.sign_attestation(self._keystore, body)

    # -- events --------------------------------------------------------------------------

    def record_event(self, kind: str, severity: str, message: str) -> None:
        events.record(self.ledger, kind, severity, message, now=self._clock(),
                      retention_days=self.settings.events_retention_days)

    def events(self, *, limit: int = 100) -> list[dict]:
        """The newest events first, each marked silenced or not."""
        every = events.silences(self.ledger, now=self._clock(), active_only=False)
        return [e.to_dict(silenced=events.is_silenced(e, every)) for e in events.history(self.ledger, limit=limit)]

    def alerts(self) -> list[events.Event]:
        return events.active_alerts(self.ledger, now=self._clock())

    def acknowledge(self, event_id: int, operator: str) -> events.Event:
        return events.acknowledge(self.ledger, event_id, operator, now=self._clock())

    def silence(self, kind: str, until: float, reason: str, operator: str) -> events.Silence:
        return events.silence(self.ledger, kind, until, reason, operator, now=self._clock())

    def silences(self) -> list[events.Silence]:
        return events.silences(self.ledger, now=self._clock())

    def events_policy(self) -> dict:
        return {"retention_days": self.settings.events_retention_days, "severities": list(events.SEVERITIES),
                "max_silence_seconds": events.MAX_SILENCE_SECONDS}

    def _note_health(self, health) -> None:
        """Record an event when reserve health changes (``health`` kind)."""
        row = self.ledger.read("SELECT value FROM meta WHERE key='last_health'")
        if row and row[0][0] == health.status:
            return
        with self.ledger.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_health', ?)", (health.status,))
        severity = {"healthy": "info", "warn": "warn", "critical": "critical"}[health.status]
        self.record_event("health", severity, f"reserve health is {health.status}"
                          + (": " + "; ".join(health.reasons) if health.reasons else ""))

    # -- pause ---------------------------------------------------------------------------

    def pause(self, operator: str, reason: str) -> PauseState:
        state = pause(self.ledger, operator, reason, now=self._clock())
        self.record_event("pause", "warn", f"redemption payouts paused by {operator}: {state.reason}")
        return state

    def resume(self, operator: str = "operator") -> PauseState:
        state = resume(self.ledger)
        self.record_event("pause", "info", f"redemption payouts resumed by {operator}")
        return state

    def set_auto_pause(self, on: bool) -> PauseState:
        return set_auto_pause(self.ledger, on)

    def pause_state(self) -> PauseState:
        return pause_state(self.ledger)

    def recommendation(self) -> str:
        """What reserve health suggests: pause, stay paused, watch, resume or keep running."""
        return recommendation(self.health(), pause_state(self.ledger))

    def reject_redemption(self, redemption_id: str, operator: str, reason: str) -> Redemption:
        return reject_redemption(self.ledger, redemption_id, operator, reason, now=self._clock())

    def redemption(self, redemption_id: str) -> Redemption:
        return get_redemption(self.ledger, redemption_id)

    def redemptions(self, status: str | None = None) -> list[Redemption]:
        return list_redemptions(self.ledger, status)

    def in_flight(self) -> InFlight:
        return in_flight(self.ledger)

    # -- reserves ------------------------------------------------------------------------

    def inventory(self) -> Inventory:
        return inventory(self.ledger, self._reserve_wallet())

    def accounting(self) -> Accounting:
        return accounting(self.ledger, self.inventory().total_value_sat)

    def health(self, rules: HealthRules = HealthRules()) -> Health:
        inv = self.inventory()
        books = accounting(self.ledger, inv.total_value_sat)
        unsettled = [r.amount_sat for r in self.redemptions() if r.status in ("pending", "approved")]
        return health(inv, books, max(unsettled, default=0), rules)

    def refresh(self) -> tuple[list[Deposit], list[Redemption]]:
        """Catch up with the chain: credit deposits at depth, and settle recorded payouts
        (run at start: a payout broadcast just before a crash is found and recorded here)."""
        chain, descriptor = self._reserve()
        depth, now = self.settings.finalization_depth, self._clock()
        settled = []
        if self.signs_with_quorum:  # payouts a killed process left with the quorum, first
            with self._spend_lock:
                settled = quorum_payouts.settle(self.ledger, self._coordinator(), now=now)
        deposits = refresh_deposits(self.ledger, chain, depth, now=now)
        redemptions = refresh_redemptions(self.ledger, chain, depth, now=now, reserve_descriptor=descriptor)
        consolidation.refresh_consolidations(self.ledger, chain, depth, now=now, reserve_descriptor=descriptor)
        for redemption in redemptions:
            if redemption.status == "pending" and redemption.reason:
                self.record_event("double_spend", "critical",
                                  f"payout {redemption.redemption_id[:16]} was double-spent; it waits for funding again")
            elif redemption.status in ("approved", "broadcast") and redemption.reason:
                self.record_event("double_spend", "warn",
                                  f"payout {redemption.redemption_id[:16]} is in conflict: {redemption.reason}")
        found = {r.redemption_id for r in redemptions}
        changed = (deposits, [self.redemption(r) for r in settled if r not in found] + redemptions)
        self._watch_health()
        return changed
