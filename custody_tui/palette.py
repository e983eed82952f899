"""The command palette's area actions: every action as "area: verb". One that cannot run
now is listed dimmed, its help says what it needs, and choosing it says so again (the
operator learns what to do first instead of not finding the action)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.text import Text
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape


@dataclass(frozen=True)
class AreaCommand:
    title: str
    help: str
    callback: Callable[[], Any]
    available: bool


def area_commands(app: Any) -> list[AreaCommand]:
    """Every area action, judged from ``app``'s backend state now; actions that hide while
    unavailable (unlock/lock taking turns) are left out then."""
    from .areas import area_screens

    commands = []
    for area in area_screens():
        for action in area.ACTIONS:
            available = action.available(app.services)
            if not available and action.hide_when_unavailable:
                continue
            if available:
                commands.append(AreaCommand(f"{area.AREA}: {action.verb}", action.help,
                                            partial(app.run_area_action, area.AREA, action.action), True))
            else:
                commands.append(AreaCommand(
                    f"{area.AREA}: {action.verb}", f"needs: {action.needs or 'it cannot run now'}",
                    partial(app.notify, action.why_not, severity="warning", markup=False), False))
    return commands


class AreaCommands(Provider):
    async def discover(self) -> Hits:
        for command in area_commands(self.app):
            display = command.title if command.available else Text(command.title, style="dim")
            # the palette reads help as markup: "[quorum]" must stay text
            yield DiscoveryHit(display, command.callback, text=command.title, help=escape(command.help))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in area_commands(self.app):
            score = matcher.match(command.title)
            if score > 0:
                display = matcher.highlight(command.title)
                if not command.available:
                    display = display.stylize_before("dim")
                yield Hit(score, display, command.callback, text=command.title, help=escape(command.help))
