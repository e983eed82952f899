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

    items: list[StatusItem] = []

    def show(self, items: list[StatusItem]) -> None:
        self.items = items
        self.update(self.line(items, self.content_size.width))

    def on_resize(self) -> None:
        self.update(self.line(self.items, self.content_size.width))

    @staticmethod
    def line(items: list[StatusItem], width: int) -> Text:
        """Live items first; what is not configured is grouped last, and shrinks to a count
        when the names would not fit (80 columns must hold everything live)."""
        live = [item for item in items if item.level != "off"]
        off = [item.name for item in items if item.level == "off"]
        text = Text(no_wrap=True, overflow="ellipsis")
        for item in live:
            if text:
                text.append(" │ ", style="dim")
            text.append(f"{item.name}: ", style="dim")
            text.append(item.value, style=LEVEL_STYLES[item.level])
        if off:
            separator = " │ " if text else ""
            named = f"not configured: {', '.join(off)}"
            if width and len(text) + len(separator) + len(named) > width:
                named = f"{len(off)} not configured"
            text.append(separator, style="dim")
            text.append(named, style=LEVEL_STYLES["off"])
        return text
