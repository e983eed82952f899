"""Create -> sign (2 of 3) -> combine -> finalize -> extract, and the ways it must refuse."""

import base64

import pytest
from embit.descriptor import Descriptor as EmbitDescriptor
from embit.psbt import PSBT as EmbitPSBT
from embit.transaction import Transaction

from backends.wallet import (
    CHANGE,
    RECEIVE,
    REGTEST,
    Payment,
    PsbtBuildError,
    PsbtFormatError,
    PsbtIncomplete,
    PsbtMismatch,
    PsbtSignatureError,
    PsbtVersionError,
    Utxo,
    combine,
    create_psbt,
    estimate_vsize,
    extract,
    finalize,
    parse_address,
    parse_psbt,
    serialize_psbt,
)

from backends.wallet.fees import output_size

from .conftest import funding_coin

PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
FUNDING_TXID = "078a2b4b67d61e7c760d7c1ae390d70c27351a05be7be8b7f40d6608bdce9908"
SIGNED_TXID = "c087bce369f182104da3d14f19ce9fcfa9016e96b0abbb5f1a017f0b180916e5"

try:  # Bitcoin Core's consensus code, when the platform has a wheel for it
    import pbk
    from pbk.script import PrecomputedTransactionData
except ImportError:  # pragma: no cover - exercised on platforms without the wheel
    pbk = None


def consensus_accepts(raw: bytes, spent: list[tuple[int, bytes]]) -> bool:
    """Every input of ``raw`` verifies under all consensus flags (libbitcoinkernel)."""
    if pbk is None:
        pytest.skip("py-bitcoinkernel is not available on this platform")
    tx = pbk.Transaction(raw)
    outputs = [pbk.TransactionOutput(pbk.ScriptPubkey(spk), amount) for amount, spk in spent]
    data = PrecomputedTransactionData(tx, outputs)
    return all(
        pbk.ScriptPubkey(spk).verify(amount, tx, data, i, pbk.ScriptVerificationFlags.ALL)
        for i, (amount, spk) in enumerate(spent)
    )


@pytest.fixture
def coin(multisig):
    return funding_coin(multisig.script_pubkey(RECEIVE, 0), 1_000_000, RECEIVE, 0)


@pytest.fixture
def unsigned(multisig, coin):
    payment = Payment(parse_address(PAY_TO, REGTEST), 400_000)
    return create_psbt(multisig, [coin], [payment], change_amount=599_000, change_index=0)


def signed_by(unsigned, root):
    copy = parse_psbt(serialize_psbt(unsigned))
    assert copy.sign_with(root) == 1
    return copy


def test_created_psbt_carries_utxos_scripts_and_origins(unsigned, coin, multisig):
    assert coin.txid == FUNDING_TXID
    inp = unsigned.inputs[0]
    assert inp.witness_utxo.value == 1_000_000
    assert inp.non_witness_utxo.txid().hex() == FUNDING_TXID
    assert inp.witness_script.data == multisig.witness_script(RECEIVE, 0)
    assert sorted(d.fingerprint.hex() for d in inp.bip32_derivations.values()) == sorted(
        ["f2b4577a", "e8032820", "4cef0100"]
    )
    assert len(unsigned.xpubs) == 3
    assert unsigned.fee() == 1_000
    assert all(txin.sequence == 0xFFFFFFFD for txin in unsigned.tx.vin)


def test_change_is_recognisable_by_its_derivation(unsigned, multisig):
    change = unsigned.outputs[1]
    paths = {tuple(d.derivation[-2:]) for d in change.bip32_derivations.values()}
    assert paths == {(CHANGE, 0)}
    assert change.witness_script.data == multisig.witness_script(CHANGE, 0)
    watcher = EmbitDescriptor.from_string(multisig.to_string())
    assert watcher.owns(change) and not watcher.owns(unsigned.outputs[0])


def test_two_of_three_spend_gives_the_agreed_txid_and_consensus_accepts_it(unsigned, roots, coin):
    first, third = signed_by(unsigned, roots[0]), signed_by(unsigned, roots[2])
    final = finalize(combine([first, third]))
    raw = extract(final)
    assert Transaction.parse(raw).txid().hex() == SIGNED_TXID
    assert consensus_accepts(raw, [(coin.value, coin.script_pubkey)])


@pytest.mark.parametrize("pair", [(0, 1), (1, 2), (2, 0)])
def test_any_two_cosigners_complete_the_spend(unsigned, roots, coin, pair):
    psbts = [signed_by(unsigned, roots[i]) for i in pair]
    raw = extract(finalize(combine(psbts)))
    assert consensus_accepts(raw, [(coin.value, coin.script_pubkey)])


def test_one_signature_is_incomplete_and_names_who_can_still_sign(unsigned, roots):
    with pytest.raises(PsbtIncomplete) as err:
        finalize(signed_by(unsigned, roots[0]))
    message = str(err.value)
    assert "1 of 2" in message and "f2b4577a" in message
    assert "e8032820" in message and "4cef0100" in message


def test_extract_before_finalize_is_refused(unsigned):
    with pytest.raises(PsbtIncomplete, match="not finalized"):
        extract(unsigned)


def test_flipped_signature_byte_is_refused_at_finalize(unsigned, roots):
    tampered = combine([signed_by(unsigned, roots[0]), signed_by(unsigned, roots[1])])
    pub, sig = next(iter(tampered.inputs[0].partial_sigs.items()))
    tampered.inputs[0].partial_sigs[pub] = sig[:10] + bytes([sig[10] ^ 1]) + sig[11:]
    with pytest.raises(PsbtSignatureError, match="does not verify"):
        finalize(tampered)


def test_signature_over_another_transaction_is_refused(multisig, coin, roots):
    pay = Payment(parse_address(PAY_TO, REGTEST), 400_000)
    bumped = create_psbt(multisig, [coin], [Payment(pay.script_pubkey, 400_001)], change_amount=598_000, change_index=0)
    honest = create_psbt(multisig, [coin], [pay], change_amount=599_000, change_index=0)
    sig_a = signed_by(honest, roots[0])
    sig_b = signed_by(honest, roots[1])
    # graft the honest signatures onto the bumped transaction
    target = parse_psbt(serialize_psbt(bumped))
    target.inputs[0].partial_sigs.update(sig_a.inputs[0].partial_sigs)
    target.inputs[0].partial_sigs.update(sig_b.inputs[0].partial_sigs)
    with pytest.raises(PsbtSignatureError):
        finalize(target)


def test_combining_psbts_of_different_transactions_is_refused(multisig, coin, unsigned):
    other = create_psbt(multisig, [coin], [Payment(parse_address(PAY_TO, REGTEST), 500_000)], change_amount=499_000, change_index=0)
    with pytest.raises(PsbtMismatch, match="PSBT 2"):
        combine([unsigned, other])
    with pytest.raises(PsbtMismatch):
        combine([])


def test_combine_keeps_every_signature_and_is_order_independent(unsigned, roots):
    a, b = signed_by(unsigned, roots[0]), signed_by(unsigned, roots[1])
    ab, ba = combine([a, b]), combine([b, a])
    assert len(ab.inputs[0].partial_sigs) == 2
    assert extract(finalize(ab)) == extract(finalize(ba))


def test_taproot_key_path_spend_from_tap_key_sig(taproot, roots):
    coin = funding_coin(taproot.script_pubkey(RECEIVE, 0), 500_000, RECEIVE, 0, seed=b"\x22")
    psbt = create_psbt(taproot, [coin], [Payment(parse_address(PAY_TO, REGTEST), 499_000)])
    inp = psbt.inputs[0]
    assert inp.taproot_internal_key is not None and len(inp.taproot_bip32_derivations) == 1
    with pytest.raises(PsbtIncomplete, match="taproot"):
        finalize(psbt)
    assert psbt.sign_with(roots[0]) == 1
    # embit writes the key-path signature as a final witness; a Core or Coldcard signer
    # returns PSBT_IN_TAP_KEY_SIG instead, which is what the finalizer must handle
    inp.taproot_key_sig = inp.final_scriptwitness.items[0]
    inp.final_scriptwitness = None
    exchanged = parse_psbt(serialize_psbt(psbt, "binary"))
    assert exchanged.inputs[0].taproot_key_sig == inp.taproot_key_sig
    raw = extract(finalize(exchanged))
    assert consensus_accepts(raw, [(coin.value, coin.script_pubkey)])


def test_taproot_tampered_key_sig_is_refused(taproot, roots):
    coin = funding_coin(taproot.script_pubkey(RECEIVE, 0), 500_000, RECEIVE, 0, seed=b"\x22")
    psbt = create_psbt(taproot, [coin], [Payment(parse_address(PAY_TO, REGTEST), 499_000)])
    psbt.sign_with(roots[0])
    sig = psbt.inputs[0].final_scriptwitness.items[0]
    psbt.inputs[0].final_scriptwitness = None
    psbt.inputs[0].taproot_key_sig = bytes([sig[0] ^ 1]) + sig[1:]
    with pytest.raises(PsbtSignatureError, match="taproot"):
        finalize(psbt)


def test_wpkh_spend(wpkh, roots):
    coin = funding_coin(wpkh.script_pubkey(RECEIVE, 3), 80_000, RECEIVE, 3, seed=b"\x33")
    psbt = create_psbt(wpkh, [coin], [Payment(parse_address(PAY_TO, REGTEST), 50_000)], change_amount=29_000, change_index=1)
    assert psbt.sign_with(roots[1]) == 1
    raw = extract(finalize(psbt))
    assert consensus_accepts(raw, [(coin.value, coin.script_pubkey)])


@pytest.mark.parametrize("name", ["sh_wpkh", "sh_multisig"])
def test_nested_spend_carries_both_scripts_and_finalizes_to_a_redeem_script_push(request, roots, name):
    descriptor = request.getfixturevalue(name)
    coin = funding_coin(descriptor.script_pubkey(RECEIVE, 2), 90_000, RECEIVE, 2, seed=b"\x34")
    psbt = create_psbt(descriptor, [coin], [Payment(parse_address(PAY_TO, REGTEST), 50_000)],
                       change_amount=39_000, change_index=4)
    for scope, branch, index in ((psbt.inputs[0], RECEIVE, 2), (psbt.outputs[1], CHANGE, 4)):
        assert scope.redeem_script.data == descriptor.redeem_script(branch, index)
        ws = descriptor.witness_script(branch, index)
        assert (scope.witness_script.data if scope.witness_script else None) == ws
    assert EmbitDescriptor.from_string(descriptor.to_string()).owns(psbt.outputs[1])
    signers = [roots[0], roots[2]] if descriptor.is_multisig else [roots[1]]
    final = finalize(combine([signed_by(psbt, root) for root in signers]))
    raw = extract(final)
    tx = Transaction.parse(raw)
    assert tx.vin[0].script_sig.data == bytes([len(descriptor.redeem_script(RECEIVE, 2))]) + descriptor.redeem_script(
        RECEIVE, 2)
    assert len(tx.vin[0].witness.items) == (4 if descriptor.is_multisig else 2)
    assert consensus_accepts(raw, [(coin.value, coin.script_pubkey)])
    # the estimate is an upper bound within a few vbytes (ECDSA signatures are 71 or 72 bytes)
    actual = (len(_stripped(tx)) * 3 + len(raw) + 3) // 4
    estimate = estimate_vsize(descriptor.kind, 1, [output_size(o.script_pubkey.data) for o in tx.vout])
    assert 0 <= estimate - actual <= 2


def _stripped(tx: Transaction) -> bytes:
    return Transaction(version=tx.version, vin=[type(i)(i.txid, i.vout, script_sig=i.script_sig, sequence=i.sequence)
                                                for i in tx.vin], vout=tx.vout, locktime=tx.locktime).serialize()


def test_version_2_psbt_is_refused_with_a_clear_error(unsigned):
    v2 = EmbitPSBT.parse(unsigned.serialize())
    v2.version = 2
    with pytest.raises(PsbtVersionError, match="version 0"):
        parse_psbt(v2.serialize())


@pytest.mark.parametrize(
    "data",
    [b"", b"psbt\xff", b"not a psbt at all", "cHNidP8=", "!!!not base64!!!", b"\x00\xff" * 10],
    ids=["empty", "magic only", "text", "base64 magic only", "not base64", "binary junk"],
)
def test_malformed_input_gives_a_format_error_not_a_traceback(data):
    with pytest.raises(PsbtFormatError):
        parse_psbt(data)


def test_truncated_psbt_is_refused_at_every_length(unsigned):
    raw = unsigned.serialize()
    for cut in range(0, len(raw), 7):
        with pytest.raises(PsbtFormatError):
            parse_psbt(raw[:cut])


def test_base64_with_line_breaks_is_accepted(unsigned):
    text = serialize_psbt(unsigned)
    wrapped = "\n".join(text[i : i + 64] for i in range(0, len(text), 64))
    assert parse_psbt(wrapped.encode()).serialize() == unsigned.serialize()
    assert base64.b64decode(text) == serialize_psbt(unsigned, "binary")


def test_sequence_zero_survives_a_round_trip(multisig, coin):
    psbt = create_psbt(multisig, [coin], [Payment(parse_address(PAY_TO, REGTEST), 990_000)], sequence=0)
    assert parse_psbt(psbt.serialize()).tx.vin[0].sequence == 0


def test_scopes_do_not_share_unknown_fields(multisig, coin):
    a = create_psbt(multisig, [coin], [Payment(parse_address(PAY_TO, REGTEST), 990_000)])
    a.inputs[0].unknown[b"\xf0\x01"] = b"x"
    b = create_psbt(multisig, [coin], [Payment(parse_address(PAY_TO, REGTEST), 990_000)])
    assert b.inputs[0].unknown == {}


def test_building_refuses_foreign_coins_dust_and_overspend(multisig, coin, taproot):
    pay = parse_address(PAY_TO, REGTEST)
    foreign = funding_coin(taproot.script_pubkey(RECEIVE, 0), 10_000, RECEIVE, 0)
    with pytest.raises(PsbtBuildError, match="not the wallet's address"):
        create_psbt(multisig, [foreign], [Payment(pay, 5_000)])
    with pytest.raises(PsbtBuildError, match="dust"):
        create_psbt(multisig, [coin], [Payment(pay, 100)])
    with pytest.raises(PsbtBuildError, match="inputs hold only"):
        create_psbt(multisig, [coin], [Payment(pay, 1_000_001)])
    with pytest.raises(PsbtBuildError, match="twice"):
        create_psbt(multisig, [coin, coin], [Payment(pay, 5_000)])
    wrong_prev = Utxo(coin.txid, 0, coin.value + 1, coin.script_pubkey, 0, 0, coin.prev_tx)
    with pytest.raises(PsbtBuildError, match="disagrees"):
        create_psbt(multisig, [wrong_prev], [Payment(pay, 5_000)])


def test_coin_without_derivation_is_located_on_the_descriptor(multisig):
    coin = funding_coin(multisig.script_pubkey(CHANGE, 4), 50_000, CHANGE, 4)
    bare = Utxo(coin.txid, coin.vout, coin.value, coin.script_pubkey)
    psbt = create_psbt(multisig, [bare], [Payment(parse_address(PAY_TO, REGTEST), 40_000)])
    paths = {tuple(d.derivation[-2:]) for d in psbt.inputs[0].bip32_derivations.values()}
    assert paths == {(CHANGE, 4)} and psbt.inputs[0].non_witness_utxo is None


def test_taproot_key_sig_with_sighash_none_is_refused_at_finalize(taproot, roots):
    from embit.transaction import SIGHASH

    coin = funding_coin(taproot.script_pubkey(RECEIVE, 0), 500_000, RECEIVE, 0, seed=b"\x22")
    psbt = create_psbt(taproot, [coin], [Payment(parse_address(PAY_TO, REGTEST), 499_000)])
    output_key = roots[0].derive("m/86h/1h/0h/0/0").key.taproot_tweak(b"")
    # a valid signature that commits to no output: anyone relaying it could redirect the coins
    digest = psbt.sighash(0, sighash=SIGHASH.NONE)
    psbt.inputs[0].taproot_key_sig = output_key.schnorr_sign(digest).serialize() + bytes([SIGHASH.NONE])
    with pytest.raises(PsbtSignatureError, match="sighash 0x02"):
        finalize(psbt)


def test_witness_utxo_disagreeing_with_the_previous_transaction_fails_signer_checks(unsigned):
    from embit.transaction import TransactionOutput

    from backends.wallet import PsbtSignerCheckError, check_signable

    check_signable(unsigned)
    lying = parse_psbt(serialize_psbt(unsigned))
    inp = lying.inputs[0]
    inp.witness_utxo = TransactionOutput(900_000, inp.witness_utxo.script_pubkey)
    with pytest.raises(PsbtSignerCheckError, match="disagrees"):
        check_signable(lying)
