"""F1 help: every binding of the app and of each area, in one scrollable list."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f1,q", "close", "Close help", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        """``sections``: (title, [(key, what it does)]) in display order."""
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column("key", style="bold", no_wrap=True, width=16)
        table.add_column("does")
        for title, rows in self.sections:
            table.add_row(f"[reverse] {title} [/reverse]", "")
            for key, does in rows:
                table.add_row(key, does)
        with VerticalScroll(classes="dialog help") as scroll:
            scroll.border_title = "Help — keys (Esc closes)"
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)
