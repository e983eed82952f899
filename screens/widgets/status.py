"""The one-line status bar under every screen: chain tip, quorum health, open alerts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


@dataclass(frozen=True)
class StatusItem:
    name: str
    value: str
    #: "ok", "warn", "bad" or "off" (not configured)
    level: str = "ok"


LEVEL_STYLES = {"ok": "bold", "warn": "bold yellow", "bad": "bold red", "off": "dim"}


class StatusLine(Static):
    """Renders status items fed by the app's poller; it never asks a backend itself."""

    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, items: list[StatusItem]) -> None:
        # what is not configured is grouped in one segment, so 80 columns hold the rest
        live = [item for item in items if item.level != "off"]
        off = [item.name for item in items if item.level == "off"]
        text = Text(no_wrap=True, overflow="ellipsis")
        for item in live:
            if text:
                text.append(" │ ", style="dim")
            text.append(f"{item.name}: ", style="dim")
            text.append(item.value, style=LEVEL_STYLES[item.level])
        if off:
            if text:
                text.append(" │ ", style="dim")
            text.append(f"not configured: {', '.join(off)}", style=LEVEL_STYLES["off"])
        self.update(text)
