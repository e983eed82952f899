"""PSBT sign round trip through the real ckcc client against emulated Coldcards.

A 2-of-3 P2WSH sortedmulti wallet is enrolled on three emulator processes; each round
trip is upload + ``stxn`` + the OK keypress + ``stok`` polling + download, for one and
for ten inputs, on two of the devices (what a quorum spend costs).

    .venv/bin/python benchmarks/coldcard_sign.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.wallet import REGTEST, Payment, Utxo, create_psbt, parse_address, parse_descriptor, serialize_psbt  # noqa: E402
from tests.coldcard.quorum import Quorum, descriptor, enrol, sign_with_keypress, wallet_file  # noqa: E402

PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def build_psbt(desc, n_inputs: int) -> bytes:
    coins = [Utxo(f"{i + 1:064x}", 0, 1_000_000, desc.script_pubkey(0, i), 0, i) for i in range(n_inputs)]
    total = 1_000_000 * n_inputs
    psbt = create_psbt(desc, coins, [Payment(parse_address(PAY_TO, REGTEST), total // 2)],
                       change_amount=total - total // 2 - 3_000, change_index=0)
    return serialize_psbt(psbt, "binary")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    quorum = Quorum().start()
    try:
        text = wallet_file(quorum.keys)
        for path in quorum.paths:
            enrol(path, text)
        desc = parse_descriptor(descriptor(quorum.keys), REGTEST)
        print(f"{'inputs':>6} {'psbt bytes':>10} {'one device ms (median)':>24} {'2-of-3 ms (median)':>20} {'min ms':>8}")
        for n_inputs in (1, 10):
            raw = build_psbt(desc, n_inputs)
            singles, pairs = [], []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                sign_with_keypress(quorum.paths[0], raw)
                t1 = time.perf_counter()
                sign_with_keypress(quorum.paths[2], raw)
                t2 = time.perf_counter()
                singles.append((t1 - t0) * 1000)
                pairs.append((t2 - t0) * 1000)
            print(f"{n_inputs:>6} {len(raw):>10} {statistics.median(singles):>24.1f} {statistics.median(pairs):>20.1f} "
                  f"{min(singles):>8.1f}")
    finally:
        quorum.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
