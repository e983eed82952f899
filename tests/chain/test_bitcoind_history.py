"""history() on Bitcoin Core reads its wallet incrementally (backends/chain/bitcoind_txs.py):
what it remembers must follow the node between calls — new blocks, the mempool, a
reorganisation, and old transactions another connection's import rescanned in."""

from __future__ import annotations

from .funding import BURN_ADDRESS, RANGE_END, fund
from .wallets import sh_wpkh_wallet, spend

COIN = 100_000_000
FEE = 2_000


def _by_txid(chain, descriptor):
    return {e.txid: e for e in chain.history(descriptor)}


def test_history_follows_blocks_the_mempool_and_a_reorganisation_between_calls(core_chain):
    funded = fund(core_chain)
    wallet = funded.wpkh
    [coinbase] = _by_txid(core_chain, wallet.descriptor).values()
    deep = coinbase.confirmations
    assert deep == core_chain.tip().height
    [coin] = funded.coins(core_chain, wallet)
    txid = core_chain.broadcast(spend([coin], [(funded.multisig.script(1), 10 * COIN),
                                               (wallet.script(0, branch=1), coin.amount_sat - 10 * COIN - FEE)]))
    seen = _by_txid(core_chain, wallet.descriptor)
    assert (seen[txid].confirmations, seen[txid].height, seen[coinbase.txid].confirmations) == (0, None, deep)
    [block] = core_chain.mine(1, BURN_ADDRESS)
    height = core_chain.tip().height
    seen = _by_txid(core_chain, wallet.descriptor)
    assert (seen[txid].confirmations, seen[txid].height, seen[coinbase.txid].confirmations) == (1, height, deep + 1)
    # the block is disconnected: the spend goes back to the mempool, the old coinbase (not
    # listed again) counts one confirmation less
    rpc = core_chain._rpc
    rpc.call("invalidateblock", block)
    rpc.call("syncwithvalidationinterfacequeue")
    seen = _by_txid(core_chain, wallet.descriptor)
    assert (seen[txid].confirmations, seen[txid].height, seen[coinbase.txid].confirmations) == (0, None, deep)
    assert seen[txid].fee_sat == FEE and seen[txid].sent_sat == coin.amount_sat
    core_chain.mine(2, bytes.fromhex("0014" + "55" * 20))  # not BURN: the invalidated block again would be refused
    seen = _by_txid(core_chain, wallet.descriptor)
    assert (seen[txid].confirmations, seen[txid].height, seen[coinbase.txid].confirmations) == (2, height, deep + 2)
    assert _by_txid(core_chain, funded.multisig.descriptor)[txid].received_sat == 10 * COIN


def test_history_sees_old_transactions_another_connection_imported(core_chain):
    """A rescan puts transactions below where this connection last listed: it lists again."""
    from backends.chain import Bitcoind

    funded = fund(core_chain)
    late = sh_wpkh_wallet()
    core_chain.mine(1, late.address(2))  # before anyone watches it
    core_chain.mine(100, BURN_ADDRESS)
    before = core_chain.history(funded.wpkh.descriptor)
    with Bitcoind(core_chain.url, cookie_file=core_chain._rpc._cookie_file, wallet=core_chain.wallet) as other:
        other.watch(late.descriptor, range_end=RANGE_END)
    core_chain.watch(late.descriptor, range_end=RANGE_END)  # the wallet has it already: no import here
    [coinbase] = core_chain.history(late.descriptor)
    assert (coinbase.received_sat, coinbase.confirmations) == (50 * COIN, 101)
    assert core_chain.history(funded.wpkh.descriptor) == before


def test_a_repeated_history_decodes_no_transaction_again(core_chain, monkeypatch):
    funded = fund(core_chain)
    [coin] = funded.coins(core_chain, funded.taproot)
    core_chain.broadcast(spend([coin], [(funded.wpkh.script(3), coin.amount_sat - FEE)]))
    first = core_chain.history()
    rpc = core_chain._rpc
    calls: list[str] = []
    real_call, real_batch = rpc.call, rpc.batch

    def call(method, *params, **kw):
        calls.append(method)
        return real_call(method, *params, **kw)

    def batch(requests, **kw):
        calls.extend(m for m, _ in requests)
        return real_batch(requests, **kw)

    monkeypatch.setattr(rpc, "call", call)
    monkeypatch.setattr(rpc, "batch", batch)
    assert core_chain.history() == first
    assert "gettransaction" not in calls and calls.count("listsinceblock") == 1
    core_chain.mine(1, BURN_ADDRESS)
    calls.clear()
    again = {e.txid: e for e in core_chain.history()}
    assert "gettransaction" not in calls  # the spend was decoded in the mempool; the coinbase is not ours
    assert all(again[e.txid].confirmations == e.confirmations + 1 for e in first)
