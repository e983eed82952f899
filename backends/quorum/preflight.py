"""Pre-flight: every live signer's armed policy run locally through the HSM engine of
``backends.coldcard.hsm`` on the spend's PSBT, before any device is asked.

The coordinator sees the PSBT as the device will: outputs rendered as addresses of the
chain, our change recognised by its derivation, the fee and the device's "Big Fee"
warning. Velocity state comes from each signer's last ``hsts`` (per-rule totals and the
seconds left in the period). What the local engine cannot know: whether a user's code is
right (a surge spend's user is judged as having given a right code; the devices check
it), local-code confirmations (none are given by an unattended coordinator) and a period
that ends between the poll and the signing.
"""

from __future__ import annotations

import hashlib
import time

from .events import Preflight, PreflightVerdict
from .status import SignerStatus

#: the device's own threshold for its "Big Fee" warning (percent of all outputs)
BIG_FEE_PERCENT = 5


def tx_summary(psbt, *, wallet_name: str, network: str, change_outputs: set[int]):
    """The ``TxSummary`` a Coldcard would build for this PSBT of the quorum's wallet."""
    from backends.coldcard.hsm import InputSummary, OutputSummary, TxSummary
    from backends.wallet import AddressError, address_from_script

    outputs = []
    for n, out in enumerate(psbt.tx.vout):
        script = out.script_pubkey.data
        try:
            address = address_from_script(script, network)
        except AddressError:
            address = script.hex()
        is_change = n in change_outputs
        outputs.append(OutputSummary(address, out.value, is_change, is_change, script))
    total_in = sum(inp.witness_utxo.value for inp in psbt.inputs)
    total_out = sum(o.amount_sat for o in outputs)
    fee = total_in - total_out
    warnings = []
    if total_out and fee * 100 / total_out >= BIG_FEE_PERCENT:
        warnings.append("Big Fee")
    return TxSummary(
        wallet_name=wallet_name, outputs=outputs, fee_sat=fee, total_in_sat=total_in,
        warnings=warnings, psbt_sha256=hashlib.sha256(psbt.to_bytes()).digest(),
        inputs=[InputSummary(inp.witness_utxo.value, True) for inp in psbt.inputs],
    )


def judge(policy, summary, status: SignerStatus, *, chain: str = "XRT",
          users: tuple[str, ...] = ()) -> PreflightVerdict:
    """Run ``policy`` (the signer's verified, armed policy: JSON or a parsed ``HsmPolicy``)
    with the signer's velocity state, ``users`` having given right codes. Nothing is kept:
    the engine holds its user table and storage locker in memory, and each call starts
    from unused users."""
    from backends.coldcard.hsm import HsmEngine, HsmPolicy, HsmRefusal

    parsed = policy if isinstance(policy, HsmPolicy) else HsmPolicy.from_json(policy)
    now = time.time()
    engine = HsmEngine(parsed, None, users=_confirmed(users), chain=chain, new_file=False,
                       clock=lambda: now)
    engine.velocity.reset()
    if status.has_spent and status.period_ends is not None and parsed.period:
        engine.velocity.spent = list(status.has_spent) + [0] * (len(parsed.rules) - len(status.has_spent))
        engine.velocity.period_started = now - (parsed.period * 60 - status.period_ends)
    spent = list(engine.velocity.spent)
    try:
        rule, reason = engine.approve_transaction(summary, auth=_right_codes(users, now)), None
    except HsmRefusal as refusal:
        rule, reason = None, str(refusal)
    velocity_rules = [r for r in parsed.rules if r.per_period is not None]
    chosen = next((r for r in parsed.rules if r.index == rule), None) if rule else None
    if chosen is None or chosen.per_period is None:
        chosen = velocity_rules[0] if velocity_rules and rule is None else None
    headroom = chosen.per_period - spent[chosen.index - 1] if chosen is not None else None
    return PreflightVerdict(status.name, rule is not None, rule, reason, headroom,
                            status.period_ends if status.has_spent else None)


#: the stand-in secret of a user judged as having given a right code (never a real one)
_STAND_IN_SECRET = bytes(10)


def _confirmed(users: tuple[str, ...]):
    from backends.coldcard.hsm import USER_AUTH_TOTP, UserStore

    store = UserStore(None)
    for name in users:
        store.create(name, USER_AUTH_TOTP, _STAND_IN_SECRET)
    return store


def _right_codes(users: tuple[str, ...], now: float) -> dict:
    from backends.coldcard.hsm.otp import calc_hotp, totp_counter

    counter = totp_counter(now)
    return {name: (calc_hotp(_STAND_IN_SECRET, counter), counter) for name in users}


def preflight(policy: dict, summary, live: list[SignerStatus], *, threshold: int, chain: str,
              users: tuple[str, ...] = ()) -> Preflight:
    from backends.coldcard.hsm import HsmPolicy

    parsed = HsmPolicy.from_json(policy)
    verdicts = tuple(judge(parsed, summary, status, chain=chain, users=users) for status in live)
    return Preflight(verdicts, summary.total_out, summary.fee_sat, threshold)
