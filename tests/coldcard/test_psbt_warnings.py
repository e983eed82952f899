"""The warnings of a PSBT's approval story and the change it recognises, as firmware v5.4.5
words them (psbt.py: validate, consider_inputs, consider_outputs, consider_dangerous_change).

Every warning counts for an HSM policy without ``warnings_ok``, so a warning the device
would not give (or one it would) flips the policy's decision; the last tests show that.
Single-signer PSBTs for the simulator's seed, built by hand (``single_sig``); P2SH and
P2SH-P2WSH multisig change is in ``test_multisig_change``.
"""

from __future__ import annotations

import pytest

from backends.coldcard.client import ColdcardClient
from backends.coldcard.errors import SigningRefused
from backends.wallet import parse_psbt

from .single_sig import KEYS, OTHER_KEYS, PAY_SCRIPT, Pay, Spend, build, change, op_return, our_script
from .stxn import approve_and_sign, failure, failure_and_screen, visualize, warnings_in
from .test_hsm_mode import reset_hsm

LIMITED_SIGNING = "- Limited Signing: We are not signing these inputs, because we do not know the key: %s\n\n"
ZERO_VALUE = "- Zero Value: Non-standard zero value output(s).\n\n"


def spend_and_change(*extra: Pay, change_path: str = "m/84h/1h/0h/1/0", kind: str = "p2wpkh") -> bytes:
    """1 000 000 sat of ours: 500 000 paid, 495 000 back as change, a 5 000 sat fee."""
    return build([Spend()], [Pay(PAY_SCRIPT, 500_000), change(kind, change_path, 495_000), *extra])


# ---- outputs --------------------------------------------------------------------------

def test_zero_value_op_return_is_no_warning_and_shows_its_data(target):
    story = visualize(target, spend_and_change(op_return(b"hello")))
    assert warnings_in(story) == ""
    assert "warning" not in story
    assert "0.00000000 XTN\n - OP_RETURN -\n68656c6c6f (ascii: hello)\n\n" in story


def test_zero_value_payment_warns(target):
    story = visualize(target, spend_and_change(Pay(PAY_SCRIPT, 0)))
    assert story.startswith("(1 warning below)\n\n")
    assert warnings_in(story) == ZERO_VALUE


def test_several_or_oversized_op_returns_warn_that_nodes_may_not_relay(target):
    two = visualize(target, spend_and_change(op_return(b"one"), op_return(b"two")))
    assert warnings_in(two) == "- OP_RETURN: TX may not be relayed by some nodes.\nMultiple OP_RETURN outputs: 2\n\n"
    big = visualize(target, spend_and_change(op_return(bytes(81))))
    assert warnings_in(big) == "- OP_RETURN: TX may not be relayed by some nodes.\nOP_RETURN > 80 bytes\n\n"


def test_unknown_output_script_warns_and_is_shown_as_script(target):
    story = visualize(target, spend_and_change(Pay(b"\x51", 1_000)))
    assert "0.00001000 XTN\n - to script -\n51\n\n" in story
    assert warnings_in(story) == "- Output?: Sending to 1 not well understood script(s).\n\n"


# ---- inputs -----------------------------------------------------------------------------

def test_foreign_input_with_utxo_warns_limited_signing(target):
    foreign = Spend(keys=OTHER_KEYS, derive=False, value=200_000)
    psbt = build([Spend(), foreign], [Pay(PAY_SCRIPT, 700_000), change(value=495_000)])
    story = visualize(target, psbt)
    assert " 2 inputs\n 2 outputs\n\n" in story
    assert warnings_in(story) == LIMITED_SIGNING % "1"


def test_input_another_signer_has_the_path_for_is_not_limited_signing(target):
    cosigner = Spend(keys=OTHER_KEYS, value=200_000)  # its derivation names the other seed
    psbt = build([Spend(), cosigner], [Pay(PAY_SCRIPT, 700_000), change(value=495_000)])
    assert warnings_in(visualize(target, psbt)) == ""


def test_input_without_utxo_leaves_fee_unknown_and_skips_output_warnings(target):
    foreign = Spend(keys=OTHER_KEYS, derive=False, with_utxo=False)
    psbt = build([Spend(), foreign, Spend(keys=OTHER_KEYS, derive=False, value=10)],
                 [Pay(PAY_SCRIPT, 0), change(value=900_000)])
    story = visualize(target, psbt)
    assert "Network fee" not in story
    # the firmware stops judging outputs when the fee is unknown: no Zero Value here
    assert warnings_in(story) == ("- Unable to calculate fee: Some input(s) haven't provided UTXO(s): 1\n\n"
                                  + LIMITED_SIGNING % "1, 2")


def test_input_signed_by_others_already_warns_partly_signed(target):
    done = Spend(keys=OTHER_KEYS, value=200_000, partial_sig=True)
    psbt = build([Spend(), done], [Pay(PAY_SCRIPT, 700_000), change(value=495_000)])
    assert warnings_in(visualize(target, psbt)) == (
        "- Partly Signed Already: Some input(s) provided were already completely signed by other parties: 1\n\n")


def test_previous_transaction_that_is_not_the_one_spent_is_invalid(target):
    psbt = parse_psbt(build([Spend("p2pkh")], [Pay(PAY_SCRIPT, 995_000)]))
    psbt.inputs[0].non_witness_utxo.locktime = 1  # another transaction: another txid
    # the details are on the screen only: stok says "Invalid PSBT" (v5.4.5 and master)
    assert failure_and_screen(target, psbt.serialize()) == (
        "Invalid PSBT", "Failure\0Invalid PSBT\n\nutxo hash mismatch for input #0\n\npsbt.py:677")


def test_every_input_signed_already_is_refused(target):
    psbt = build([Spend(partial_sig=True)], [Pay(PAY_SCRIPT, 995_000)])
    assert failure(target, psbt) == "Transaction looks completely signed already?"


def test_input_key_at_a_path_that_is_not_its_own_fails_when_signing(target):
    psbt = build([Spend(stated_path="m/84h/1h/0h/0/1")], [Pay(PAY_SCRIPT, 995_000)])
    assert failure_and_screen(target, psbt, approve=True) == ("Signing failed late", (
        "Failure\0Signing failed late\n\nPath (m/84h/1h/0h/0/1) led to wrong pubkey for input#0\n\npsbt.py:2054"))


def test_zero_xfp_stands_for_ours_with_a_warning_and_is_replaced(target):
    psbt = build([Spend(xfp=0)], [Pay(PAY_SCRIPT, 500_000), change(value=495_000, xfp=0)])
    story = visualize(target, psbt)
    assert "Change back:\n0.00495000 XTN\n" in story
    assert warnings_in(story) == "- Zero XFP: Assuming XFP of zero should be replaced by correct XFP\n\n"
    signed = approve_and_sign(target, psbt)
    fingerprints = {d.fingerprint for scope in (signed.inputs[0], signed.outputs[1])
                    for d in scope.bip32_derivations.values()}
    assert fingerprints == {KEYS.fingerprint}


def test_locktime_without_a_decremented_sequence_warns(target):
    psbt = build([Spend(sequence=0xFFFFFFFF)], [Pay(PAY_SCRIPT, 995_000)], locktime=1000)
    assert warnings_in(visualize(target, psbt)) == (
        "- Bad Locktime: Locktime has no effect! None of the nSequences decremented.\n\n")


def test_warnings_come_in_the_firmware_order(target):
    foreign = Spend(keys=OTHER_KEYS, derive=False, value=10_000)
    psbt = build([Spend(xfp=0), foreign],
                 [Pay(PAY_SCRIPT, 400_000), Pay(b"\x51", 0), change(path="m/84h/1h/0h/7/0", value=550_000)])
    story = visualize(target, psbt)
    assert story.startswith("(6 warnings below)\n\n")
    assert warnings_in(story) == (
        "- Zero XFP: Assuming XFP of zero should be replaced by correct XFP\n\n"
        + LIMITED_SIGNING % "1"
        + "- Big Fee: Network fee is more than 5% of total value (6.3%).\n\n"
        "- Output?: Sending to 1 not well understood script(s).\n\n"
        + ZERO_VALUE
        + "- Troublesome Change Outs: Output#2: 2nd last component not 0 or 1: m/84h/1h/0h/7/0 not "
        "m/84h/1h/0h/{0~1}/{0~200} expected\n\n")


# ---- change that does not look like the inputs' wallet ---------------------------------

@pytest.mark.parametrize("path, issue", [
    ("m/84h/1h/0h/5/0", "2nd last component not 0 or 1"),
    ("m/84h/1h/0h/1/0/0", "has wrong path length (6 not 5)"),
    ("m/84h/1h/0h/1h/0", "has different hardening pattern"),
    ("m/49h/1h/0h/1/0", "goes to diff path prefix"),
    ("m/84h/1h/0h/1/201", "last component beyond reasonable gap"),
], ids=["branch", "depth", "hardening", "prefix", "gap"])
def test_change_off_the_wallet_pattern_is_troublesome(target, path, issue):
    story = visualize(target, spend_and_change(change_path=path))
    assert "Change back:\n0.00495000 XTN\n" in story  # still change, but suspicious
    assert warnings_in(story) == (
        "- Troublesome Change Outs: Output#1: %s: %s not m/84h/1h/0h/{0~1}/{0~200} expected\n\n" % (issue, path))


def test_change_within_the_gap_on_the_change_branch_is_fine(target):
    assert warnings_in(visualize(target, spend_and_change(change_path="m/84h/1h/0h/1/200"))) == ""


# ---- change of every single-key type -----------------------------------------------------

CHANGE_KINDS = ["p2wpkh", "p2pkh", "p2sh-p2wpkh",
                pytest.param("p2pk", marks=pytest.mark.emulator_only)]  # v5.4.5 misreads P2PK


@pytest.mark.parametrize("kind", CHANGE_KINDS)
def test_change_of_each_single_key_type_is_recognised(target, kind):
    story = visualize(target, spend_and_change(kind=kind))
    assert story.startswith("Sending 0.00500000 XTN\nNetwork fee 0.00005000 XTN\n\n")
    assert "Change back:\n0.00495000 XTN\n - to address -\n" in story
    assert warnings_in(story) == ""


@pytest.mark.parametrize("kind, text", [
    ("p2wpkh", "Change output is fraudulent"),
    ("p2pkh", "Change output is fraudulent"),
    ("p2sh-p2wpkh", "Change output is fraudulent"),
    pytest.param("p2pk", "P2PK change output is fraudulent", marks=pytest.mark.emulator_only),
])
def test_change_paying_another_key_is_fraud(target, kind, text):
    # the derivation names our key, the script pays the other seed's key at that path
    lie = Pay(our_script(kind, "m/84h/1h/0h/1/0", OTHER_KEYS), 495_000, "m/84h/1h/0h/1/0", kind)
    psbt = build([Spend()], [Pay(PAY_SCRIPT, 500_000), lie])
    assert failure(target, psbt) == "Output#1: " + text


def test_p2sh_change_without_its_redeem_script_is_refused(target):
    bare = Pay(our_script("p2sh-p2wpkh", "m/84h/1h/0h/1/0"), 495_000, "m/84h/1h/0h/1/0")
    psbt = build([Spend()], [Pay(PAY_SCRIPT, 500_000), bare])
    assert failure(target, psbt) == "Missing redeem script for output #1"


def test_change_at_a_path_that_is_not_its_key_fails_when_signing(target):
    liar = change(stated_path="m/84h/1h/0h/1/1", value=495_000)
    psbt = build([Spend()], [Pay(PAY_SCRIPT, 500_000), liar])
    assert failure(target, psbt, approve=True) == (
        "Output#1: Deception regarding change output. BIP-32 path doesn't match actual address.")


def test_output_of_another_wallet_is_a_payment(target):
    theirs = change(keys=OTHER_KEYS, value=495_000)
    story = visualize(target, build([Spend()], [Pay(PAY_SCRIPT, 500_000), theirs]))
    assert story.startswith("Sending 0.00995000 XTN\n")
    assert "Change back" not in story


# ---- what the warnings do to an HSM policy ----------------------------------------------

@pytest.fixture
def hsm(target):
    client = ColdcardClient(target.path)

    def reset():
        reset_hsm(client)

    def start(policy: dict) -> ColdcardClient:
        reset()
        client.start_hsm(policy, press_ok_on_simulator=True)
        return client

    yield start
    if target.process is None or target.process.alive:
        reset()


def test_hsm_signs_an_op_return_and_refuses_a_foreign_input_unless_warnings_are_ok(hsm):
    client = hsm({"rules": [{}]})
    signed = client.sign_psbt(spend_and_change(op_return(b"hello")))
    assert len(signed) > 0
    foreign = build([Spend(), Spend(keys=OTHER_KEYS, derive=False, value=200_000)],
                    [Pay(PAY_SCRIPT, 700_000), change(value=495_000)])
    with pytest.raises(SigningRefused) as err:
        client.sign_psbt(foreign)
    assert err.value.reason == "Rejected: has 1 warning(s)"
    troublesome = spend_and_change(change_path="m/84h/1h/0h/5/0")
    with pytest.raises(SigningRefused) as err:
        client.sign_psbt(troublesome)
    assert err.value.reason == "Rejected: has 1 warning(s)"
    lenient = hsm({"warnings_ok": True, "rules": [{}]})
    assert lenient.sign_psbt(foreign)
    assert lenient.sign_psbt(troublesome)
