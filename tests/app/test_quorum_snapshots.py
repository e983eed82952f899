"""The Quorum screen's states at 80x24 (frozen clock, fixed data dir, emulators with fixed
seeds and a fresh state each): all live, one down, a refusal shown, a spend in progress."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.quorum.rig import SINK

from .pilot import settle
from .quorum_app import HeldGate, quorum_app  # noqa: F401  (a fixture)

SIZE = (80, 24)



async def open_quorum(pilot) -> None:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)


async def ask_to_spend(pilot, amount: int) -> None:
    await pilot.press("s")
    await pilot.press(*str(amount), "enter", *SINK, "enter", "enter", "enter")
    await settle(pilot)


@pytest.mark.slow
def test_all_signers_live(snap_compare, quorum_app):
    assert snap_compare(quorum_app.app(), run_before=open_quorum, terminal_size=SIZE)


@pytest.mark.slow
def test_one_signer_down(snap_compare, quorum_app):
    app = quorum_app.app()
    quorum_app.rig.process("c").stop()
    assert snap_compare(app, run_before=open_quorum, terminal_size=SIZE)


@pytest.mark.slow
def test_a_refusal_in_the_devices_words(snap_compare, quorum_app):
    async def refused_spend(pilot) -> None:
        await open_quorum(pilot)
        await ask_to_spend(pilot, 2_000_000)  # over the policy's cap
        await pilot.press("shift+tab", "enter")  # "Send anyway"
        await settle(pilot)

    assert snap_compare(quorum_app.app(), run_before=refused_spend, terminal_size=SIZE)


@pytest.mark.slow
def test_a_spend_in_progress(snap_compare, quorum_app):
    app = quorum_app.app()
    gate = HeldGate()
    app.services.quorum.gates.append(gate)
    services = app.services
    close = services.close
    # quitting lets the spend go on (to its refusal by the gate); the services are closed
    # below, once it has ended
    services.close = gate.release.set

    async def held_after_preflight(pilot) -> None:
        await open_quorum(pilot)
        await ask_to_spend(pilot, 200_000)
        await pilot.press("enter")  # "Send to signers"
        assert await asyncio.to_thread(gate.reached.wait, 10)
        await pilot.pause(0.2)  # the events before the gate reach the step log

    try:
        assert snap_compare(app, run_before=held_after_preflight, terminal_size=SIZE)
    finally:
        gate.release.set()
        deadline = time.monotonic() + 20
        while not spend_refused(services) and time.monotonic() < deadline:
            time.sleep(0.05)
        close()


def spend_refused(services) -> bool:
    """The held spend's last write: its "refused" audit entry (after its ledger row)."""
    return any(e.action == "spend" and e.outcome == "refused" for e in services.audit.entries(limit=None))
