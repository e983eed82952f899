"""Embedded chain throughput: empty blocks per second, and signed P2WPKH spends admitted to
the mempool per second (each checked by Bitcoin Core's script interpreter). Then, beside a real
Bitcoin Core when one is available (BITCOIND, or ../shared/oracles/bitcoind/bitcoind, as the
tests find it): ``utxos`` and ``history`` of a wallet with 1,000 and 10,000 transactions on
both backends (the same blocks: built by the embedded chain, submitted to Core), and the
``broadcast`` round trip.

    .venv/bin/python benchmarks/chain.py [--blocks 2000] [--txs 1000] [--data-dir DIR]
                                         [--history 1000,10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.chain import EmbeddedChain  # noqa: E402
from tests.chain.wallets import coin_of, spend, wpkh_wallet  # noqa: E402

BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
FEE = 1_000


def bench_blocks(chain: EmbeddedChain, n: int) -> float:
    start = time.perf_counter()
    chain.mine(n, BURN)
    return n / (time.perf_counter() - start)


def bench_admission(chain: EmbeddedChain, n: int) -> tuple[float, float]:
    wallet = wpkh_wallet()
    chain.watch(wallet.descriptor, range_end=n + 10)
    chain.mine(n // 50 + 1, wallet.address(0))  # 50 BTC coinbases, split below
    chain.mine(100, BURN)
    coins = [coin_of(u, wallet) for u in chain.utxos(wallet.descriptor) if u.confirmations >= 100]
    # fan out: each coinbase pays 50 outputs so there are n independent coins to spend
    for coin in coins:
        share = (coin.amount_sat - FEE * 10) // 50
        chain.broadcast(spend([coin], [(wallet.script(i), share) for i in range(1, 51)]))
    chain.mine(1, BURN)
    coins = [coin_of(u, wallet) for u in chain.utxos(wallet.descriptor) if not u.coinbase][:n]
    signed = [spend([c], [(wallet.script(0, branch=1), c.amount_sat - FEE)]) for c in coins]
    start = time.perf_counter()
    for raw in signed:
        chain.broadcast(raw)
    admitted_per_s = len(signed) / (time.perf_counter() - start)
    start = time.perf_counter()
    chain.mine(1, BURN)
    return admitted_per_s, time.perf_counter() - start


FAN_OUT = 500  # outputs of each funding split: independent coins to spend
SPENDS_PER_BLOCK = 2_000


def _timed(call, repeat: int = 3) -> tuple[float, float]:
    """(first, best of the next ``repeat``) wall-clock runs of ``call``, in ms: a new process
    (the CLI) pays the first, a running app the others."""
    runs = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        call()
        runs.append((time.perf_counter() - start) * 1000)
    return runs[0], min(runs[1:])


class SameBlocks:
    """The embedded chain and a Core node fed the same blocks."""

    def __init__(self, embedded: EmbeddedChain, core) -> None:
        self.embedded, self.core = embedded, core

    def fresh_core(self, cache_dir: Path | None = None):
        """A new connection to the same node and wallet (what a CLI call opens), starting from
        what an earlier one saved in ``cache_dir`` when given (the app's data dir does that)."""
        from backends.chain import Bitcoind

        return Bitcoind(self.core.url, cookie_file=self.core._rpc._cookie_file, wallet=self.core.wallet, timeout=600,
                        cache_dir=cache_dir)

    def block(self, raw_txs: list[bytes], address: str = BURN) -> None:
        raw = self.embedded.propose_block(raw_txs, address)
        self.embedded.submit_block(raw)
        answer = self.core._rpc.call("submitblock", raw.hex())
        if answer is not None:
            raise SystemExit(f"Core refused a block the embedded chain took: {answer}")


def bench_backends(tmp: Path, sizes: list[int]) -> None:
    from backends.chain.regtest_node import RegtestNode
    from tests.bitcoind import locate_bitcoind

    binary, why_not = locate_bitcoind()
    if binary is None:
        print(f"bitcoind backend: skipped ({why_not})")
        return
    node = RegtestNode(binary, tmp / "bitcoind").start()
    try:
        from backends.chain import Bitcoind

        with EmbeddedChain(tmp / "twin") as embedded, \
                Bitcoind(node.url, cookie_file=node.cookie_file, wallet="bench", timeout=600) as core:
            print(f"backends side by side (bitcoind: {core._rpc.call('getnetworkinfo')['subversion']})")
            _history_figures(SameBlocks(embedded, core), sizes)
    finally:
        node.stop()


def _history_figures(both: SameBlocks, sizes: list[int]) -> None:
    wallet = wpkh_wallet()
    extra = 100  # spends kept for the broadcast round trip
    need = max(sizes) + extra
    for chain in (both.embedded, both.core):
        chain.watch(wallet.descriptor, range_end=FAN_OUT + 10)
    for _ in range(need // FAN_OUT + 1):
        both.block([], wallet.address(0))
    for _ in range(100):
        both.block([])
    coinbases = [coin_of(u, wallet) for u in both.embedded.utxos(wallet.descriptor) if u.coinbase]
    splits = []
    for coin in coinbases:
        share = (coin.amount_sat - FEE * 10) // FAN_OUT
        splits.append(spend([coin], [(wallet.script(i), share) for i in range(1, FAN_OUT + 1)]))
    both.block(splits)
    coins = [coin_of(u, wallet) for u in both.embedded.utxos(wallet.descriptor) if not u.coinbase]
    signed = [spend([c], [(wallet.script(c.index % 10, branch=1), c.amount_sat - FEE)]) for c in coins[:need]]
    made = 0
    for size in sizes:
        while made < size:
            batch = signed[made:min(size, made + SPENDS_PER_BLOCK)]
            both.block(batch)
            made += len(batch)
        _read_figures("embedded", both.embedded, wallet.descriptor)
        # bitcoind: a new connection, as a CLI call or the app's start makes. The reference has
        # no saved wallet (every connection before the data dir kept one): "first" reads and
        # decodes every transaction. Then a connection that starts from the file an earlier one
        # saved a block ago, as the next CLI call or the app's next start does.
        _read_figures("bitcoind", both.fresh_core(), wallet.descriptor, both, label="no saved wallet")
        with tempfile.TemporaryDirectory() as cache_dir:
            with both.fresh_core(Path(cache_dir)) as saving:
                saving.history(wallet.descriptor)
                saving.utxos(wallet.descriptor)
            both.block([], BURN)
            _read_figures("bitcoind", both.fresh_core(Path(cache_dir)), wallet.descriptor, both, label="saved wallet")
    for name, chain in (("embedded", both.embedded), ("bitcoind", both.core)):
        start = time.perf_counter()
        for raw in signed[-extra:]:
            chain.broadcast(raw)
        per_tx = (time.perf_counter() - start) / extra * 1000
        print(f"  {name:8} broadcast round trip: {per_tx:6.2f} ms per transaction ({extra} spends)")


def _read_figures(name: str, chain, descriptor: str, both: SameBlocks | None = None, label: str = "") -> None:
    """history then utxos of ``descriptor``: the first call on ``chain``, the best of three
    repeats, and (bitcoind, with ``both``) the first of each after one more block. History
    first: on bitcoind the first read of a connection pays for reading the wallet (both
    calls share it), and history is what a new connection reads first in the app."""
    read: list = []
    history_ms = _timed(lambda: read.append(chain.history(descriptor)))
    utxos_ms = _timed(lambda: chain.utxos(descriptor))
    shown = f"{name} ({label})" if label else name
    print(f"  {shown:28} wallet of {len(read[0]):6} txs: utxos {utxos_ms[0]:6.0f} ms first, {utxos_ms[1]:6.0f} ms again"
          f"   history {history_ms[0]:6.0f} ms first, {history_ms[1]:6.0f} ms again")
    if both is None:
        return
    both.block([], BURN)
    start = time.perf_counter()
    chain.history(descriptor)
    history_after = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    chain.utxos(descriptor)
    utxos_after = (time.perf_counter() - start) * 1000
    print(f"  {shown:28} after one more block:     utxos {utxos_after:6.0f} ms         "
          f"   history {history_after:6.0f} ms")
    chain.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=2000, help="empty blocks to mine")
    parser.add_argument("--txs", type=int, default=1000, help="signed spends to admit")
    parser.add_argument("--data-dir", type=Path, help="chain data dir (default: a temporary one)")
    parser.add_argument("--history", default="1000,10000",
                        help="wallet sizes (transactions) to read utxos and history at, on both backends")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "chain"
        with EmbeddedChain(data_dir) as chain:
            blocks_per_s = bench_blocks(chain, args.blocks)
            print(f"empty blocks mined:        {blocks_per_s:8.0f} blocks/s  ({args.blocks} blocks, fsync per block)")
            admitted_per_s, mine_s = bench_admission(chain, args.txs)
            print(f"mempool admission (p2wpkh): {admitted_per_s:7.0f} tx/s      ({args.txs} signed spends)")
            print(f"mining the {args.txs}-tx block:  {mine_s * 1000:7.0f} ms")
        start = time.perf_counter()
        with EmbeddedChain(data_dir) as chain:
            height = chain.tip().height
        print(f"reopen at height {height}:     {(time.perf_counter() - start) * 1000:7.0f} ms")
        bench_backends(Path(tmp), sorted(int(n) for n in args.history.split(",") if n))


if __name__ == "__main__":
    main()
