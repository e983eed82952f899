"""The audit area: the newest entries of the hash-chained log, a filter, and the chain's
verification status."""

from __future__ import annotations

import json
from pathlib import Path

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from .base import AreaAction, AreaScreen
from .widgets import FormField, FormScreen, ResultScreen

#: the table shows one page of the newest entries; the CLI exports everything
PAGE_SIZE = 500


def details_line(details: dict) -> str:
    """``node=carol via=tui``: more of an entry fits 80 columns than as JSON; a value with
    spaces or not a string stays JSON, so the line still reads one way (Enter shows it all)."""
    def value(v: object) -> str:
        if isinstance(v, str) and v and not any(c.isspace() or c in '="' for c in v):
            return v
        return json.dumps(v, separators=(",", ":"), ensure_ascii=False)

    return " ".join(f"{key}={value(v)}" for key, v in sorted(details.items()))


class AuditScreen(AreaScreen):
    AREA = "audit"
    TITLE = "Audit log"
    AUTO_FOCUS = "#audit-table"
    ACTIONS = (
        AreaAction("v", "verify", "verify chain", "Recompute every entry's hash and link"),
        AreaAction("slash", "filter", "filter", "Filter entries by area, action or text"),
        AreaAction("x", "export", "export JSON", "Write every entry and the chain status to a file"),
        AreaAction("r", "reload", "reload", "Read the newest entries again"),
    )

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel") as panel:
            panel.border_title = "Audit log"
            yield Static("chain: not verified yet (press v)", id="audit-status")
            yield Input(placeholder="filter: area, action, actor or text", id="audit-filter")
            table = DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            for key, label in [("seq", "#"), ("time", "time (UTC)"), ("area", "area"),
                               ("action", "action"), ("outcome", "outcome"), ("details", "details")]:
                table.add_column(label, key=key)
            yield table

    BINDINGS = [Binding("escape", "leave_filter", "leave filter", show=False)]
    EXTRA_HELP = (("enter", "show the whole entry, with the hashes that chain it"),
                  ("esc", "leave the filter box"))

    def on_mount(self) -> None:
        self.shown: dict[str, object] = {}  # the entries on screen, by seq
        self.verified_up_to: int | None = None  # seq of the newest entry the last verify covered

    def refresh_state(self) -> None:
        """On mount, on return, after an export: the table shows the log as it is now."""
        super().refresh_state()
        self.action_reload()

    def action_leave_filter(self) -> None:
        """Esc in the filter box gives the keys back to the table (and the area keys)."""
        self.query_one("#audit-table", DataTable).focus()

    def action_reload(self) -> None:
        text = self.query_one("#audit-filter", Input).value.strip() or None
        self.run_backend(
            lambda: self.services.audit.entries(text=text, limit=PAGE_SIZE),
            done=self.show_entries,
            description="Reading the audit log",
            changes_state=False,
        )

    def show_entries(self, entries: list) -> None:
        self.shown = {str(entry.seq): entry for entry in entries}
        newest = max((entry.seq for entry in entries), default=0)
        if self.verified_up_to is not None and newest > self.verified_up_to:
            self.query_one("#audit-status", Static).update(
                f"chain: intact up to #{self.verified_up_to}; newer entries not verified yet (press v)")
        table = self.query_one("#audit-table", DataTable)
        table.clear()
        for entry in entries:
            # Text, not str: a DataTable parses strings as markup, and details hold what
            # operators typed ("[/]" in a signed message would otherwise crash the screen)
            table.add_row(
                str(entry.seq),
                entry.timestamp.replace("T", " ")[:19],
                Text(entry.area),
                Text(entry.action),
                Text(entry.outcome),
                Text(details_line(entry.details)),
                key=str(entry.seq),
            )

    @on(DataTable.RowSelected, "#audit-table")
    def show_entry(self, event: DataTable.RowSelected) -> None:
        """Enter on a row: the whole entry, with the hashes that chain it."""
        entry = self.shown.get(event.row_key.value)
        if entry is not None:
            text = json.dumps(entry.to_dict(), indent=2, sort_keys=True)
            self.app.push_screen(ResultScreen(f"Audit entry #{entry.seq}", text))

    @on(Input.Submitted, "#audit-filter")
    def filter_submitted(self) -> None:
        self.action_reload()
        self.query_one("#audit-table", DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#audit-filter", Input).focus()

    def action_verify(self) -> None:
        self.run_backend(
            self.services.audit.verify, done=self.show_status,
            description="Verifying the audit log", changes_state=False,
        )

    def show_status(self, status) -> None:
        label = self.query_one("#audit-status", Static)
        if status.ok:
            self.verified_up_to = status.head_seq
            label.update(
                f"chain: [b]intact[/b] — {status.entries_checked} entries, head {status.head_hash[:16]}…"
            )
            label.set_class(False, "bad")
        else:
            first = status.problems[0]
            label.update(
                f"chain: [b]BROKEN[/b] — {len(status.problems)} problem(s); first: {escape(first.message)}"
            )
            label.set_class(True, "bad")
            self.notify(first.message, title="Audit chain broken", severity="error", timeout=10, markup=False)

    def action_export(self) -> None:
        # a fresh name each time: an export never replaces a file silently
        stamp = self.services.clocks.wall().strftime("%Y%m%d-%H%M%S")
        default = str(self.services.data_dir / f"audit-export-{stamp}.json")
        form = FormScreen("Export audit log", [FormField("path", "File to write", value=default)],
                          submit="Export")

        def export(values: dict[str, str]) -> Path:
            path = Path(values["path"]).expanduser()
            with self.services.audited("audit", "export", path=str(path)):
                self.services.audit.export_json(path)
            return path

        self.submit_form(form, export,
                         done=lambda written: self.notify(f"Audit log written to {written}", markup=False),
                         description="Exporting the audit log")
