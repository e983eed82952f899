"""One end-to-end quorum spend against three OFFICIAL Coldcard simulators (firmware 5.4.5,
``../shared/oracles/coldcard-sim``), skipped with its reason when the bundle is absent.

Each simulator is fresh (started for this test, stopped after), holds one of the test
cosigner seeds and runs on regtest (``--set chain=XRT``); the coordinator enrols the
wallet, arms each with the test policy (answering 5.4.5's "Press N to save policy"),
checks that the policy hash each reports is the one it computed, spends to the
whitelisted sink and is refused over the cap with the firmware's words."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backends.quorum import Done, Failed, accepted_policy_hashes, last_event
from tests.coldcard.emulators import COSIGNER_WORDS, REPO

from .rig import MAX_AMOUNT, SINK, QuorumRig

pytestmark = pytest.mark.slow


def simulator_bundle() -> Path | None:
    """``../shared/oracles/coldcard-sim`` of the main checkout (or of a worktree's parent)."""
    candidates = [os.environ.get("CUSTODY_ORACLES", ""), REPO.parent / "shared" / "oracles",
                  REPO.parent.parent / "shared" / "oracles"]
    for base in candidates:
        if base and (Path(base) / "coldcard-sim" / "start.sh").exists():
            return Path(base) / "coldcard-sim"
    return None


@pytest.fixture
def simulators():
    bundle = simulator_bundle()
    if bundle is None:
        pytest.skip("official Coldcard simulator bundle (../shared/oracles/coldcard-sim) not present")

    def start(words: str) -> str:
        done = subprocess.run([str(bundle / "start.sh"), "--set", "chain=XRT", "--seed", words],
                              capture_output=True, text=True, timeout=180)
        if done.returncode != 0 or not done.stdout.strip():
            return ""
        return done.stdout.strip()

    with ThreadPoolExecutor(3) as pool:
        sockets = list(pool.map(start, COSIGNER_WORDS))
    try:
        if not all(sockets):
            pytest.skip("the official simulator would not start here (see start.sh's log)")
        yield sockets
    finally:
        for socket in filter(None, sockets):
            subprocess.run([str(bundle / "stop.sh"), socket], timeout=30)


def test_a_quorum_of_three_official_simulators_arms_verifies_its_policy_hash_and_spends(simulators, tmp_path):
    rig = QuorumRig(tmp_path / "rig", targets=simulators)
    coordinator = rig.coordinator(tmp_path / "data", sign_timeout_seconds=60.0)
    try:
        armed = coordinator.arm()
        assert [(s.name, s.failing_check) for s in armed] == [("a", None), ("b", None), ("c", None)]
        # what each 5.4.5 device reports is what the coordinator computed from the policy
        assert {s.policy_hash for s in armed} == set(accepted_policy_hashes(coordinator.spec.policy))
        done = last_event(coordinator.spend(300_000, SINK))
        assert isinstance(done, Done), done
        rig.chain.mine(1, SINK)
        assert rig.chain.tx_status(done.txid).state == "confirmed"
        refused = last_event(coordinator.spend(MAX_AMOUNT + 1, SINK))
        assert isinstance(refused, Failed)
        assert set(refused.refusals.values()) == {"Rejected: rule #1: amount exceeded"}
    finally:
        coordinator.close()
        rig.close()
