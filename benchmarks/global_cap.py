"""The global cap's figure (``backends.quorum.global_cap``) over a 2-of-3 wsh(sortedmulti)
wallet with 10,000 past spends on the embedded chain, every one paying out of the wallet
within the window (the worst case: all of them count), the wallet holding 20 coins now.

- cold: a coordinator that has never read the chain (a new ``GlobalCap``): the chain's
  history, the outflow of each transaction, and the cache of what counted written to SQLite
  (target under 500 ms);
- cached by tip: the next reads while neither the tip nor the wallet's coins changed
  (target under 50 ms);
- gate: what the spend gate adds before any device is asked (a fresh chain read, the
  reservation under ``BEGIN IMMEDIATE``), and the reservation released again.

Reference in the same run: the chain's ``history`` call alone.

    .venv/bin/python benchmarks/global_cap.py [--txs 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.chain import EmbeddedChain  # noqa: E402
from backends.quorum.global_cap import GlobalCap  # noqa: E402
from tests.chain.wallets import Coin, coin_of, multisig_wallet, spend  # noqa: E402

from chain import _timed as timed  # noqa: E402  (benchmarks/chain.py: first run, best of the next)

BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
FEE = 1_000
CHAINS = 20  # coins the wallet holds; each starts a chain of spends
PER_BLOCK = 2_000


def build(chain: EmbeddedChain, txs: int) -> str:
    """A wallet with ``txs`` past spends, each paying 10,000 sat out and the rest back as
    change that the next spend of its chain spends: like a treasury, it has made many
    payments and holds a few coins (``CHAINS``)."""
    from backends.chain.addresses import payout_script
    from backends.chain.serialize import parse_tx, to_hex

    wallet = multisig_wallet()
    chain.watch(wallet.descriptor, range_end=20)
    chain.mine(CHAINS, wallet.address(0))
    chain.mine(100, BURN)
    burn = payout_script(BURN, "regtest")
    tips = [coin_of(u, wallet) for u in chain.utxos(wallet.descriptor)]
    signed = []
    for n in range(txs):
        coin = tips[n % CHAINS]
        change = coin.amount_sat - 10_000 - FEE
        raw = spend([coin], [(burn, 10_000), (wallet.script(n % 10, branch=1), change)])
        signed.append(raw)
        tips[n % CHAINS] = Coin(to_hex(parse_tx(raw).txid()), 1, change, wallet.script(n % 10, branch=1),
                                wallet, 1, n % 10)
    for start in range(0, len(signed), PER_BLOCK):
        chain.submit_block(chain.propose_block(signed[start:start + PER_BLOCK], BURN))
    return wallet.descriptor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--txs", type=int, default=10_000, help="past spends of the wallet")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, EmbeddedChain(Path(tmp) / "chain") as chain:
        began = time.perf_counter()
        descriptor = build(chain, args.txs)
        print(f"wallet of {args.txs} past spends built in {time.perf_counter() - began:.0f} s")
        history = timed(lambda: chain.history(descriptor))
        print(f"reference: chain.history alone    {history[0]:7.1f} ms first, {history[1]:7.1f} ms again")

        def new_cap() -> GlobalCap:
            return GlobalCap(Path(tmp) / "global_cap.sqlite3", chain=lambda: chain, descriptor=descriptor,
                             limit_sat=10**15, period_minutes=24 * 60)

        caps: list[GlobalCap] = []

        def cold() -> None:
            caps.append(new_cap())
            usage = caps[-1].usage()
            assert usage.used_sat == args.txs * (10_000 + FEE), usage  # each paid 10,000 out and a fee

        first, best = timed(cold)
        print(f"cold figure (new coordinator)     {first:7.1f} ms first (writes the cache), {best:7.1f} ms again"
              "   target < 500 ms")
        cap = caps[-1]
        cached = timed(cap.usage, repeat=50)
        print(f"cached by tip                     {cached[0]:7.1f} ms first, {cached[1]:7.1f} ms best of 50"
              "   target < 50 ms")

        def gate() -> None:
            cap.reserve(1, 1_000)
            cap.spend_state = lambda _id: ("refused", None)
            cap.settle(1)
            cap.spend_state = lambda _id: None

        gated = timed(gate)
        print(f"gate: fresh read + reservation    {gated[0]:7.1f} ms first, {gated[1]:7.1f} ms again")
        for one in caps:
            one.close()


if __name__ == "__main__":
    main()
