"""The global cap where an operator sees it: the Quorum screen's wallet panel, the Dashboard's
quorum line and ``quorum status``; and a bad ``quorum spend --totp`` code from the command line (three
emulated Coldcards over ckcc and the embedded chain, tests/app/quorum_app.py)."""

from __future__ import annotations

import io
import json
import re

import pytest
from textual.widgets import Static

from backends.quorum import Done, last_event
from custody_tui.cli import main
from custody_tui.config import render_toml
from tests.quorum.rig import SINK

from .quorum_app import quorum_app  # noqa: F401  (a fixture)
from .test_quorum_screen import open_quorum, settle

CAP = {"global_cap_sat": 1_200_000, "global_period_minutes": 60}


def cli(quorum_app, *argv: str) -> list[str]:
    path = quorum_app.data_dir / "config.toml"
    path.write_text(render_toml(quorum_app.config(**CAP), redact=False))
    return ["--config", str(path), "--data-dir", str(quorum_app.data_dir), *argv]


@pytest.mark.slow
async def test_the_quorum_screen_dashboard_and_status_show_used_of_limit_and_when_the_window_rolls(
        quorum_app, capsys, monkeypatch):
    app = quorum_app.app(**CAP)
    done = last_event(app.services.quorum.spend(400_000, SINK))
    assert isinstance(done, Done)
    used = 400_000 + done.fee_sat
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dashboard = " ".join(str(app.screen.query_one("#dashboard-areas", Static).render()).split())
        assert re.search(f"cap {used:,}/1,200,000 sat, rolls in 5[0-9] min", dashboard), dashboard
        screen = await open_quorum(app, pilot)
        wallet = str(screen.query_one("#quorum-wallet", Static).render())
        assert re.search(f"global cap {used:,} sat used of 1,200,000 sat; rolls in 5[0-9] min [(][0-9:]+ UTC[)]",
                         wallet), wallet
    app.services.close()

    assert main(cli(quorum_app, "quorum", "status", "--json")) == 0
    found = json.loads(capsys.readouterr().out)["global"]
    assert (found["used_sat"], found["limit_sat"], found["source"]) == (used, 1_200_000, "chain")
    assert found["window_resets_at"].endswith("Z")
    assert main(cli(quorum_app, "quorum", "status")) == 0
    assert re.search(f"global cap: {used:,} sat used of 1,200,000 sat; rolls in 5[0-9] min",
                     capsys.readouterr().out)
    # a surge code that is not one is refused, and not repeated
    monkeypatch.setattr("sys.stdin", io.StringIO("98x765\n"))  # never argv: piped, or at a hidden prompt
    assert main(cli(quorum_app, "quorum", "spend", "--amount", "1000", "--to", SINK, "--totp")) == 1
    out = capsys.readouterr()
    assert "a TOTP code is 6 digits" in out.out + out.err and "98x765" not in out.out + out.err
