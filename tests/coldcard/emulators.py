"""Spawning emulator processes for the tests, and the seeds of the three test cosigners."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from backends.coldcard.emulator.keys import SIMULATOR_WORDS

REPO = Path(__file__).resolve().parents[2]
# Three public test mnemonics (BIP-39 "abandon" family and friends): never hold value.
COSIGNER_WORDS = [
    SIMULATOR_WORDS,
    "abandon " * 23 + "art",
    "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "
    "worth useful legal winner thank year wave sausage worth title",
]


def short_tempdir() -> str:
    # no dots anywhere in the path: ckcc derives its client socket name from it
    return tempfile.mkdtemp(prefix="ccemu", dir="/tmp")


class EmulatorProcess:
    def __init__(self, name: str, *, words: str | None = None, chain: str | None = None,
                 settings: dict | None = None, base: str | None = None) -> None:
        self.base = base or short_tempdir()
        self.socket = os.path.join(self.base, f"cc-{name}.sock")
        self.state_dir = os.path.join(self.base, f"state{name}")
        # --exit-with-parent: a test run killed outright leaves no emulator behind
        self.args = [sys.executable, "-m", "backends.coldcard.emulator", "--socket", self.socket,
                     "--state-dir", self.state_dir, "--exit-with-parent"]
        if words:
            self.args += ["--words", words]
        if chain:
            self.args += ["--chain", chain]
        for key, value in (settings or {}).items():
            self.args += ["--set", f"{key}={value}"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> EmulatorProcess:
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.proc = subprocess.Popen(self.args, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited: " + self.proc.stderr.read().decode())
            if time.monotonic() > deadline:
                self.stop()  # not left running behind the failed test
                raise RuntimeError("emulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        if self.proc is not None:
            self.proc.stdin.close()
        self.proc = None

    def restart(self) -> None:
        """A power cycle: the process ends and a new one boots from the state dir."""
        self.stop()
        self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
