"""Transaction evaluation: rule checks, first match wins, refusal texts and counting."""

from __future__ import annotations

import pytest

from backends.coldcard.hsm import HsmRefusal, InputSummary, OutputSummary

from .conftest import DEST, OTHER, WALLET, tx


def refused(engine, summary, **kw) -> str:
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(summary, **kw)
    assert engine.last_refusal == str(err.value)
    return str(err.value)


def test_spend_over_max_amount_is_refused_with_device_reason(start):
    engine = start({"rules": [{"max_amount": 10_000}]})
    assert engine.approve_transaction(tx(10_000, change=50_000)) == 1
    assert refused(engine, tx(10_001)) == "Rejected: rule #1: amount exceeded"


def test_change_and_fee_do_not_count_toward_the_amount(start):
    engine = start({"rules": [{"max_amount": 5000}]})
    assert engine.approve_transaction(tx(5000, change=10**8)) == 1
    assert refused(engine, tx(5001, change=10**8)) == "Rejected: rule #1: amount exceeded"


def test_no_rules_signs_nothing(start):
    assert refused(start({}), tx(1)) == "Rejected: no txn signing allowed"


def test_empty_rule_signs_anything(start):
    assert start({"rules": [{}]}).approve_transaction(tx(10**12)) == 1


def test_whitelist_allows_listed_destinations_and_skips_change(start):
    engine = start({"rules": [{"whitelist": [DEST]}]})
    engine.approve_transaction(tx(1000, change=5000))
    assert refused(engine, tx(1000, to=OTHER)) == f"Rejected: rule #1: non-whitelisted address: {OTHER}"


def test_whitelist_names_the_offending_output(start):
    engine = start({"rules": [{"whitelist": [DEST]}]})
    outs = [OutputSummary(DEST, 10), OutputSummary(OTHER, 20)]
    assert refused(engine, tx(outputs=outs)).endswith(f"non-whitelisted address: {OTHER}")


def test_op_return_is_refused_by_a_whitelist_unless_zero_values_are_allowed(start):
    outs = [OutputSummary(DEST, 1000), OutputSummary("6a0568656c6c6f", 0)]
    strict = start({"rules": [{"whitelist": [DEST]}]})
    assert refused(strict, tx(outputs=outs)) == "Rejected: rule #1: non-whitelisted address: 6a0568656c6c6f"
    lax = start({"rules": [{"whitelist": [DEST], "whitelist_opts": {"allow_zeroval_outs": True}}]})
    lax.approve_transaction(tx(outputs=outs))


def test_named_wallet_rule_refuses_single_sig_and_other_wallets(start, tmp_path):
    engine = start({"rules": [{"wallet": WALLET}]})
    engine.approve_transaction(tx(1000, wallet=WALLET))
    assert refused(engine, tx(1000)) == "Rejected: rule #1: not multisig"
    assert refused(engine, tx(1000, wallet="another")) == "Rejected: rule #1: wrong wallet"


def test_wallet_1_means_single_signer_only(start):
    engine = start({"rules": [{"wallet": "1"}]})
    engine.approve_transaction(tx(1000))
    assert refused(engine, tx(1000, wallet=WALLET)) == "Rejected: rule #1: wrong wallet"


def test_first_matching_rule_wins_and_reasons_list_every_rule(start):
    engine = start({"period": 60, "rules": [
        {"max_amount": 1000, "per_period": 5000},
        {"max_amount": 50_000},
    ]})  # fmt: skip
    assert engine.approve_transaction(tx(800)) == 1
    assert engine.approve_transaction(tx(20_000)) == 2
    assert engine.velocity.spent == [800, 0]
    assert refused(engine, tx(60_000)) == (
        "Rejected: rule #1: amount exceeded, rule #2: amount exceeded"
    )


def test_each_rule_reports_its_first_failing_check_in_device_order(start):
    # wallet comes before amount; amount before whitelist; whitelist before local_conf
    engine = start({"rules": [
        {"wallet": WALLET, "max_amount": 1},
        {"max_amount": 1, "whitelist": [OTHER]},
        {"whitelist": [OTHER], "local_conf": True},
        {"local_conf": True, "users": ["totp"]},
    ]})  # fmt: skip
    assert refused(engine, tx(5)) == (
        "Rejected: rule #1: not multisig, rule #2: amount exceeded, "
        "rule #3: non-whitelisted address: " + DEST + ", rule #4: local operator didn't confirm"
    )


def test_warnings_are_refused_unless_warnings_ok(start):
    strict = start({"rules": [{}]})
    assert refused(strict, tx(1, warnings=("Big Fee",))) == "Rejected: has 1 warning(s)"
    start({"warnings_ok": True, "rules": [{}]}).approve_transaction(tx(1, warnings=("Big Fee", "x")))


def test_self_transfer_percentage(start):
    engine = start({"rules": [{"min_pct_self_transfer": 75.0}]})
    ins = [InputSummary(1000, True)]
    pay = [OutputSummary(DEST, 750), OutputSummary(OTHER, 250, is_change=True)]
    assert refused(engine, tx(outputs=pay, inputs=ins)) == (
        "Rejected: rule #1: does not meet self transfer threshold, expected: 75.00, actual: 25.00"
    )
    back = [OutputSummary(DEST, 250), OutputSummary(OTHER, 750, is_change=True)]
    engine.approve_transaction(tx(outputs=back, inputs=ins))


@pytest.mark.parametrize(
    ("pattern", "bad", "good", "reason"),
    [
        ("EQ_NUM_INS_OUTS", 1, 2, "unequal number of inputs and outputs"),
        ("EQ_OUT_AMOUNTS", 1, 2, "not all output amounts are equal"),
    ],
)
def test_patterns(start, pattern, bad, good, reason):
    engine = start({"rules": [{"patterns": [pattern]}]})
    ins = [InputSummary(1000), InputSummary(1000)]
    uneven = [OutputSummary(DEST, 1000), OutputSummary(OTHER, 500)]
    assert refused(engine, tx(outputs=uneven[:bad] if pattern == "EQ_NUM_INS_OUTS" else uneven, inputs=ins)) == (
        f"Rejected: rule #1: {reason}"
    )
    even = [OutputSummary(DEST, 900), OutputSummary(OTHER, 900)]
    engine.approve_transaction(tx(outputs=even[:good], inputs=ins))


def test_own_inputs_and_outputs_pattern(start):
    engine = start({"rules": [{"patterns": ["EQ_NUM_OWN_INS_OUTS"]}]})
    ins = [InputSummary(1000), InputSummary(1000)]
    one_own = [OutputSummary(DEST, 900), OutputSummary(OTHER, 900, is_change=True)]
    assert refused(engine, tx(outputs=one_own, inputs=ins)) == (
        "Rejected: rule #1: unequal number of own inputs and outputs"
    )
    both_own = [OutputSummary(DEST, 900, is_ours=True), OutputSummary(OTHER, 900, is_change=True)]
    engine.approve_transaction(tx(outputs=both_own, inputs=ins))


def test_refusals_and_approvals_are_counted_and_last_refusal_cleared(start):
    engine = start({"rules": [{"max_amount": 10}]})
    refused(engine, tx(11))
    refused(engine, tx(12))
    assert (engine.refusals, engine.approvals) == (2, 0)
    engine.approve_transaction(tx(5))
    assert (engine.refusals, engine.approvals, engine.last_refusal) == (2, 1, None)


def test_the_hundredth_refusal_shuts_the_device_down(start):
    engine = start({"rules": [{"max_amount": 10}]})
    for _ in range(99):
        refused(engine, tx(11))
    assert not engine.should_shutdown
    refused(engine, tx(11))
    assert engine.should_shutdown and engine.refusals == 100


def test_must_log_refuses_without_a_card_and_leaves_auth_queued(start):
    engine = start({"must_log": True, "rules": [{"users": ["hotp"]}]})
    engine.queue_user_auth("hotp", b"000000", 0)
    assert refused(engine, tx(1), log_ok=False) == "Could not log details, and must_log is set"
    assert engine.pending_auth  # the device refuses before taking the queue
    assert engine.log_required


def test_a_saved_log_records_the_decision(start):
    engine = start({"rules": [{}]})
    summary = tx(1)
    engine.approve_transaction(summary, story="Sending 1 sat")
    entry = engine.last_log
    assert entry.directory == "psbt" and entry.filename == summary.psbt_sha256[-8:].hex() + ".log"
    assert "Sending 1 sat" in entry.text and "APPROVED: Acceptable by rule #1" in entry.text
    quiet = start({"never_log": True, "rules": [{}]})
    quiet.approve_transaction(tx(1))
    assert quiet.last_log is None and not quiet.logging_enabled
