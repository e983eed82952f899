"""On-screen approvals: the one pending request, the story on screen, and keypresses.

The device shows one story at a time (title, body), as the simulator's
``sim_display.story`` does, and answers keys injected with ``XKEY``: ``y`` is OK,
``x`` is cancel, digits are digits. A request started over USB stays the "active
request" until ``stok``/``smok`` collects its final answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .failures import SIGNING_FAILED_LATE


class Busy(Exception):
    """Another approval is on screen; answered with ``busy``."""


@dataclass
class Story:
    title: str
    body: str


class PendingAction:
    """A request waiting on the operator (or on the HSM policy)."""

    kind = "action"

    def __init__(self) -> None:
        self.refused = False
        self.failed: str | None = None
        self.result = None
        self.ux_done = False
        self.story: Story | None = None
        #: what the screen shows once the request failed (until OK), outside HSM mode
        self.failure_story: Story | None = None

    def on_key(self, key: str) -> None:  # pragma: no cover - overridden
        pass

    def finish(self) -> None:
        self.ux_done = True
        self.story = None


class KeyDecision(PendingAction):
    """A story answered by OK (approve) or cancel (refuse)."""

    def __init__(self, story: Story, on_approve: Callable[[], object], kind: str) -> None:
        super().__init__()
        self.story = story
        self.kind = kind
        self._on_approve = on_approve

    def on_key(self, key: str) -> None:
        if key == "y":
            try:
                self.result = self._on_approve()
            except Exception as exc:  # a signing error after approval
                self.failed = str(exc) or SIGNING_FAILED_LATE
                self.failure_story = Story(getattr(exc, "title", "Failure"), getattr(exc, "screen", self.failed))
            self.finish()
        elif key == "x":
            self.refused = True
            self.finish()


class Approvals:
    """The single UX stack of the device: at most one pending action and one story."""

    def __init__(self) -> None:
        self.active: PendingAction | None = None
        self.idle_story: Story | None = None

    @property
    def story(self) -> Story | None:
        if self.active is not None and self.active.story is not None:
            return self.active.story
        return self.idle_story

    def check_busy(self, allowed_kinds: tuple[str, ...] = ()) -> None:
        req = self.active
        if req is None:
            return
        if req.kind in allowed_kinds:
            return
        if req.ux_done:
            self.active = None
            return
        raise Busy()

    def start(self, action: PendingAction) -> None:
        self.active = action
        self.idle_story = None

    def show(self, story: Story) -> None:
        """A story that stays on screen until OK or cancel (a failure's details)."""
        self.idle_story = story

    def cleanup(self) -> None:
        self.active = None

    def press(self, key: str) -> None:
        action = self.active
        if action is not None and not action.ux_done:
            action.on_key(key)  # may end the request (self.active is then None)
            if action.failure_story is not None:
                self.show(action.failure_story)
        elif self.idle_story is not None and key in ("y", "x"):
            self.idle_story = None
