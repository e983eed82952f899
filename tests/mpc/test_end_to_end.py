"""ChillDKG -> taproot address -> funded on the embedded chain -> PSBT -> BIP-445 key-path
signature by a threshold subset -> finalized, broadcast and mined by libbitcoinkernel."""

from __future__ import annotations

import pytest
from embit.script import Script
from embit.transaction import SIGHASH, Transaction, TransactionInput, TransactionOutput

from backends.mpc import frost, taproot
from backends.mpc.bip340 import schnorr_verify
from backends.mpc.inmemory import run_in_memory
from backends.wallet.addresses import parse_address
from backends.wallet.psbt import Psbt, parse_psbt, serialize_psbt
from backends.wallet.psbt_finalize import extract, finalize
from backends.chain.errors import TransactionRejected
from tests.chain.funding import BURN_ADDRESS
from tests.chain.wallets import flip_signature_byte

FEE = 2_000


def threshold_sign(dkg, signer_ids: tuple[int, ...], msg: bytes) -> bytes:
    """Every step of a BIP-445 session, with the taproot key-path tweak, as separate parties would."""
    out = dkg.coordinator_output
    n, t = len(out.pubshares), dkg.params.t
    ctx = frost.SignersCtx(n, t, signer_ids, tuple(out.pubshares[i] for i in signer_ids), out.thresh_pk)
    tweaks, is_xonly = taproot.signing_tweaks(out.thresh_pk)
    output_key = bytes(taproot.output_key(out.thresh_pk))
    nonces = [
        frost.nonce_gen(dkg.outputs[i].secshare, out.pubshares[i], output_key, msg) for i in signer_ids
    ]
    pubnonces = [pub for _, pub in nonces]
    session = frost.SessionCtx(ctx, frost.nonce_agg(pubnonces), tweaks, is_xonly, msg)
    psigs = [frost.sign(sec, dkg.outputs[i].secshare, i, session) for (sec, _), i in zip(nonces, signer_ids)]
    for k in range(len(signer_ids)):
        assert frost.partial_sig_verify(psigs[k], pubnonces, ctx, tweaks, is_xonly, msg, k)
    sig = frost.partial_sig_agg(psigs, session)
    assert schnorr_verify(msg, output_key, sig)
    return sig


@pytest.mark.slow
@pytest.mark.parametrize("t,n,signers", [(2, 3, (0, 2)), (3, 5, (4, 1, 3))], ids=["2-of-3", "3-of-5"])
def test_threshold_group_spends_its_taproot_coin_on_the_embedded_chain(embedded, t, n, signers):
    dkg = run_in_memory(t, n)
    thresh_pk = dkg.coordinator_output.thresh_pk
    # every participant derived the same group key and shares
    assert all(o.thresh_pk == thresh_pk and o.pubshares == dkg.coordinator_output.pubshares for o in dkg.outputs)
    address = taproot.address(thresh_pk, "regtest")
    assert address.startswith("bcrt1p")
    spk = taproot.output_script(thresh_pk)
    assert parse_address(address, "regtest") == spk

    embedded.watch(taproot.descriptor(thresh_pk), label="frost group")
    embedded.mine(1, address)
    embedded.mine(100, BURN_ADDRESS)
    (coin,) = [u for u in embedded.utxos() if u.script_pubkey == spk]

    burn = parse_address(BURN_ADDRESS, "regtest")
    tx = Transaction(
        version=2,
        vin=[TransactionInput(bytes.fromhex(coin.txid), coin.vout, sequence=0xFFFFFFFD)],
        vout=[TransactionOutput(coin.amount_sat - FEE, Script(burn))],
    )
    psbt = Psbt(tx)
    psbt.inputs[0].witness_utxo = TransactionOutput(coin.amount_sat, Script(spk))
    psbt = parse_psbt(serialize_psbt(psbt))  # as a signer would receive it

    sighash = psbt.sighash(0, sighash=SIGHASH.DEFAULT)
    psbt.inputs[0].taproot_key_sig = threshold_sign(dkg, signers, sighash)
    raw = extract(finalize(psbt))

    with pytest.raises(TransactionRejected):  # the kernel really checks the group's signature
        embedded.broadcast(flip_signature_byte(raw, "tr"))
    txid = embedded.broadcast(raw)
    embedded.mine(1, BURN_ADDRESS)
    assert embedded.tx_status(txid).confirmations == 1
    assert not [u for u in embedded.utxos() if u.script_pubkey == spk]
