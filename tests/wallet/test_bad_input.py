"""Bad input to the wallet's parsers and the PSBT finalizer: a typed error, never a crash
(issue 14's reproductions, then property tests)."""

from __future__ import annotations

import hashlib

import pytest
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.wallet import (
    REGTEST,
    RECEIVE,
    Payment,
    Psbt,
    PsbtError,
    PsbtIncomplete,
    PsbtSignerCheckError,
    WalletError,
    create_psbt,
    descriptor_checksum,
    finalize,
    parse_address,
    parse_descriptor,
    parse_psbt,
    serialize_psbt,
)

from ..outside import huge_numbers, mutations, odd_text, refused_or_parsed
from .conftest import account_key, funding_coin

PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def _spending(prev: Transaction, vout: int = 0) -> Psbt:
    tx = Transaction(version=2, vin=[TransactionInput(prev.txid(), vout)],
                     vout=[TransactionOutput(1000, Script(b"\x00\x14" + b"\x22" * 20))])
    return Psbt(tx)


def _prev(script_pubkey: bytes, outputs: int = 1) -> Transaction:
    return Transaction(version=2, vin=[TransactionInput(b"\x11" * 32, 0)],
                       vout=[TransactionOutput(50_000, Script(script_pubkey))] * outputs)


# -- issue 14 reproductions ------------------------------------------------------------------


def _with_and_without_checksum(text: str) -> list[str]:
    # '²' is outside the checksum alphabet: such a descriptor is only ever seen without one
    return [text, f"{text}#{descriptor_checksum(text)}"] if text.isascii() else [text]


@pytest.mark.parametrize("step", ["1" * 4301, "²", "٣"], ids=["4301-digits", "superscript", "arabic-indic"])
def test_origin_step_of_odd_digits_is_a_descriptor_error(roots, step):
    key = account_key(roots[0], "m/84h/1h/0h", "0/*").replace("/84h/", f"/{step}/", 1)
    for text in (f"wpkh({key})", f"tr({key})"):
        for body in _with_and_without_checksum(text):
            with pytest.raises(WalletError, match="is not a derivation step"):
                parse_descriptor(body, REGTEST)


@pytest.mark.parametrize("threshold", ["1" * 4301, "²", "٢"], ids=["4301-digits", "superscript", "arabic-indic"])
def test_threshold_of_odd_digits_is_a_descriptor_error(roots, threshold):
    text = "wsh(sortedmulti(%s,%s))" % (threshold, ",".join(account_key(r) for r in roots))
    for body in _with_and_without_checksum(text):
        with pytest.raises(WalletError, match="threshold") as caught:
            parse_descriptor(body, REGTEST)
        assert len(str(caught.value)) < 200  # quotes an excerpt, not 4,301 digits


def test_off_curve_key_in_a_witness_script_is_a_psbt_error():
    witness_script = b"\x51\x21\x02" + b"\xff" * 32 + b"\x51\xae"  # 1-of-1, x beyond the field
    spk = b"\x00\x20" + hashlib.sha256(witness_script).digest()
    psbt = _spending(_prev(spk))
    psbt.inputs[0].witness_utxo = TransactionOutput(50_000, Script(spk))
    psbt.inputs[0].witness_script = Script(witness_script)
    with pytest.raises(PsbtIncomplete, match="not a k-of-n multisig"):
        finalize(psbt)


def test_redeem_script_too_large_to_push_is_a_psbt_error():
    redeem = b"\x51" * 70_000
    prev = _prev(b"\xa9\x14" + _hash160(redeem) + b"\x87")
    psbt = _spending(prev)
    psbt.inputs[0].non_witness_utxo = prev
    psbt.inputs[0].redeem_script = Script(redeem)
    with pytest.raises(PsbtIncomplete, match="at most 520"):
        finalize(psbt)


def test_taproot_input_beside_a_previous_tx_without_the_spent_output_is_a_psbt_error():
    tr_spk = b"\x51\x20" + bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    tr_prev, other_prev = _prev(tr_spk), _prev(b"\x00\x14" + b"\x33" * 20)
    tx = Transaction(version=2, vin=[TransactionInput(tr_prev.txid(), 0), TransactionInput(other_prev.txid(), 5)],
                     vout=[TransactionOutput(1000, Script(b"\x00\x14" + b"\x22" * 20))])
    psbt = Psbt(tx)
    psbt.inputs[0].witness_utxo = tr_prev.vout[0]
    psbt.inputs[0].taproot_key_sig = b"\x01" * 64
    psbt.inputs[1].non_witness_utxo = other_prev
    with pytest.raises(PsbtSignerCheckError, match="no output 5"):
        finalize(psbt)


# -- property tests --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid_psbt(multisig) -> bytes:
    coin = funding_coin(multisig.script_pubkey(RECEIVE, 0), 1_000_000, RECEIVE, 0)
    psbt = create_psbt(multisig, [coin], [Payment(parse_address(PAY_TO, REGTEST), 400_000)],
                       change_amount=599_000, change_index=0)
    return psbt.to_bytes()


@settings(max_examples=120)
@given(data=st.data())
def test_psbt_reading_and_finalizing_raise_only_psbt_errors(valid_psbt, data):
    blob = data.draw(st.binary(max_size=400) | mutations(valid_psbt))
    psbt = refused_or_parsed(parse_psbt, blob, PsbtError)
    if psbt is not None:
        refused_or_parsed(finalize, psbt, PsbtError)


@settings(max_examples=120)
@given(data=st.data())
def test_descriptor_parsing_raises_only_wallet_errors(multisig_text, roots, data):
    # every template: the wsh multisig, and both nested forms (sh(wsh(...)), sh(wpkh(...)))
    base = data.draw(st.sampled_from([
        multisig_text, f"sh({multisig_text})", "sh(wpkh(%s))" % account_key(roots[1], "m/49h/1h/0h")]))
    valid = base.encode()
    text = data.draw(
        mutations(valid).map(lambda b: b.decode("utf-8", "replace"))
        | odd_text
        | huge_numbers.map(lambda n: base.replace("(2,", f"({n},"))
        | huge_numbers.map(lambda n: base.replace("h/1h/0h", f"h/{n}/0h", 1))
    )
    if data.draw(st.booleans()):
        try:
            text = f"{text}#{descriptor_checksum(text)}"
        except WalletError:
            pass  # a character outside the checksum alphabet: parse_descriptor must refuse it
    refused_or_parsed(lambda t: parse_descriptor(t, REGTEST), text, WalletError)


@settings(max_examples=150)
@given(st.sampled_from([PAY_TO, "2N8hwP1WmJrFF5QWABn38y63uYLhnJYJYTF", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"]).flatmap(
    lambda valid: mutations(valid.encode()).map(lambda b: b.decode("utf-8", "replace"))) | odd_text)
def test_address_parsing_raises_only_wallet_errors(text):
    refused_or_parsed(lambda t: parse_address(t, REGTEST), text, WalletError)
