"""What every Chain backend must do alike (runs against EmbeddedChain, and bitcoind with BITCOIND set)."""

from __future__ import annotations

import pytest

from backends.chain import Chain, ChainError, TransactionRejected, TxStatus

from .funding import BURN_ADDRESS, RANGE_END, fund, watch_all
from .wallets import (
    ROOTS, coin_of, flip_signature_byte, multisig_wallet, sh_multisig_wallet, sh_wpkh_wallet, spend, taproot_wallet, wpkh_wallet,
)

COIN = 100_000_000
FEE = 2_000


def test_backend_satisfies_the_chain_interface(chain):
    assert isinstance(chain, Chain)
    assert chain.network == "regtest"
    assert chain.backend_name in ("embedded", "bitcoind")


def test_mining_moves_the_tip_to_the_last_mined_block(chain):
    start = chain.tip()
    hashes = chain.mine(3, BURN_ADDRESS)
    tip = chain.tip()
    assert len(hashes) == 3 and len(set(hashes)) == 3
    assert tip.height == start.height + 3
    assert tip.hash_hex == hashes[-1]
    assert tip.time >= start.time


def test_watched_coinbase_is_an_immature_utxo_that_gains_confirmations(chain):
    funded = watch_all(chain)
    chain.mine(1, funded.wpkh.address(3))
    [utxo] = chain.utxos(funded.wpkh.descriptor)
    assert (utxo.amount_sat, utxo.coinbase, utxo.confirmations) == (50 * COIN, True, 1)
    assert (utxo.branch, utxo.index) == (0, 3)
    assert utxo.height == chain.tip().height
    chain.mine(99, BURN_ADDRESS)
    [utxo] = chain.utxos(funded.wpkh.descriptor)
    assert utxo.confirmations == 100
    assert chain.utxos(funded.multisig.descriptor) == []


@pytest.mark.parametrize("wallet_name", ["wpkh", "multisig", "taproot"])
def test_signed_spend_is_accepted_into_the_mempool_then_confirmed(chain, wallet_name):
    funded = fund(chain)
    wallet = getattr(funded, wallet_name)
    [coin] = funded.coins(chain, wallet)
    pay = 10 * COIN
    raw = spend([coin], [(funded.wpkh.script(5), pay), (wallet.script(0, branch=1), coin.amount_sat - pay - FEE)])
    assert chain.tx_status(coin.txid).state == "confirmed"
    txid = chain.broadcast(raw)
    assert chain.tx_status(txid).state == "mempool"
    unconfirmed = {(u.txid, u.vout): u for u in chain.utxos() if u.confirmations == 0}
    assert unconfirmed[(txid, 1)].branch == 1 and unconfirmed[(txid, 1)].descriptor == wallet.descriptor
    assert all(u.txid != coin.txid for u in chain.utxos(wallet.descriptor))  # spent in the mempool
    chain.mine(1, BURN_ADDRESS)
    status = chain.tx_status(txid)
    assert (status.state, status.confirmations) == ("confirmed", 1)
    chain.mine(1, BURN_ADDRESS)
    assert chain.tx_status(txid).confirmations == 2


def test_history_counts_mempool_and_confirmed_spends_for_velocity(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.multisig)
    first = spend([coin], [(bytes.fromhex("0014" + "22" * 20), 3 * COIN),
                           (funded.multisig.script(0, branch=1), coin.amount_sat - 3 * COIN - FEE)])
    first_txid = chain.broadcast(first)
    chain.mine(1, BURN_ADDRESS)
    [change] = [c for c in funded.coins(chain, funded.multisig) if c.txid == first_txid]
    second = spend([change], [(bytes.fromhex("0014" + "33" * 20), 2 * COIN),
                              (funded.multisig.script(1, branch=1), change.amount_sat - 2 * COIN - FEE)])
    second_txid = chain.broadcast(second)

    history = {e.txid: e for e in chain.history(funded.multisig.descriptor)}
    assert set(history) == {coin.txid, first_txid, second_txid}
    received = history[coin.txid]
    assert (received.received_sat, received.sent_sat, received.fee_sat) == (50 * COIN, 0, None)
    confirmed, pending = history[first_txid], history[second_txid]
    assert (confirmed.confirmations, confirmed.height) == (1, chain.tip().height)
    assert (pending.confirmations, pending.height) == (0, None)
    assert confirmed.sent_sat == 50 * COIN and confirmed.fee_sat == FEE
    assert pending.sent_sat == change.amount_sat and pending.fee_sat == FEE
    assert confirmed.outflow_sat == 3 * COIN + FEE
    assert sum(e.outflow_sat for e in history.values()) == 5 * COIN + 2 * FEE
    # the payee side of the same transactions is not watched, so whole-wallet history agrees
    everything = {e.txid: e for e in chain.history()}
    assert everything[second_txid].outflow_sat == 2 * COIN + FEE


def test_spend_between_watched_wallets_shows_on_both_sides(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.wpkh)
    raw = spend([coin], [(funded.taproot.script(2), 7 * COIN), (funded.wpkh.script(0, branch=1), coin.amount_sat - 7 * COIN - FEE)])
    txid = chain.broadcast(raw)
    [to_taproot] = [e for e in chain.history(funded.taproot.descriptor) if e.txid == txid]
    assert (to_taproot.received_sat, to_taproot.sent_sat, to_taproot.fee_sat) == (7 * COIN, 0, None)
    [from_wpkh] = [e for e in chain.history(funded.wpkh.descriptor) if e.txid == txid]
    assert from_wpkh.net_sat == -(7 * COIN + FEE)


def test_a_fee_is_reported_only_when_every_input_is_watched(chain):
    funded = fund(chain)
    [ours] = funded.coins(chain, funded.wpkh)
    [other] = funded.coins(chain, funded.taproot)  # not part of the wpkh descriptor
    raw = spend([ours, other], [(bytes.fromhex("0014" + "44" * 20), 100 * COIN - FEE)])
    txid = chain.broadcast(raw)
    for _ in range(2):  # in the mempool, then confirmed
        [seen_by_wpkh] = [e for e in chain.history(funded.wpkh.descriptor) if e.txid == txid]
        assert (seen_by_wpkh.sent_sat, seen_by_wpkh.fee_sat) == (50 * COIN, None)
        [seen_by_all] = [e for e in chain.history() if e.txid == txid]
        assert (seen_by_all.sent_sat, seen_by_all.fee_sat) == (100 * COIN, FEE)
        chain.mine(1, BURN_ADDRESS)


TEMPLATES = {"wpkh": wpkh_wallet, "sh-wpkh": sh_wpkh_wallet, "multisig": multisig_wallet,
             "sh-multisig": sh_multisig_wallet, "taproot": taproot_wallet}
EXTERNAL = bytes.fromhex("0014" + "55" * 20)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_read_agrees_for_each_descriptor_template(chain, template):
    """utxos, history (per descriptor and whole), tx_status for a ranged <0;1> descriptor of each
    template: a coinbase at receive/3, a payment in from another watched wallet to receive/4, a
    payment out with change to change/2; in the mempool, then confirmed."""
    wallet = TEMPLATES[template]()
    payer = taproot_wallet() if template == "wpkh" else wpkh_wallet()
    for watched in (wallet, payer):
        chain.watch(watched.descriptor, range_end=RANGE_END, label=watched.name)
    chain.mine(1, wallet.address(3))
    chain.mine(1, payer.address(0))
    chain.mine(100, BURN_ADDRESS)
    [coinbase] = chain.utxos(wallet.descriptor)
    assert (coinbase.branch, coinbase.index, coinbase.coinbase, coinbase.confirmations) == (0, 3, True, 102)
    assert (coinbase.script_pubkey, coinbase.amount_sat) == (wallet.script(3), 50 * COIN)
    [paying] = [coin_of(u, payer) for u in chain.utxos(payer.descriptor)]
    incoming = chain.broadcast(spend([paying], [(wallet.script(4), 5 * COIN),
                                                (payer.script(0, branch=1), paying.amount_sat - 5 * COIN - FEE)]))
    outgoing = chain.broadcast(spend([coin_of(coinbase, wallet)], [(EXTERNAL, 20 * COIN),
                                                                   (wallet.script(2, branch=1), 30 * COIN - FEE)]))
    for confirmations in (0, 1):
        utxos = {(u.txid, u.vout): u for u in chain.utxos(wallet.descriptor)}
        assert set(utxos) == {(incoming, 0), (outgoing, 1)}
        assert [(u.branch, u.index, u.amount_sat, u.confirmations, u.coinbase, u.descriptor)
                for u in (utxos[(incoming, 0)], utxos[(outgoing, 1)])] == [
            (0, 4, 5 * COIN, confirmations, False, wallet.descriptor),
            (1, 2, 30 * COIN - FEE, confirmations, False, wallet.descriptor)]
        history = {e.txid: e for e in chain.history(wallet.descriptor)}
        assert set(history) == {coinbase.txid, incoming, outgoing}
        seen = {t: (e.received_sat, e.sent_sat, e.fee_sat, e.confirmations) for t, e in history.items()}
        assert seen == {coinbase.txid: (50 * COIN, 0, None, 102 + confirmations),
                        incoming: (5 * COIN, 0, None, confirmations),
                        outgoing: (30 * COIN - FEE, 50 * COIN, FEE, confirmations)}
        assert history[outgoing].outflow_sat == 20 * COIN + FEE
        whole = {e.txid: e for e in chain.history()}
        assert (whole[incoming].net_sat, whole[incoming].fee_sat) == (-FEE, FEE)  # between watched wallets
        assert {chain.tx_status(t) for t in (incoming, outgoing)} == {
            TxStatus("confirmed", 1) if confirmations else TxStatus("mempool", 0)}
        chain.mine(1, BURN_ADDRESS)


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_spend_the_wallet_layer_builds_signs_and_finalizes_is_accepted_then_confirmed(chain, template):
    """Not hand-signed: the PSBT path every custody flow uses (create, sign, combine, finalize,
    extract), for each template, accepted by the backend's mempool and mined."""
    from backends.wallet import CHANGE, Payment, combine, create_psbt, extract, finalize, parse_descriptor, spendable_coins

    from ..wallet.conftest import signed_copy

    wallet = TEMPLATES[template]()
    descriptor = parse_descriptor(wallet.descriptor, chain.network)
    chain.watch(wallet.descriptor, range_end=RANGE_END, label=wallet.name)
    chain.mine(1, wallet.address(6))
    chain.mine(100, BURN_ADDRESS)
    [coin] = spendable_coins(chain.utxos(wallet.descriptor))
    unsigned = create_psbt(descriptor, [coin], [Payment(EXTERNAL, 10 * COIN)],
                           change_amount=coin.value - 10 * COIN - FEE, change_index=2)
    signed = [signed_copy(unsigned, root) for root in ROOTS
              if any(k.origin.fingerprint == root.my_fingerprint for k in descriptor.keys)]
    raw = extract(finalize(combine(signed[: descriptor.threshold])))
    txid = chain.broadcast(raw)
    assert chain.tx_status(txid) == TxStatus("mempool", 0)
    chain.mine(1, BURN_ADDRESS)
    assert chain.tx_status(txid) == TxStatus("confirmed", 1)
    [change] = chain.utxos(wallet.descriptor)
    assert (change.txid, change.branch, change.index, change.amount_sat) == (txid, CHANGE, 2, 40 * COIN - FEE)
    [spent] = [e for e in chain.history(wallet.descriptor) if e.txid == txid]
    assert (spent.sent_sat, spent.fee_sat, spent.outflow_sat) == (50 * COIN, FEE, 10 * COIN + FEE)


def test_double_spend_of_a_mempool_coin_is_rejected(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.wpkh)
    chain.broadcast(spend([coin], [(funded.wpkh.script(1), coin.amount_sat - FEE)]))
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(spend([coin], [(funded.wpkh.script(2), coin.amount_sat - FEE)]))
    assert any(s in excinfo.value.reason for s in ("txn-mempool-conflict", "insufficient fee", "replacement"))


def test_double_spend_of_a_confirmed_spent_coin_is_rejected(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.taproot)
    chain.broadcast(spend([coin], [(funded.taproot.script(1), coin.amount_sat - FEE)]))
    chain.mine(1, BURN_ADDRESS)
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(spend([coin], [(funded.taproot.script(2), coin.amount_sat - 2 * FEE)]))
    assert "bad-txns-inputs-missingorspent" in excinfo.value.reason


def test_overspend_is_rejected_with_the_amounts(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.wpkh)
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(spend([coin], [(funded.wpkh.script(1), coin.amount_sat + 1)]))
    assert excinfo.value.reason == "bad-txns-in-belowout, value in (50.00) < value out (50.00000001)"


def test_a_dust_output_is_rejected(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.wpkh)
    with pytest.raises(TransactionRejected) as excinfo:  # p2wpkh dust: below 294 sat at 3 sat/vB
        chain.broadcast(spend([coin], [(funded.wpkh.script(1), 293), (funded.wpkh.script(2), coin.amount_sat - 293 - FEE)]))
    assert excinfo.value.reason.startswith("dust")
    chain.broadcast(spend([coin], [(funded.wpkh.script(1), 294), (funded.wpkh.script(2), coin.amount_sat - 294 - FEE)]))


def test_immature_coinbase_spend_is_rejected(chain):
    funded = watch_all(chain)
    chain.mine(1, funded.wpkh.address(0))
    chain.mine(98, BURN_ADDRESS)
    [coin] = funded.coins(chain, funded.wpkh, mature_only=False)
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(spend([coin], [(funded.wpkh.script(1), coin.amount_sat - FEE)]))
    assert "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 99" in excinfo.value.reason


@pytest.mark.parametrize("wallet_name", ["wpkh", "multisig", "taproot"])
def test_bad_signature_is_rejected_by_script_verification(chain, wallet_name):
    funded = fund(chain)
    wallet = getattr(funded, wallet_name)
    [coin] = funded.coins(chain, wallet)
    raw = spend([coin], [(wallet.script(1), coin.amount_sat - FEE)])
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(flip_signature_byte(raw, wallet.kind))
    assert "script-verify-flag-failed" in excinfo.value.reason


def test_multisig_spend_with_one_signature_twice_is_rejected(chain):
    funded = fund(chain)
    [coin] = funded.coins(chain, funded.multisig)
    raw = spend([coin], [(funded.multisig.script(1), coin.amount_sat - FEE)], signers=(0, 0))
    with pytest.raises(TransactionRejected) as excinfo:
        chain.broadcast(raw)
    assert "script-verify-flag-failed" in excinfo.value.reason


def test_unknown_transaction_has_unknown_status(chain):
    assert chain.tx_status("ab" * 32).state == "unknown"


@pytest.mark.parametrize("txid", ["abc", "", "zz" * 32, "ab" * 33])
def test_a_malformed_txid_is_refused_as_not_a_txid(chain, txid):
    with pytest.raises(ChainError, match="is not a txid"):
        chain.tx_status(txid)


def test_fee_estimate_is_a_positive_rate(chain):
    assert chain.estimate_fee_rate(6) >= 0.1


def test_a_new_connection_to_the_node_sees_what_another_one_watched(core_chain):
    """As the embedded chain keeps its watched descriptors, so does the node's wallet: a CLI
    call opening its own connection sees the app's coins without watching again."""
    from backends.chain import Bitcoind

    funded = fund(core_chain)
    descriptors = sorted(w.descriptor for w in (funded.wpkh, funded.multisig, funded.taproot))
    assert sorted(core_chain.watched()) == descriptors
    rpc = core_chain._rpc
    with Bitcoind(core_chain.url, cookie_file=rpc._cookie_file, wallet=core_chain.wallet) as other:
        assert sorted(other.watched()) == descriptors
        assert other.utxos() == core_chain.utxos()
        assert other.history(funded.taproot.descriptor) == core_chain.history(funded.taproot.descriptor)
        other.watch(funded.wpkh.descriptor, range_end=RANGE_END)  # watching again changes nothing
        assert sorted(other.watched()) == descriptors
        assert other.utxos(funded.wpkh.descriptor) == core_chain.utxos(funded.wpkh.descriptor)
