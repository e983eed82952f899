"""One end-to-end quorum spend against three OFFICIAL Coldcard simulators (firmware 5.4.5,
started fresh by ``tests/official_sim.py``), skipped with its reason without the bundle.

Each simulator holds one of the test cosigner seeds and runs on regtest
(``--set chain=XRT``); the coordinator enrols the wallet, arms each with the test policy
(answering 5.4.5's "Press N to save policy"), checks that the policy hash each reports is
the one it computed, spends to the whitelisted sink and is refused over the cap with the
firmware's words. Then one simulator is killed mid-quorum (the spend fails over to the
third) and started again: auto-heal re-arms the blank device unattended."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from backends.quorum import Done, Failed, accepted_policy_hashes, last_event
from tests.coldcard.emulators import COSIGNER_WORDS, short_tempdir
from tests.official_sim import start_or_skip

from .rig import MAX_AMOUNT, NAMES, SINK, QuorumRig, healed_by_the_poller
from .test_signers import audit

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


def _point(link: str, socket: str) -> None:
    """Make ``link`` name ``socket``, atomically (a reader never finds no link)."""
    fresh = f"{link}-new"
    os.symlink(socket, fresh)
    os.replace(fresh, link)


def test_official_simulators_fail_over_when_one_dies_mid_quorum_and_auto_heal_re_arms_it_when_it_comes_back(
        tmp_path, services):
    """A restarted official simulator is a blank device (settings in memory): no wallet, no
    HSM mode, and a new socket path. A USB Coldcard keeps its serial number across a power
    cycle, so the coordinator names each simulator by a path of its own (a symbolic link to
    the simulator's current socket), as it would name a device by its serial."""
    links = short_tempdir()
    sims = []
    try:
        with ThreadPoolExecutor(3) as pool:
            sims = list(pool.map(lambda words: start_or_skip(words, "--set", "chain=XRT"), COSIGNER_WORDS))
        targets = [os.path.join(links, f"cc-{name}.sock") for name in NAMES]
        for target, sim in zip(targets, sims, strict=True):
            _point(target, sim.socket)
        rig = QuorumRig(tmp_path / "rig", targets=targets)
        coordinator = None
        try:
            coordinator = rig.coordinator(services.data_dir, services, sign_timeout_seconds=60.0)
            assert all(s.live for s in coordinator.arm())
            # a is asked first (with b) and loses power once pre-flight is done: c signs instead
            coordinator.gates.append(lambda plan: sims[0].stop())
            done = last_event(coordinator.spend(200_000, SINK))
            assert isinstance(done, Done), done
            assert set(done.signers) == {"b", "c"}
            rig.chain.mine(1, SINK)
            assert rig.chain.tx_status(done.txid).state == "confirmed"
            coordinator.gates.clear()
            a = coordinator.refresh(["a"])[0]
            assert a.failing_check == "reachable" and coordinator.health() == "degraded"

            _point(targets[0], sims[0].start().socket)  # powered again: same seed, blank settings
            healed_by_the_poller(coordinator, 90)
            a = coordinator.statuses()[0]
            assert (a.xfp_ok, a.wallet_enrolled, a.hsm_active, a.policy_ok) == (True, True, True, True)
            assert a.policy_hash in accepted_policy_hashes(coordinator.spec.policy)
            healed = [(outcome, d["signer"], d.get("live")) for outcome, d in audit(services, "auto-heal")]
            assert healed and healed[-1] == ("ok", "a", True), healed
            assert {signer for _, signer, _ in healed} == {"a"}
            assert [d["new"] for _, d in audit(services, "health")][-2:] == ["degraded", "ok"]
        finally:
            if coordinator is not None:
                coordinator.close()
            rig.close()
    finally:
        for sim in sims:
            sim.stop(wait=False)
        shutil.rmtree(links, ignore_errors=True)
