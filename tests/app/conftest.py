"""App fixtures: a small fast-KDF config, frozen clocks, and a data dir at a fixed path
(the header shows the data dir, so snapshots need the same path on every run)."""

from __future__ import annotations

import fcntl
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custody_tui.app import make_app
from custody_tui.config import Config, KeystoreConfig
from custody_tui.services import Clocks

FROZEN_NOW = datetime(2026, 11, 22, 3, 0, 0, tzinfo=UTC)
PASSPHRASE = "correct horse battery staple"


class FrozenClocks(Clocks):
    """Wall time fixed at FROZEN_NOW; monotonic time moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        super().__init__(wall=lambda: FROZEN_NOW, monotonic=lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_config(**overrides) -> Config:
    values = dict(
        network="regtest",
        keystore=KeystoreConfig(unlock_ttl_seconds=300, kdf_opslimit=1, kdf_memlimit_mib=8),
    )
    values.update(overrides)
    return Config(**values)


test_config.__test__ = False  # a helper, not a test


@pytest.fixture
def data_dir() -> Path:
    # A fixed path: the header shows the data dir, and snapshots must not depend on $TMPDIR.
    # Two test runs on one machine take turns on it instead of wiping each other's files.
    path = Path("/tmp/custody-tui-test-data")
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(mode=0o700)
        yield path
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clocks() -> FrozenClocks:
    return FrozenClocks()


@pytest.fixture
def app_factory(data_dir: Path, clocks: FrozenClocks):
    def build(config: Config | None = None):
        # a fixed actor: audit hashes on screen must not depend on the machine's user@host
        return make_app(config or test_config(), data_dir, clocks=clocks, poll=False, actor="operator@test")

    return build


def fail_audit_after(monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    """The disk fills up right after ``action`` is done: its "ok" entry cannot be written."""
    import sqlite3

    from backends.audit import AuditLog

    real_append = AuditLog.append

    def disk_full_after_the_action(self, area, name, *, outcome="ok", **kwargs):
        if (name, outcome) == (action, "ok"):
            raise sqlite3.OperationalError("database or disk is full")
        return real_append(self, area, name, outcome=outcome, **kwargs)

    monkeypatch.setattr(AuditLog, "append", disk_full_after_the_action)


def cli_runner(data_dir: Path, config: Config, monkeypatch: pytest.MonkeyPatch, capsys):
    """``run(*argv, stdin="")`` -> (exit code, stdout, stderr): the CLI in-process on
    ``data_dir`` with ``config`` and the test passphrase in the environment."""
    import io

    from custody_tui.cli import main
    from custody_tui.config import render_toml

    (data_dir / "config.toml").write_text(render_toml(config))
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--data-dir", str(data_dir), *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
