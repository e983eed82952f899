"""One end-to-end quorum spend against three OFFICIAL Coldcard simulators (firmware 5.4.5,
started fresh by ``tests/official_sim.py``), skipped with its reason without the bundle.

Each simulator holds one of the test cosigner seeds and runs on regtest
(``--set chain=XRT``); the coordinator enrols the wallet, arms each with the test policy
(answering 5.4.5's "Press N to save policy"), checks that the policy hash each reports is
the one it computed, spends to the whitelisted sink and is refused over the cap with the
firmware's words."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from backends.quorum import Done, Failed, accepted_policy_hashes, last_event
from tests.coldcard.emulators import COSIGNER_WORDS

from .rig import MAX_AMOUNT, SINK, QuorumRig

pytestmark = pytest.mark.slow


def test_a_quorum_of_three_official_simulators_arms_verifies_its_policy_hash_and_spends(
        start_official_simulator, tmp_path):
    with ThreadPoolExecutor(3) as pool:  # about 3 s each; they start side by side
        sockets = list(pool.map(lambda words: start_official_simulator("--set", "chain=XRT", seed=words),
                                COSIGNER_WORDS))
    rig = QuorumRig(tmp_path / "rig", targets=sockets)
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
