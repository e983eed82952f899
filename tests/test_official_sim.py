"""The test helper for the official Coldcard simulator: found beside the repository,
started fresh with its own seed, stopped for good, and a clear skip when it is absent."""

from __future__ import annotations

import os

from backends.coldcard.client import ColdcardClient
from tests import official_sim
from tests.coldcard.emulators import COSIGNER_WORDS


def test_a_missing_bundle_is_a_reason_not_an_error(monkeypatch, tmp_path):
    monkeypatch.delenv(official_sim.SWITCH_ENV, raising=False)
    monkeypatch.setenv(official_sim.ORACLES_ENV, str(tmp_path))
    assert official_sim.bundle_dir() is None
    assert "no coldcard-sim bundle in " + str(tmp_path) in official_sim.unavailable_reason()


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv(official_sim.SWITCH_ENV, "off")
    assert "switched off" in official_sim.unavailable_reason()


def test_simulator_starts_with_its_own_seed_and_stops_for_good():
    with official_sim.start_or_skip(COSIGNER_WORDS[1]) as sim:
        assert ColdcardClient(sim.socket).master().xfp == "5436D724"  # "abandon ... art", 24 words
        path = sim.socket
    assert not os.path.exists(path) and not os.path.exists(f"/tmp/cc-simulators/{sim.pid}")
    assert os.path.exists(f"/proc/{sim.pid}") is False
