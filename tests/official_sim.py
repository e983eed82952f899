"""The official Coldcard simulator (firmware 5.4.5, headless unix port) for tests.

The simulator is an optional oracle: the bundle lives beside the repository, in
``<repo>/../shared/oracles/coldcard-sim`` (its README tells how it was built), and a fresh
clone has no such folder. Every test that uses it therefore skips, with the reason, when the
bundle is absent or a simulator cannot start.

Use it from a test (the fixtures are registered for the whole suite by ``tests/conftest.py``)::

    def test_something(official_simulator):          # a fresh simulator, default seed
        ColdcardClient(official_simulator).version()  # the fixture's value is the socket path

    def test_quorum(start_official_simulator):       # several, each with its own seed/flags
        a = start_official_simulator(seed=WORDS_A)
        b = start_official_simulator("--ms")
        ...                                           # all are stopped after the test

or without pytest: ``with start_simulator(seed=...) as sim: use(sim.socket)`` (raises
:class:`SimulatorUnavailable` with the reason).

Facts the callers rely on:

- The flags ``--eff --headless --segregate --set hsmcmd=1`` are always given (by the
  bundle's ``start.sh``): in-memory settings, no window, HSM commands on, one socket per
  simulator, ``/tmp/ckcc-simulator-<pid>.sock``.
- A simulator takes about 3 s to answer; about a quarter of a core while idle.
- Settings are in memory only, so a restart is a new blank device with a new socket path.
- Approvals need key presses (``XKEY``, ``ColdcardClient.press_keys``).

Environment:

- ``CUSTODY_ORACLES``: the oracles folder, when it is not ``<repo>/../shared/oracles``
  (a git worktree also looks beside its main checkout).
- ``CUSTODY_OFFICIAL_SIM=off``: never start one (tests that need it skip).
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ORACLES_ENV = "CUSTODY_ORACLES"
SWITCH_ENV = "CUSTODY_OFFICIAL_SIM"
#: start.sh gives up after this many seconds; we wait a little longer for it
START_TIMEOUT_S = 90


class SimulatorUnavailable(Exception):
    """The official simulator cannot be used here; the message says why."""


def _main_checkout(repo: Path) -> Path | None:
    """The main working tree when ``repo`` is a git worktree (its ``.git`` is a file)."""
    dot_git = repo / ".git"
    if not dot_git.is_file():
        return None
    text = dot_git.read_text().strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = (repo / text.split(":", 1)[1].strip()).resolve()
    common = gitdir / "commondir"
    common_dir = (gitdir / common.read_text().strip()).resolve() if common.exists() else gitdir
    return common_dir.parent


def bundle_dir() -> Path | None:
    """The folder holding ``start.sh``/``stop.sh``, or None when there is none."""
    if os.environ.get(ORACLES_ENV):
        candidates = [Path(os.environ[ORACLES_ENV]) / "coldcard-sim"]
    else:
        candidates = [REPO.parent / "shared" / "oracles" / "coldcard-sim"]
        main = _main_checkout(REPO)
        if main is not None:
            candidates.append(main.parent / "shared" / "oracles" / "coldcard-sim")
    for candidate in candidates:
        if (candidate / "start.sh").is_file() and (candidate / "stop.sh").is_file():
            return candidate
    return None


_failed_start: str | None = None  # one failed start skips the rest quickly


def unavailable_reason() -> str | None:
    """Why no simulator can be started (None: it can, as far as we know)."""
    if os.environ.get(SWITCH_ENV, "").lower() in ("off", "0", "no"):
        return f"official Coldcard simulator switched off ({SWITCH_ENV}=off)"
    if bundle_dir() is None:
        where = os.environ.get(ORACLES_ENV) or str(REPO.parent / "shared" / "oracles")
        return (f"official Coldcard simulator not found: no coldcard-sim bundle in {where} "
                f"(set {ORACLES_ENV} to the oracles folder)")
    return _failed_start


class OfficialSimulator:
    """One running simulator; ``socket`` is what ``ColdcardClient``/``ckcc -c`` take."""

    def __init__(self, seed: str | None = None, args: tuple[str, ...] = ()) -> None:
        self.args = (("--seed", seed) if seed else ()) + tuple(args)
        self.socket = ""
        self.pid = 0
        self.log = ""

    def start(self) -> OfficialSimulator:
        global _failed_start
        reason = unavailable_reason()
        if reason:
            raise SimulatorUnavailable(reason)
        bundle = bundle_dir()
        try:
            done = subprocess.run([str(bundle / "start.sh"), *self.args], capture_output=True, text=True,
                                  timeout=START_TIMEOUT_S + 30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode != 0 or not done.stdout.strip():
            said = (done.stderr.strip().splitlines() or ["no output"])[-1] if done else "start.sh hung"
            _failed_start = f"official Coldcard simulator did not start: {said}"
            raise SimulatorUnavailable(_failed_start)
        self.socket = done.stdout.strip().splitlines()[-1]
        found = re.search(r"pid=(\d+) socket=\S+ log=(\S+)", done.stderr)
        self.pid, self.log = (int(found[1]), found[2]) if found else (0, "")
        _running.add(self)
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stops the simulator and its MicroPython child, removes its socket, work dir and
        log. ``wait=False`` returns at once (the stop finishes in the background, and at the
        latest when the test process exits)."""
        if not self.socket:
            return
        bundle = bundle_dir()
        if bundle is not None:
            stopper = subprocess.Popen([str(bundle / "stop.sh"), self.socket], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait:
                stopper.wait(30)
            else:
                _stopping.append(stopper)
        if self.log:
            Path(self.log).unlink(missing_ok=True)
        _running.discard(self)
        self.socket = ""

    def restart(self) -> str:
        """A power cycle of a device with in-memory settings: a blank device (same seed and
        flags) on a NEW socket path, which is returned."""
        self.stop()
        return self.start().socket

    def __enter__(self) -> OfficialSimulator:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"OfficialSimulator(socket={self.socket!r}, args={self.args!r})"


_running: set[OfficialSimulator] = set()
_stopping: list[subprocess.Popen] = []


@atexit.register
def _stop_leftovers() -> None:
    # a run interrupted between start and finalizer must not leave simulators behind
    for sim in list(_running):
        sim.stop()
    for stopper in _stopping:
        stopper.wait(30)


def start_simulator(seed: str | None = None, *args: str) -> OfficialSimulator:
    """A started simulator (raises :class:`SimulatorUnavailable`). Stop it, or use ``with``."""
    return OfficialSimulator(seed, args).start()


def start_or_skip(seed: str | None = None, *args: str) -> OfficialSimulator:
    try:
        return start_simulator(seed, *args)
    except SimulatorUnavailable as why:
        pytest.skip(str(why))


@pytest.fixture
def start_official_simulator() -> Iterator[Callable[..., str]]:
    """``start(seed=None, *flags) -> socket path``; every simulator started is stopped after
    the test. Skips the test with the reason when none can start."""
    started: list[OfficialSimulator] = []

    def start(*args: str, seed: str | None = None) -> str:
        sim = start_or_skip(seed, *args)
        started.append(sim)
        return sim.socket

    try:
        yield start
    finally:
        for sim in started:
            sim.stop(wait=False)


@pytest.fixture
def official_simulator(start_official_simulator) -> str:
    """The socket path of a fresh official simulator (default seed, XFP 0F056943)."""
    return start_official_simulator()
