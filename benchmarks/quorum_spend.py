"""One quorum spend end to end on three emulated Coldcards and the embedded chain, split
into device time (wall time inside Coldcard client calls: status reads and the two
signatures, which run in parallel), chain time (coins, broadcast: the embedded chain
verifies every script with Bitcoin Core's consensus code) and coordinator time (the rest:
coin selection, PSBT build, pre-flight, ledger, combine, finalize), for 1 and 10 inputs.

Targets (issue 7): the whole 1-input spend under 1 s; coordinator time at most 20% of
device time.

    .venv/bin/python benchmarks/quorum_spend.py [--rounds N] [--global-cap]

It runs as the app does: the intended policy is read from the policy history at each
spend; ``--global-cap`` also configures the coordinator-wide cap (its gate reads the chain's
history of the wallet: that is chain time).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embit.transaction import Transaction  # noqa: E402

from backends.coldcard.client import ColdcardClient  # noqa: E402
from backends.policy import PolicyHistory  # noqa: E402
from backends.policy.document import policy_hash  # noqa: E402
from backends.quorum import Coordinator, Done, last_event  # noqa: E402
from tests.quorum.rig import SINK, QuorumRig, policy  # noqa: E402

COIN = 50 * 100_000_000


class DeviceClock:
    """Union of the wall-time intervals spent inside device calls, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.intervals: list[tuple[float, float]] = []

    def add(self, began: float, ended: float) -> None:
        with self._lock:
            self.intervals.append((began, ended))

    def total(self) -> float:
        busy, end = 0.0, float("-inf")
        for began, ended in sorted(self.intervals):
            if ended <= end:
                continue
            busy += ended - max(began, end)
            end = ended
        return busy


class Timed:
    """Every method call on ``inner`` adds its wall time to ``clock``."""

    def __init__(self, inner, clock: DeviceClock) -> None:
        self._client, self._clock = inner, clock

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._clock.add(began, time.perf_counter())

        return timed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--global-cap", action="store_true",
                        help="with a coordinator-wide velocity cap configured (quorum.global_cap_sat)")
    args = parser.parse_args()
    rig = QuorumRig(Path(tempfile.mkdtemp(prefix="qbench", dir="/tmp")), coins=10 * args.rounds + args.rounds)
    clock, chain_clock = DeviceClock(), DeviceClock()
    data_dir = Path(tempfile.mkdtemp(prefix="qbench-data"))
    try:
        spec = rig.spec(policy=policy(max_amount=2_000_000_000_000, per_period=2_000_000_000_000),
                        global_cap_sat=2_000_000_000_000 if args.global_cap else 0)
        # as the app runs it: the intended policy is the newest pushed version, read at each spend
        history = PolicyHistory(data_dir)
        history.record(spec.policy, policy_hash(spec.policy), actor="benchmark")
        coordinator = Coordinator(spec, data_dir, chain=Timed(rig.chain, chain_clock),
                                  client_factory=lambda target: Timed(ColdcardClient(target), clock),
                                  intended_policy=history.latest_policy)
        coordinator.arm()
        print(f"{'inputs':>6} {'spend ms':>9} {'device ms':>10} {'chain ms':>9} {'coordinator ms':>15} "
              f"{'coordinator/device':>19} {'(with chain)':>13}   medians of {args.rounds}")
        for n_inputs, amount in ((1, 1_000_000), (10, 9 * COIN + COIN // 2)):
            totals, devices, chains = [], [], []
            for _ in range(args.rounds):
                clock.intervals.clear()
                chain_clock.intervals.clear()
                began = time.perf_counter()
                done = last_event(coordinator.spend(amount, SINK))
                totals.append(time.perf_counter() - began)
                devices.append(clock.total())
                chains.append(chain_clock.total())
                assert isinstance(done, Done), done
                spent = coordinator.ledger.get(done.spend_id).raw_tx
                assert len(Transaction.parse(spent).vin) == n_inputs, "coin selection took another count"
                rig.chain.mine(1, SINK)  # the change confirms, so it can fund the next round
            total, device, chain = (statistics.median(x) for x in (totals, devices, chains))
            own = statistics.median(t - d - c for t, d, c in zip(totals, devices, chains, strict=True))
            print(f"{n_inputs:>6} {total * 1000:>9.1f} {device * 1000:>10.1f} {chain * 1000:>9.1f} "
                  f"{own * 1000:>15.1f} {own / device:>19.0%} {(own + chain) / device:>13.0%}")
        coordinator.close()
        history.close()
    finally:
        rig.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
