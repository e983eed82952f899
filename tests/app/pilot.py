"""Pilot steps shared by the screen tests."""

from __future__ import annotations

import asyncio

from textual.worker import WorkerCancelled, WorkerState


async def settle(pilot) -> None:
    """Wait until no worker is running, then let the screen repaint. A worker cancelled on
    the way (an exclusive refresh replaced by a newer one) is normal, not a failure; a worker
    that failed still fails the test."""
    app = pilot.app
    for _ in range(50):  # a worker landing may start another (a reload after a change)
        running = [w for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
        if not running:
            break
        results = await asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, WorkerCancelled):
                raise result
        await pilot.pause()
    await pilot.pause()
