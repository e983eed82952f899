"""The work areas in key order, named without importing their screens. A screen's module
(and the widgets it needs) is imported when its area is first opened, or when F1 help or
the command palette lists every action, so start-up pays for the Dashboard alone."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any


@dataclass(frozen=True)
class Area:
    area: str  # the screen's AREA: its mode name and palette prefix
    title: str  # the screen's TITLE (a test holds the two equal)
    module: str
    class_name: str

    def screen_class(self) -> Any:
        return getattr(import_module(self.module), self.class_name)

    def open(self) -> Any:
        """A new screen for Textual's MODES, which takes a callable."""
        return self.screen_class()()


#: key "1" opens the first
AREAS: tuple[Area, ...] = (
    Area("dashboard", "Dashboard", "screens.dashboard", "DashboardScreen"),
    Area("quorum", "Signer quorum", "screens.quorum", "QuorumScreen"),
    Area("policy", "Policy", "screens.policy", "PolicyScreen"),
    Area("ceremonies", "MPC ceremonies", "screens.ceremonies", "CeremoniesScreen"),
    Area("reserves", "Mint reserves", "screens.reserves", "ReservesScreen"),
    Area("bunker", "Bunker tokens", "screens.bunker", "BunkerScreen"),
    Area("keys", "Keys", "screens.keys", "KeysScreen"),
    Area("audit", "Audit log", "screens.audit", "AuditScreen"),
)


def area_screens() -> list[Any]:
    """Every area's screen class, in key order (imports them all)."""
    return [area.screen_class() for area in AREAS]
