"""The spend pipeline and crash recovery.

Stages (each a ``Step`` event): plan (coins by ``quorum_policy``, PSBT with change back
to the quorum's change branch) → pre-flight (every live signer's policy, locally) →
**gates** (the global cap first, when configured; then, for a surge spend, the check that
its TOTP code was never relayed before) → sign (two live signers in parallel, those pre-flight expects to approve
first, a spare for each refusal or timeout) →
combine → finalize → broadcast → record.

Gates are the insertion point for coordinator-wide rules (a global velocity cap, a TOTP
surge tier): ``coordinator.gates`` is a list of callables ``gate(plan: SpendPlan)``
run in order after pre-flight and before any device is asked to sign; a gate refuses
by raising ``GateRefused`` (the spend is then ``refused`` with the gate's words), and may
read ``plan.preflight`` (which rule each signer would apply) and ``plan.psbt``.

Every spend is one ledger row moved through its states (``ledger``), and one audit
entry: ``started`` before anything happens, then ``ok`` (with the txid), ``refused`` or
``error``. A spend that cannot gather ``threshold`` signatures broadcasts nothing. When the
spend ends, its global cap reservation is settled (released, or counted as broadcast).

A surge spend (``totp``) relays the owner's code to each signer just before asking it to
sign, and voids it there if the request fails before the device judged it; the code
itself is in no event, audit entry or error (``surge``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backends.errors import CustodyError

from .conflicts import to_void
from .errors import GateRefused, QuorumError, SpendRefused
from .events import Done, Event, Preflight, Step
from .gather import ending_in_failed, gather, live_signers
from .preflight import preflight as run_preflight
from .preflight import tx_summary
from .surge import SurgeCode, parse_totp_code, sign_with_code, surge_user

if TYPE_CHECKING:
    from .coordinator import Coordinator

#: the chain name the HSM engine renders addresses for, per network
HSM_CHAIN = {"main": "BTC", "test": "XTN", "testnet": "XTN", "signet": "XTN", "regtest": "XRT"}


@dataclass
class SpendPlan:
    """A spend before any device is asked: what gates look at."""

    amount_sat: int
    destination: str
    psbt: object  # backends.wallet.Psbt
    fee_sat: int
    change_index: int | None
    preflight: Preflight
    spend_id: int | None = None
    note: str = ""
    surge: SurgeCode | None = None  # the owner's TOTP code: the surge tier
    #: given-up signed spends this one reuses a coin of, so they can never confirm (``conflicts``)
    voids: tuple = ()


def plan_spend(coordinator: Coordinator, amount_sat: int, destination: str, *,
               surge_user: str | None = None) -> SpendPlan:
    """Choose coins, build the PSBT and pre-flight it against the live signers (with
    ``surge_user`` judged as having given a right code)."""
    from backends.wallet import (
        Payment,
        create_psbt,
        parse_address,
        quorum_policy,
        select_coins,
        spendable_coins,
    )

    spec = coordinator.spec
    wallet = spec.wallet
    script = parse_address(destination, spec.network)
    chain_coins = coordinator.chain.utxos(spec.descriptor)
    coins = spendable_coins(chain_coins)
    voids = to_void(coordinator.ledger, chain_coins, coins)
    selection = select_coins(coins, amount_sat, spec.fee_rate, quorum_policy(wallet.kind),
                             payment_scripts=[script], required=[v.coin for v in voids])
    change_index = None
    if selection.change:
        used = coordinator.ledger.change_indexes_used()
        used |= {c.index for c in chain_coins if c.branch == 1 and c.index is not None}
        change_index = max(used) + 1 if used else 0
    psbt = create_psbt(wallet, list(selection.coins), [Payment(script, amount_sat)],
                       change_amount=selection.change, change_index=change_index)
    change_outputs = {len(psbt.tx.vout) - 1} if selection.change else set()
    summary = tx_summary(psbt, wallet_name=spec.wallet_name, network=spec.network, change_outputs=change_outputs)
    verdicts = run_preflight(spec.policy, summary, coordinator.live(), threshold=spec.threshold,
                             chain=HSM_CHAIN.get(spec.network, "XTN"), users=(surge_user,) if surge_user else ())
    return SpendPlan(amount_sat, destination, psbt, selection.fee, change_index, verdicts, voids=tuple(voids))


def run_spend(coordinator: Coordinator, amount_sat: int, destination: str, note: str, *,
              totp: str | None = None, totp_user: str | None = None) -> Iterator[Event]:
    return ending_in_failed(_audited_spend(coordinator, amount_sat, destination, note, totp, totp_user))


def _audited_spend(coordinator: Coordinator, amount_sat: int, destination: str, note: str,
                   totp: str | None, totp_user: str | None):
    surge = None
    if totp is not None:
        code = parse_totp_code(totp)
        surge = SurgeCode(surge_user(coordinator.spec.policy, totp_user), code)
    # the code is a secret: the audit entry says whose code unlocked the surge tier, never the code
    extra = {"surge_user": surge.user} if surge else {}
    with coordinator.exclusive():
        went_out = yield from recover_events(coordinator)
        with coordinator.audited("quorum", "spend", irreversible=True, amount_sat=amount_sat,
                                 destination=destination, note=note, **extra) as result:
            if went_out:
                # a spend cut short after its broadcast was never answered: this request is
                # most likely its retry, and building another would pay twice
                raise QuorumError(
                    "an earlier spend that was cut short reached the chain and is now recorded: "
                    + "; ".join(f"spend #{r.id}, {r.amount_sat} sat to {r.destination} ({r.txid})"
                                for r in went_out) + "; nothing new was built",
                    hint="check it, then ask again only if this spend is still needed")
            try:
                return (yield from _pipeline(coordinator, amount_sat, destination, note, result, surge))
            finally:
                if coordinator.global_cap is not None and result.get("spend_id") is not None:
                    coordinator.global_cap.settle(result["spend_id"])


def _pipeline(coordinator: Coordinator, amount_sat: int, destination: str, note: str,
              result: dict, surge: SurgeCode | None) -> Iterator[Event]:
    from backends.chain.errors import ChainError, TransactionRejected
    from backends.wallet import combine, extract, finalize, serialize_psbt

    spec, ledger = coordinator.spec, coordinator.ledger
    live, not_live = yield from live_signers(coordinator)
    yield Step("plan", "choosing coins and building the PSBT")
    plan = plan_spend(coordinator, amount_sat, destination, surge_user=surge.user if surge else None)
    plan.note = note
    plan.surge = surge
    psbt_bytes = serialize_psbt(plan.psbt, "binary")
    plan.spend_id = ledger.begin(amount_sat, destination, note, psbt=psbt_bytes, fee_sat=plan.fee_sat,
                                 change_index=plan.change_index)
    result["spend_id"] = plan.spend_id
    if plan.voids:
        result["voids"] = [v.spend_id for v in plan.voids]
        yield Step("void", "reusing a coin of " + ", ".join(f"given-up spend #{v.spend_id} ({v.txid})"
                                                            for v in plan.voids)
                   + ": once this spend confirms, that signed transaction can never confirm")
    yield Step("preflight", "running each live signer's policy locally")
    yield plan.preflight
    try:
        for gate in coordinator.gates:
            gate(plan)
        if surge is not None:
            coordinator.relayed_codes().consume(surge, plan.spend_id)
    except GateRefused as exc:
        ledger.move(plan.spend_id, "refused", str(exc))
        raise
    # signers pre-flight expects to approve are asked first: each refusal counts on the
    # device (and 100 of them power it off), so a predicted one is only a last resort
    approving = {v.signer for v in plan.preflight.verdicts if v.approved}
    # and, unless this spend brings a code, one holding a queued user code last too: its
    # next PSBT is judged with that code (a void one a failed surge request left, or
    # someone else's), which pre-flight cannot see
    queued = {s.name for s in coordinator.statuses() if s.pending_auth} if surge is None else set()
    live = sorted(live, key=lambda name: (name not in approving, name in queued))
    yield Step("sign", f"asking {', '.join(live[:spec.threshold])}")
    signed: dict = {}
    problems: dict[str, str] = {}

    unsigned = plan.psbt.tx.serialize()

    def ask(name: str):
        from backends.wallet import parse_psbt

        client = coordinator.clients[name]

        def sign() -> bytes:
            return client.sign_psbt(psbt_bytes, timeout=spec.sign_timeout_seconds)

        # a code is queued on the device for the next PSBT, which it checks before any rule
        raw = sign() if surge is None else sign_with_code(client, surge, name, sign)
        answer = parse_psbt(raw)
        # only signatures over the transaction pre-flight showed may reach the chain, whatever
        # the link to the device handed it
        if answer.tx.serialize() != unsigned:
            raise QuorumError(f"{name} returned signatures for another transaction ({answer.txid}) "
                              f"than the one sent ({plan.psbt.txid}); they were discarded",
                              hint="check the link to this signer (cable, hub, host)")
        return answer

    try:
        # a code a device found wrong (or replayed) is the same code for the spare
        yield from gather(live, spec.threshold, ask, signed, problems,
                          no_spare_after=lambda reason: surge is not None and "gave wrong auth value" in reason)
        if len(signed) < spec.threshold:
            raise SpendRefused(f"{len(signed)} of {spec.threshold} signatures; nothing was broadcast",
                               refusals={**not_live, **problems})
        yield Step("finalize", "combining and finalizing")
        names = sorted(signed)[: spec.threshold]
        final = finalize(combine([signed[n] for n in names]))
        raw_tx = extract(final)
        txid = final.txid
    except CustodyError as exc:
        ledger.move(plan.spend_id, "refused" if isinstance(exc, SpendRefused) else "failed", str(exc))
        raise
    ledger.signed(plan.spend_id, raw_tx, txid, names)
    yield Step("broadcast", f"broadcasting {txid}")
    try:
        coordinator.chain.broadcast(raw_tx)
    except ChainError as exc:
        if _on_chain(coordinator, txid):
            pass  # it arrived although the answer did not
        elif isinstance(exc, TransactionRejected):
            ledger.move(plan.spend_id, "failed", f"broadcast refused: {exc}")
            raise
        else:
            # no answer is not a refusal: the chain may have it. The row stays "signed", so the
            # next spend asks the chain again before building anything (recover)
            ledger.move(plan.spend_id, "signed", f"broadcast not answered: {exc}")
            raise QuorumError(f"spend #{plan.spend_id}: the chain did not answer the broadcast of {txid} "
                              f"({exc}); it may still be on its way",
                              hint="do not pay again by other means: the next quorum spend first asks the "
                                   "chain whether it has it and records it") from None
    # the chain has it: recorded in one write, before anyone is told, and without an fsync:
    # if a crash or power cut loses it, the row is "signed" and recovery finds the
    # transaction on the chain (or voids it if the chain lost it); nothing is sent twice
    ledger.move(plan.spend_id, "recorded", synced=False)
    yield Step("record", f"spend #{plan.spend_id} recorded")
    result.update(txid=txid, fee_sat=plan.fee_sat, signers=names)
    return Done(txid, plan.fee_sat, tuple(names), plan.spend_id)


def _on_chain(coordinator: Coordinator, txid: str) -> bool:
    try:
        return coordinator.chain.tx_status(txid).state in ("mempool", "confirmed")
    except CustodyError:
        return False


def recover_events(coordinator: Coordinator) -> Iterator[Event]:
    """Settle what a crash left, one ``Step`` each; returns the spends found to have gone out."""
    went_out = []
    for row, outcome in recover(coordinator):
        yield Step("recover", f"spend #{row.id}: {outcome}")
        if coordinator.ledger.get(row.id).state == "recorded":
            went_out.append(row)
    return went_out


def recover(coordinator: Coordinator) -> list:
    """Settle every unfinished spend (call with ``coordinator.exclusive()`` held):

    - signed or broadcast, and the chain has it: ``recorded`` (no second transaction);
    - broadcast (the chain accepted it once) but the chain lost it: the same transaction
      is broadcast again;
    - signed but never broadcast, or interrupted earlier: ``dropped`` (its coins are free;
      the devices may have counted it against their velocity all the same).
    """
    ledger = coordinator.ledger
    settled = []
    for row in ledger.unfinished():
        found = False
        if row.txid:
            try:
                found = coordinator.chain.tx_status(row.txid).state in ("mempool", "confirmed")
            except CustodyError as exc:
                # never guess: dropping a spend that is on the chain would free its coins
                raise QuorumError(f"spend #{row.id} ({row.txid}) was cut short and the chain cannot be "
                                  f"asked whether it has it: {exc}",
                                  hint="nothing new is built until the chain answers; check the chain") from None
        if found:
            outcome, state = f"{row.txid} found on the chain; recorded", "recorded"
        elif row.state == "broadcast" and row.raw_tx:
            try:
                coordinator.chain.broadcast(row.raw_tx)
                outcome, state = f"{row.txid} broadcast again; recorded", "recorded"
            except CustodyError as exc:
                outcome, state = f"{row.txid} is gone from the chain ({exc}); dropped", "dropped"
        elif row.state == "signed":
            outcome, state = "signed but never broadcast; dropped", "dropped"
        else:
            outcome, state = f"interrupted while {row.state}; dropped", "dropped"
        with coordinator.audited("quorum", "recover", spend_id=row.id, txid=row.txid, was=row.state,
                                 now=state):
            ledger.move(row.id, state, outcome)
        settled.append((row, outcome))
    return settled
