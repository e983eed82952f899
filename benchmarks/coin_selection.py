"""Coin selection over a large wallet: median time per selection against the 50 ms target.

    .venv/bin/python benchmarks/coin_selection.py [--utxos 100000] [--runs 15] [--seed 7]

Coins are random 2-of-3 P2WSH UTXOs with log-uniform values (1 000 sat to 1 BTC), the shape
of a fragmented mint reserve. Each row selects for one amount under one policy; the time
covers the whole ``select_coins`` call (reading values, ranking, choosing, fee and change).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from backends.wallet import CannotFund, Utxo, mint_policy, quorum_policy, select_coins, wsh_multisig

TARGET_MS = 50.0
AMOUNTS = (50_000, 2_500_000, 40_000_000, 400_000_000)


def random_utxos(count: int, seed: int) -> list[Utxo]:
    rng = random.Random(seed)
    return [
        Utxo(rng.randbytes(32).hex(), rng.randrange(4), int(10 ** rng.uniform(3, 8)))
        for _ in range(count)
    ]


def time_selection(utxos, amount, fee_rate, policy, runs) -> tuple[float, float, str]:
    timings, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            selection = select_coins(utxos, amount, fee_rate, policy)
            outcome = f"{len(selection.coins)} in, fee {selection.fee}, change {selection.change}"
        except CannotFund as err:
            outcome = f"cannot fund: {err.reason[:40]}"
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), max(timings), outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utxos", type=int, default=100_000, help="number of coins (default 100000)")
    parser.add_argument("--runs", type=int, default=15, help="runs per row; the median is reported")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fee-rate", type=float, default=12.0, help="sat/vB")
    args = parser.parse_args()

    kind = wsh_multisig(2, 3)
    utxos = random_utxos(args.utxos, args.seed)
    policies = [mint_policy(kind, min_change=10_000, max_inputs=50), quorum_policy(kind, max_inputs=100)]
    print(f"coin selection over {len(utxos):,} UTXOs ({kind.name}), {args.fee_rate:g} sat/vB, "
          f"median of {args.runs} runs; target {TARGET_MS:g} ms")
    header = f"{'policy':<8} {'amount (sat)':>13} {'median ms':>10} {'max ms':>8} {'target':>7}  result"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for policy in policies:
        for amount in AMOUNTS:
            median, slowest, outcome = time_selection(utxos, amount, args.fee_rate, policy, args.runs)
            worst = max(worst, median)
            verdict = "ok" if median < TARGET_MS else "SLOW"
            print(f"{policy.name:<8} {amount:>13,} {median:>10.1f} {slowest:>8.1f} {verdict:>7}  {outcome}")
    print(f"\nworst median {worst:.1f} ms vs target {TARGET_MS:g} ms: {'met' if worst < TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
