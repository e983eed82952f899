"""The Policy screen's states at 80x24 (frozen clock, fixed data dir, emulators with fixed
seeds): every signer's armed policy with one down, and the tier editor refusing a value
in the firmware's words."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from .pilot import settle
from .quorum_app import quorum_app  # noqa: F401  (a fixture)

SIZE = (80, 24)



async def open_policy(pilot) -> None:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)


@pytest.mark.slow
def test_armed_policies_with_one_signer_down(snap_compare, quorum_app):
    app = quorum_app.app()
    quorum_app.rig.process("c").stop()
    assert snap_compare(app, run_before=open_policy, terminal_size=SIZE)


@pytest.mark.slow
def test_the_editor_refuses_in_the_firmware_s_words(snap_compare, quorum_app):
    async def typed_a_bad_period(pilot) -> None:
        await open_policy(pilot)
        await pilot.press("e")
        await pilot.pause()
        pilot.app.screen.query_one("#tier-period", Input).value = "5000"
        await pilot.pause()

    assert snap_compare(quorum_app.app(), run_before=typed_a_bad_period, terminal_size=SIZE)
