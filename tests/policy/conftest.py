"""A quorum of three emulator processes on an embedded chain, opened through the same
Services (config, data dir, audit, keystore) as the CLI and the app."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from custody_tui.cli import AREA_COMMANDS, build_parser
from custody_tui.services import Services
from tests.app.conftest import FrozenClocks
from tests.app.quorum_app import QuorumApp


@pytest.fixture
def quorum():
    # short: the chain's socket lives in the data dir
    data_dir = Path(tempfile.mkdtemp(prefix="cp-", dir="/tmp"))
    harness = QuorumApp(data_dir, FrozenClocks())
    services = Services(harness.config(), data_dir, actor="operator@test")
    try:
        yield harness, services
    finally:
        services.close()
        harness.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def cli(services: Services, *argv: str) -> int:
    """Run ``custody-tui ARGV`` in this process, on these services."""
    args = build_parser().parse_args([str(a) for a in argv])
    return AREA_COMMANDS[args.command].run(args, services)


def audit(services: Services, action: str) -> list[tuple[str, dict]]:
    return [(e.outcome, e.details) for e in services.audit.entries(limit=None, newest_first=False)
            if e.area == "policy" and e.action == action]
