"""Multisig change in each wallet format, as firmware v5.4.5 judges it
(psbt.py: psbtOutputProxy.validate, determine_my_signing_key): change only for the
active wallet's own format and exact script, fraud named by output, signatures over the
right digest for P2WSH, P2SH-P2WSH and P2SH inputs."""

from __future__ import annotations

import coincurve
import pytest

from backends.coldcard.client import ColdcardClient

from .multisig_psbt import Address, build, sighash_all, wallet_file
from .single_sig import PAY_SCRIPT
from .stxn import approve_and_sign, failure, visualize, warnings_in

FORMATS = ["p2wsh", "p2sh-p2wsh", "p2sh"]


@pytest.fixture(scope="module")
def enrolled(shared_target):
    client = ColdcardClient(shared_target.path)
    for fmt in FORMATS:  # enrolling one already there only shows "Duplicate wallet"
        client.enroll_multisig(wallet_file(fmt), press_ok_on_simulator=True)
    return shared_target


def spend(fmt: str, change: Address | None = None, **scripts):
    change = change or Address(fmt, 1, 0)
    psbt = build(fmt, [(PAY_SCRIPT, 500_000), (change.script_pubkey, 495_000)])
    change.describe(psbt.outputs[1], **scripts)
    return psbt


@pytest.mark.parametrize("fmt", FORMATS)
def test_change_of_the_active_wallet_is_recognised_and_the_input_signed(enrolled, fmt):
    psbt = spend(fmt)
    story = visualize(enrolled, psbt.serialize())
    assert story.startswith("Sending 0.00500000 XTN\nNetwork fee 0.00005000 XTN\n\n")
    assert "Change back:\n0.00495000 XTN\n" in story
    assert warnings_in(story) == ""
    signed = approve_and_sign(enrolled, psbt.serialize())
    ours = Address(fmt, 0, 0).pubkeys[0]
    (pub, sig), = [(p, s) for p, s in signed.inputs[0].partial_sigs.items() if p.sec() == ours]
    assert sig[-1] == 0x01
    assert coincurve.PublicKey(ours).verify(sig[:-1], sighash_all(psbt, fmt), hasher=None)


@pytest.mark.parametrize("fmt, other", [("p2sh-p2wsh", "p2wsh"), ("p2wsh", "p2sh-p2wsh"), ("p2sh", "p2sh-p2wsh")])
def test_output_in_another_format_is_a_payment(enrolled, fmt, other):
    story = visualize(enrolled, spend(fmt, Address(other, 1, 0)).serialize())
    assert story.startswith("Sending 0.00995000 XTN\n")
    assert "Change back" not in story


def test_p2sh_p2wsh_change_whose_redeem_script_is_not_its_witness_script_is_fraud(enrolled):
    wrong = Address("p2sh-p2wsh", 1, 1).redeem_script
    assert failure(enrolled, spend("p2sh-p2wsh", redeem=wrong).serialize()) == (
        "Output#1: P2SH-P2WSH redeem script provided, and doesn't match")


@pytest.mark.parametrize("fmt", ["p2sh-p2wsh", "p2sh"])
def test_p2sh_change_paying_another_script_is_fraud(enrolled, fmt):
    # the derivations and scripts describe /1/0, the output pays /1/1
    psbt = build(fmt, [(PAY_SCRIPT, 500_000), (Address(fmt, 1, 1).script_pubkey, 495_000)])
    Address(fmt, 1, 0).describe(psbt.outputs[1])
    assert failure(enrolled, psbt.serialize()) == "Output#1: Change output is fraudulent"


def test_p2wsh_change_paying_another_script_is_fraud(enrolled):
    psbt = build("p2wsh", [(PAY_SCRIPT, 500_000), (Address("p2wsh", 1, 1).script_pubkey, 495_000)])
    Address("p2wsh", 1, 0).describe(psbt.outputs[1])
    assert failure(enrolled, psbt.serialize()) == "Output#1: P2WSH witness script has wrong hash"


def test_multisig_change_without_scripts_is_refused(enrolled):
    change = Address("p2wsh", 1, 0)
    psbt = build("p2wsh", [(PAY_SCRIPT, 500_000), (change.script_pubkey, 495_000)])
    change.describe(psbt.outputs[1])
    psbt.outputs[1].witness_script = None
    assert failure(enrolled, psbt.serialize()) == "Missing redeem/witness script for multisig output #1"


def test_input_of_a_wallet_not_enrolled_is_refused(enrolled):
    psbt = build("p2sh-p2wsh", [(PAY_SCRIPT, 995_000)])
    for der in psbt.inputs[0].bip32_derivations.values():
        der.derivation[3] = 0x80000000 | 7  # an account no wallet file names
    assert failure(enrolled, psbt.serialize()) == "Unknown multisig wallet"

