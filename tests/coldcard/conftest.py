"""Targets for the conformance suite: the emulator (always) and the official Coldcard
simulator, firmware 5.4.5 (``[simulator]`` ids).

Which simulator:

- ``CKCC_SIMULATOR=<socket>``: one you started yourself, shared by the whole run; tests
  marked ``fresh_device`` skip (they need a device nobody has used).
- otherwise, when the bundle ``../shared/oracles/coldcard-sim`` is present
  (``tests/official_sim.py``), the suite starts its own: one shared by the run, and a
  fresh one for each test marked ``fresh_device`` (it expects a link no client has keyed
  or bound yet, or leaves the device in a state no test can undo).
  ``CUSTODY_OFFICIAL_SIM=fresh`` gives EVERY test its own (slow; the "true picture"),
  ``CUSTODY_OFFICIAL_SIM=off`` none.
- otherwise the ``[simulator]`` tests skip with the reason.

Tests that need emulator-only powers (process control, power cycles, several seeds, state
files) are marked ``emulator_only``. Where the emulator deliberately follows firmware
master, a test expects 5.4.5's answer from the simulator through ``target.expect``.
"""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest
from ckcc.client import ColdcardDevice

from tests import official_sim

from .emulators import EmulatorProcess

SIMULATOR_ENV = "CKCC_SIMULATOR"


def pytest_configure(config):
    config.addinivalue_line("markers", "emulator_only: needs the emulator (process control, several seeds)")
    config.addinivalue_line("markers", "fresh_device: on the official simulator, needs one nobody has used")


class Target:
    """A device the tests talk to: ``path`` is its socket. An official simulator is
    started on first use of ``path``, so a module whose tests all need fresh devices
    never starts a shared one."""

    def __init__(self, kind: str, path: str = "", process: EmulatorProcess | None = None) -> None:
        self.kind = kind
        self._path = path
        self.process = process
        self.official: official_sim.OfficialSimulator | None = None

    @property
    def path(self) -> str:
        if not self._path:
            self.official = official_sim.start_or_skip()
            self._path = self.official.socket
        return self._path

    def stop(self) -> None:
        if self.official is not None:
            self.official.stop(wait=False)  # the next test need not wait for it

    @property
    def is_emulator(self) -> bool:
        return self.process is not None

    def expect(self, *, emulator, simulator):
        """The answer this target gives where the emulator deliberately follows firmware
        master and the official simulator is 5.4.5 (each difference is in the README)."""
        return emulator if self.is_emulator else simulator

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


def _official_mode() -> str:
    return os.environ.get(official_sim.SWITCH_ENV, "auto").lower()


@contextlib.contextmanager
def _official_target():
    target = Target("simulator")  # started when a test first uses it
    try:
        yield target
    finally:
        target.stop()


@pytest.fixture(scope="session")
def shared_simulator():
    """The official simulator the ``[simulator]`` tests share (each module cleans up after
    itself, as it must on the module's shared emulator): one start for the whole run."""
    if os.environ.get(SIMULATOR_ENV):
        yield Target("simulator", os.environ[SIMULATOR_ENV])
        return
    reason = official_sim.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with _official_target() as target:
        yield target


@pytest.fixture(scope="module", params=["emulator", "simulator"])
def shared_target(request):
    """The device a module's tests share."""
    if request.param == "simulator":
        yield request.getfixturevalue("shared_simulator")
        return
    proc = EmulatorProcess("a").start()
    try:
        yield Target("emulator", proc.socket, proc)
    finally:
        proc.stop()
        shutil.rmtree(proc.base, ignore_errors=True)


@pytest.fixture
def target(request, shared_target):
    """The module's shared device, or on the official simulator a fresh one for a test
    marked ``fresh_device`` (every test under ``CUSTODY_OFFICIAL_SIM=fresh``)."""
    fresh = request.node.get_closest_marker("fresh_device") is not None
    if shared_target.is_emulator or not (fresh or _official_mode() == "fresh"):
        yield shared_target
        return
    if os.environ.get(SIMULATOR_ENV):
        pytest.skip(f"needs a fresh simulator: unset {SIMULATOR_ENV} to let the suite start its own")
    with _official_target() as target:
        yield target


@pytest.fixture
def emulator(target):
    if not target.is_emulator:
        pytest.skip("emulator-only test")
    return target


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "emulator_only" in item.keywords and "[simulator" in item.nodeid:
            item.add_marker(pytest.mark.skip(reason="emulator-only test (needs process control or several seeds)"))
