from __future__ import annotations

import pytest

from custody_tui.config import Config
from custody_tui.services import Services

from .rig import QuorumRig


@pytest.fixture
def rig(tmp_path):
    rig = QuorumRig(tmp_path / "rig")
    try:
        yield rig
    finally:
        rig.close()


@pytest.fixture
def services(tmp_path):
    services = Services(Config(network="regtest"), tmp_path / "data", actor="operator@test")
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def coordinator(rig, services):
    coordinator = rig.coordinator(services.data_dir, services)
    try:
        yield coordinator
    finally:
        coordinator.close()
