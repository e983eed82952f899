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
    #: a shorter value, used when the whole line would not fit
    short: str = ""


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
        when the names would not fit. 80 columns must hold every live item whole (the keys'
        lock state is last and must never be the one cut): then what is not configured goes
        (the dashboard says it), items take their short values, the separators tighten, and
        last the names lose their colons."""
        live = [item for item in items if item.level != "off"]
        off = [item.name for item in items if item.level == "off"]
        for short, separator, colon in ((False, " │ ", ":"), (False, " │ ", ":"), (True, " │ ", ":"),
                                        (True, "│", ":"), (True, "│", "")):
            text = StatusLine._line_in(live, off, width, short, separator, colon)
            if not width or len(text) <= width:
                return text
            off = []
        return text  # still too long: the ellipsis marks the cut

    @staticmethod
    def _line_in(live: list[StatusItem], off: list[str], width: int, short: bool, separator: str,
                colon: str) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        for item in live:
            if text:
                text.append(separator, style="dim")
            text.append(f"{item.name}{colon} ", style="dim")
            text.append(item.short if short and item.short else item.value, style=LEVEL_STYLES[item.level])
        if off:
            gap = separator if text else ""
            named = f"not configured: {', '.join(off)}"
            if width and len(text) + len(gap) + len(named) > width:
                named = f"{len(off)} not configured"
            text.append(gap, style="dim")
            text.append(named, style=LEVEL_STYLES["off"])
        return text
