"""Embedded chain throughput: empty blocks per second, and signed P2WPKH spends admitted to
the mempool per second (each checked by Bitcoin Core's script interpreter).

    .venv/bin/python benchmarks/chain.py [--blocks 2000] [--txs 1000] [--data-dir DIR]
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=2000, help="empty blocks to mine")
    parser.add_argument("--txs", type=int, default=1000, help="signed spends to admit")
    parser.add_argument("--data-dir", type=Path, help="chain data dir (default: a temporary one)")
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


if __name__ == "__main__":
    main()
