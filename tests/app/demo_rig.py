"""Demo rigs for tests: data dirs whose relay is on a free loopback port, not the demo's
fixed 7447 (test runs, and a demo someone is running, side by side never fight over it),
and the headless rig's first line read with a deadline (a rig that hangs fails the test
instead of hanging the suite)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

from backends.chain.regtest_node import free_port
from custody_tui.config import BunkerConfig, ChainConfig, render_toml
from custody_tui.demo import DEMO_MARKER, demo_config
from custody_tui.paths import CONFIG_FILE_NAME


def new_demo_dir(path: Path, *, chain: ChainConfig | None = None) -> Path:
    """A new demo data dir at ``path`` (marked, with its config) that ``prepare_demo`` and
    ``custody-tui demo --data-dir`` complete as they would a first run."""
    path.mkdir(mode=0o700, parents=True)
    (path / DEMO_MARKER).write_text("custody-tui demo rig\n")
    config = dataclasses.replace(demo_config(chain), bunker=BunkerConfig(relays=f"ws://127.0.0.1:{free_port()}"))
    (path / CONFIG_FILE_NAME).write_text(render_toml(config))
    return path



#: how long a headless rig may take to say it runs (it prepares a whole rig on a fresh dir)
READY_TIMEOUT_S = 120.0


def first_line(process: subprocess.Popen, timeout: float = READY_TIMEOUT_S) -> str:
    """The first line ``process`` writes to its stdout pipe, waiting at most ``timeout``
    seconds (then the test fails; the caller's ``finally`` stops the process)."""
    import selectors
    import time

    deadline = time.monotonic() + timeout
    line = b""
    fd = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError(f"no line from {process.args[:4]} within {timeout:.0f} s (got {line!r})")
            chunk = os.read(fd, 1)  # a byte at a time: nothing past the line is taken from the pipe
            if not chunk:
                raise AssertionError(f"{process.args[:4]} closed its output (exit {process.poll()}) "
                                     f"after {line!r}")
            line += chunk
    return line.decode()
