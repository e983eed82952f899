"""Behaviour only the embedded chain has: Core's verdict on blocks we build, its own
persistence, the data-dir lock, auto-mining, and what happens without the kernel."""

from __future__ import annotations

import sys
import time

import pytest

from backends.chain import (
    BlockRejected, ChainDataDirInUse, EmbeddedChain, KernelUnavailable, SideBranchBlock, TransactionRejected,
)
from backends.chain.serialize import parse_block, parse_tx

from .funding import BURN_ADDRESS, fund, watch_all
from .wallets import flip_signature_byte, spend

COIN = 100_000_000
FEE = 2_000


def _rejected_block(chain, raw_txs) -> str:
    tip = chain.tip()
    block = chain.propose_block(raw_txs, BURN_ADDRESS)
    with pytest.raises(BlockRejected) as excinfo:
        chain.submit_block(block)
    assert chain.tip() == tip
    return excinfo.value.reason


@pytest.mark.parametrize("wallet_name", ["multisig", "taproot"])
def test_block_with_a_valid_spend_is_connected_by_core(embedded, wallet_name):
    funded = fund(embedded)
    wallet = getattr(funded, wallet_name)
    [coin] = funded.coins(embedded, wallet)
    raw = spend([coin], [(wallet.script(1), coin.amount_sat - FEE)])
    block_hash = embedded.submit_block(embedded.propose_block([raw], BURN_ADDRESS))
    assert embedded.tip().hash_hex == block_hash
    [utxo] = embedded.utxos(wallet.descriptor)
    assert (utxo.index, utxo.confirmations, utxo.amount_sat) == (1, 1, coin.amount_sat - FEE)


def test_block_with_a_flipped_signature_is_rejected_with_cores_reason(embedded):
    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.multisig)
    raw = flip_signature_byte(spend([coin], [(funded.multisig.script(1), coin.amount_sat - FEE)]), "wsh-multi")
    assert "block-script-verify-flag-failed" in _rejected_block(embedded, [raw])


def test_block_with_an_overspend_is_rejected_with_cores_reason(embedded):
    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    raw = spend([coin], [(funded.wpkh.script(1), coin.amount_sat + 1)])
    assert "bad-txns-in-belowout" in _rejected_block(embedded, [raw])


def test_block_spending_an_immature_coinbase_is_rejected_with_cores_reason(embedded):
    funded = watch_all(embedded)
    embedded.mine(1, funded.taproot.address(0))
    embedded.mine(50, BURN_ADDRESS)
    [coin] = funded.coins(embedded, funded.taproot, mature_only=False)
    raw = spend([coin], [(funded.taproot.script(1), coin.amount_sat - FEE)])
    assert "bad-txns-premature-spend-of-coinbase" in _rejected_block(embedded, [raw])


def test_block_with_a_double_spend_inside_is_rejected_with_cores_reason(embedded):
    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    one = spend([coin], [(funded.wpkh.script(1), coin.amount_sat - FEE)])
    two = spend([coin], [(funded.wpkh.script(2), coin.amount_sat - FEE)])
    assert "bad-txns-inputs-missingorspent" in _rejected_block(embedded, [one, two])


def test_mining_takes_the_mempool_parents_before_children(embedded):
    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    parent = spend([coin], [(funded.wpkh.script(1), coin.amount_sat - FEE)])
    parent_txid = embedded.broadcast(parent)
    [child_coin] = [c for c in funded.coins(embedded, funded.wpkh) if c.txid == parent_txid]
    child_txid = embedded.broadcast(spend([child_coin], [(funded.wpkh.script(2), child_coin.amount_sat - FEE)]))
    [block_hash] = embedded.mine(1, funded.taproot.address(9))
    assert embedded.tx_status(parent_txid).state == embedded.tx_status(child_txid).state == "confirmed"
    assert embedded.block_hash(embedded.tip().height) == block_hash
    [reward] = [u for u in embedded.utxos(funded.taproot.descriptor) if u.index == 9]
    assert reward.coinbase and reward.amount_sat == 50 * COIN + 2 * FEE  # the block collected both fees


def test_mempool_tx_evicted_by_a_conflicting_block_is_conflicted_and_leaves_history(embedded):
    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    loser = embedded.broadcast(spend([coin], [(funded.wpkh.script(1), coin.amount_sat - FEE)]))
    winner_raw = spend([coin], [(bytes.fromhex("0014" + "44" * 20), coin.amount_sat - 2 * FEE)])
    embedded.submit_block(embedded.propose_block([winner_raw], BURN_ADDRESS))
    assert embedded.tx_status(loser).state == "conflicted"
    txids = [e.txid for e in embedded.history(funded.wpkh.descriptor)]
    assert loser not in txids and len(txids) == 2


def test_index_mempool_and_watches_survive_a_clean_restart(tmp_path):
    with EmbeddedChain(tmp_path / "c") as chain:
        funded = fund(chain)
        [coin] = funded.coins(chain, funded.multisig)
        txid = chain.broadcast(spend([coin], [(funded.multisig.script(3), coin.amount_sat - FEE)]))
        before = (chain.tip(), chain.utxos(), chain.history())
    with EmbeddedChain(tmp_path / "c") as chain:
        assert (chain.tip(), chain.utxos(), chain.history()) == before
        assert chain.tx_status(txid).state == "mempool"
        assert set(chain.watched()) == {funded.wpkh.descriptor, funded.multisig.descriptor, funded.taproot.descriptor}
        chain.mine(1, BURN_ADDRESS)
        assert chain.tx_status(txid).confirmations == 1


def test_using_an_address_range_watches_more_addresses(embedded):
    funded = watch_all(embedded)  # range_end 20
    embedded.mine(1, funded.wpkh.address(18))
    embedded.mine(1, funded.wpkh.address(30))  # inside the gap limit after index 18 was used
    assert sorted(u.index for u in embedded.utxos(funded.wpkh.descriptor)) == [18, 30]


def test_second_open_of_the_data_dir_is_refused(embedded):
    with pytest.raises(ChainDataDirInUse, match="in use by another process"):
        EmbeddedChain(embedded.data_dir)


def test_mining_to_a_mainnet_address_is_refused(embedded):
    from backends.errors import CustodyError

    with pytest.raises(CustodyError, match="is a mainnet address; this wallet is on regtest"):
        embedded.mine(1, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")


def test_auto_mine_adds_blocks_until_stopped(tmp_path):
    chain = EmbeddedChain(tmp_path / "c", auto_mine_interval=0.02, auto_mine_to=BURN_ADDRESS)
    deadline = time.monotonic() + 30  # a hang guard, not a speed check
    while chain.tip().height < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    chain.close()
    assert chain.auto_mine_error is None
    with EmbeddedChain(tmp_path / "c") as reopened:
        assert reopened.tip().height >= 3


def test_missing_kernel_names_bitcoind_as_the_alternative(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pbk", None)
    with pytest.raises(KernelUnavailable) as excinfo:
        EmbeddedChain(tmp_path / "c")
    assert "bitcoind" in (excinfo.value.hint or "")
    # the data dir is not left locked
    monkeypatch.undo()
    EmbeddedChain(tmp_path / "c").close()


def test_mined_blocks_are_real_regtest_blocks(embedded):
    [block_hash] = embedded.mine(1, BURN_ADDRESS)
    header, txs = parse_block(embedded._kernel.block_raw(1))
    assert txs[0].inputs[0].script_sig[0] == 0x51  # BIP-34 height 1 as OP_1
    assert header.bits == 0x207FFFFF and len(txs) == 1


def test_bip68_lock_of_a_negative_version_tx_is_enforced_so_mining_keeps_other_txs(embedded, monkeypatch):
    from embit.transaction import Transaction

    from . import wallets

    funded = fund(embedded)
    [wpkh_coin] = funded.coins(embedded, funded.wpkh)
    parent = embedded.broadcast(spend([wpkh_coin], [(funded.wpkh.script(1), wpkh_coin.amount_sat - FEE)]))
    embedded.mine(1, BURN_ADDRESS)
    [young] = [c for c in funded.coins(embedded, funded.wpkh) if c.txid == parent]
    innocent = embedded.broadcast(spend(funded.coins(embedded, funded.taproot),
                                        [(funded.taproot.script(1), 50 * COIN - FEE)]))

    class VersionMinusOne(Transaction):  # nVersion 0xffffffff: Core reads it unsigned, so >= 2
        def __init__(self, version=2, *args, **kwargs):
            super().__init__(0xFFFFFFFF, *args, **kwargs)

    monkeypatch.setattr(wallets, "Transaction", VersionMinusOne)
    locked = spend([young], [(funded.wpkh.script(2), young.amount_sat - FEE)], sequence=10)  # 10-block relative lock
    monkeypatch.undo()
    with pytest.raises(TransactionRejected, match="non-BIP68-final"):
        embedded.broadcast(locked)
    embedded.mine(1, BURN_ADDRESS)
    assert embedded.tx_status(innocent).state == "confirmed"


def test_a_reorg_returns_disconnected_transactions_and_keeps_their_children(embedded):
    from backends.chain.addresses import payout_script
    from backends.chain.blockbuild import build_block

    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    parent = embedded.broadcast(spend([coin], [(funded.wpkh.script(7), coin.amount_sat - FEE)]))
    embedded.mine(1, BURN_ADDRESS)
    height = embedded.tip().height
    [parent_coin] = [c for c in funded.coins(embedded, funded.wpkh) if c.txid == parent]
    child = embedded.broadcast(spend([parent_coin], [(funded.wpkh.script(8), parent_coin.amount_sat - FEE)]))

    # a longer branch of empty blocks from below the parent's block
    kernel, burn = embedded._kernel, payout_script(BURN_ADDRESS, "regtest")
    previous, mtp = kernel.hash_at(height - 1), kernel.median_time_past(height - 1)
    side = [build_block(prev_hash=previous, height=height, median_time_past=mtp, payout_script=burn,
                        txs=[], fees_sat=0)]
    with pytest.raises(SideBranchBlock):  # no more work than the tip: stored, not connected
        embedded.submit_block(side[0].raw)
    assert embedded.tip().height == height
    for offset in (1, 2):
        side.append(build_block(prev_hash=side[-1].hash, height=height + offset, median_time_past=mtp + offset,
                                payout_script=burn, txs=[], fees_sat=0))
        embedded.submit_block(side[-1].raw)
    assert embedded.tip().height == height + 2 and embedded.tip().hash_hex == side[-1].hash_hex

    assert embedded.tx_status(parent).state == "mempool"  # back, not lost
    assert embedded.tx_status(child).state == "mempool"  # still valid: its parent is back
    embedded.close()
    for _ in range(2):  # persisted parents first, so every reopen admits both
        with EmbeddedChain(embedded.data_dir) as reopened:
            assert reopened.tx_status(parent).state == reopened.tx_status(child).state == "mempool"
    with EmbeddedChain(embedded.data_dir) as reopened:
        reopened.mine(1, BURN_ADDRESS)
        assert reopened.tx_status(parent).state == reopened.tx_status(child).state == "confirmed"


def test_a_payment_the_new_branch_double_spent_is_conflicted_after_the_reorg(embedded):
    from backends.chain.addresses import payout_script
    from backends.chain.blockbuild import build_block

    funded = fund(embedded)
    [coin] = funded.coins(embedded, funded.wpkh)
    payment = embedded.broadcast(spend([coin], [(bytes.fromhex("0014" + "66" * 20), coin.amount_sat - FEE)]))
    embedded.mine(1, BURN_ADDRESS)
    height = embedded.tip().height
    double_spend = parse_tx(spend([coin], [(bytes.fromhex("0014" + "77" * 20), coin.amount_sat - 2 * FEE)]))

    kernel, burn = embedded._kernel, payout_script(BURN_ADDRESS, "regtest")
    previous, mtp = kernel.hash_at(height - 1), kernel.median_time_past(height - 1)
    for offset, txs in enumerate([[double_spend], [], []]):
        block = build_block(prev_hash=previous, height=height + offset, median_time_past=mtp + offset,
                            payout_script=burn, txs=txs, fees_sat=2 * FEE if txs else 0)
        try:
            embedded.submit_block(block.raw)
        except SideBranchBlock:
            pass
        previous = block.hash
    assert embedded.tip().height == height + 2
    assert embedded.tx_status(payment).state == "conflicted"
    assert embedded.tx_status(double_spend.txid_hex).state == "confirmed"
