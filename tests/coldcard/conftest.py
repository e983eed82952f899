"""Targets for the conformance suite: the emulator (always) and the official simulator
(when CKCC_SIMULATOR names its socket). Tests that need emulator-only powers (spawning,
power cycles, several seeds) are marked ``emulator_only``."""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass

import pytest
from ckcc.client import ColdcardDevice

from .emulators import EmulatorProcess

SIMULATOR_ENV = "CKCC_SIMULATOR"


def pytest_configure(config):
    config.addinivalue_line("markers", "emulator_only: needs the emulator (process control, several seeds)")


@dataclass
class Target:
    kind: str
    path: str
    process: EmulatorProcess | None = None

    @property
    def is_emulator(self) -> bool:
        return self.process is not None

    @contextlib.contextmanager
    def open(self, **kw):
        dev = ColdcardDevice(sn=self.path, **kw)
        try:
            yield dev
        finally:
            dev.close()

    def power_cycle(self) -> None:
        if not self.is_emulator:
            pytest.skip("power cycling needs the emulator")
        self.process.restart()


@pytest.fixture(scope="module", params=["emulator", "simulator"])
def target(request):
    if request.param == "simulator":
        path = os.environ.get(SIMULATOR_ENV)
        if not path:
            pytest.skip(f"official simulator not configured: set {SIMULATOR_ENV}=<its socket path> to run against it")
        yield Target("simulator", path)
        return
    proc = EmulatorProcess("a").start()
    try:
        yield Target("emulator", proc.socket, proc)
    finally:
        proc.stop()
        shutil.rmtree(proc.base, ignore_errors=True)


@pytest.fixture
def emulator(target):
    if not target.is_emulator:
        pytest.skip("emulator-only test")
    return target


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "emulator_only" in item.keywords and "[simulator" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="emulator-only test (needs process control or several seeds)"))
