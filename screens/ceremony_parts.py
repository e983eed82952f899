"""Pieces of the Ceremonies screen: what the screen reads from the nodes in one worker
call, the decoded review with approve/decline, the animated QR of a ceremony file, and
the scan dialog that collects BBQr parts typed in by a scanner."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from backends.errors import CustodyError

STATE_STYLE = {"complete": "green", "finalized": "green", "signed": "green", "review": "bold yellow",
               "invited": "bold yellow", "failed": "red", "refused": "red", "aborted": "red", "declined": "dim"}


@dataclass(frozen=True)
class NodeView:
    """One node as the screen shows it (read in a worker)."""

    name: str
    online: bool
    unlocked: bool
    board: str
    statuses: list[Any] = field(default_factory=list)  # backends.ceremony.CeremonyStatus
    others: tuple[str, ...] = ()  # the other nodes this data dir hosts

    @property
    def waiting_on_me(self) -> list[Any]:
        return [s for s in self.statuses if s.waiting_on_me]


def read_node(nodes: Any, name: str) -> NodeView:
    from backends.ceremony import ceremony_status

    names = nodes.names()
    with nodes.using(name) as node:
        statuses = [ceremony_status(node, row) for row in node.ceremonies()]
        return NodeView(name, node.online, node.keystore.is_unlocked, node.store.get("board") or "", statuses,
                        tuple(n for n in names if n != name))


def qr_version_for(width: int, height: int) -> int:
    """The largest QR version whose half-block drawing (two module rows a line, a 4-module
    quiet zone) fits a terminal of ``width`` x ``height`` with the dialog around it: a
    bigger terminal shows bigger codes and so fewer parts. Never below version 5, which
    BBQr scanners expect at least."""
    modules = min(width - 8, 2 * (height - 10)) - 8
    return max(5, min(40, (modules - 17) // 4))


def node_line(view: NodeView) -> Text:
    line = Text.assemble(("node ", "dim"), (view.name, "bold"),
                         ("  online" if view.online else "  offline (messages by file or QR)", "dim"))
    line.append("  keystore ", style="dim")
    line.append("unlocked" if view.unlocked else "LOCKED (u unlocks)", style="green" if view.unlocked else "bold red")
    waiting = len(view.waiting_on_me)
    if waiting:
        line.append(f"  {waiting} waiting on {view.name}", style="bold yellow")
    if view.others:
        line.append(f"  · n: {', '.join(view.others)}", style="dim")
    return line


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, ""))


def event_line(event: Any, node: str = "") -> Text:
    where = f"[{event.ceremony[:8]}] " if event.ceremony else ""
    style = {"refused": "red", "result": "green", "state": "bold"}.get(event.kind, "")
    return Text(f"{node + ': ' if node else ''}{where}{event.kind}: {event.text}", style=style)


class ReviewScreen(ModalScreen[str | None]):
    """The decoded request; returns "approve", "decline" or None."""

    BINDINGS = [Binding("escape", "close", "Close", id="review.close")]

    def __init__(self, title: str, lines: list[str], *, can_decide: bool) -> None:
        super().__init__()
        self.review_title = title
        self.lines = lines
        self.can_decide = can_decide

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog result") as dialog:
            dialog.border_title = self.review_title
            yield Static("\n".join(self.lines), classes="result-text", markup=False, id="review-text")
            with Horizontal(classes="dialog-buttons"):
                if self.can_decide:
                    yield Button("Approve", variant="success", id="approve")
                    yield Button("Decline", variant="error", id="decline")
                yield Button("Close", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id if event.button.id in ("approve", "decline") else None)

    def action_close(self) -> None:
        self.dismiss(None)


class TransferScreen(ModalScreen[str | None]):
    """A ceremony file as an animated BBQr code, and a path to also write it as a file;
    returns that path (or None)."""

    BINDINGS = [Binding("escape", "close", "Close", id="transfer.close")]
    AUTO_FOCUS = "#transfer-path"

    def __init__(self, title: str, parts: list[str], note: str) -> None:
        super().__init__()
        self.transfer_title = title
        self.parts = parts
        self.note = note

    def compose(self) -> ComposeResult:
        from .widgets.qr import QRCodeView

        with VerticalScroll(classes="dialog result") as dialog:
            dialog.border_title = self.transfer_title
            yield Static(self.note, classes="dialog-note", markup=False)
            yield QRCodeView("", parts=self.parts, animate=bool(getattr(self.app, "poll", True)))
            yield Label("Also write the ceremony file to (empty: no file):")
            yield Input(placeholder="/media/usb/ceremony.json", id="transfer-path")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write file", variant="primary", id="write")
                yield Button("Close", id="close")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "write":
            self.dismiss(self.query_one("#transfer-path", Input).value.strip() or None)
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ScanScreen(ModalScreen[list[str] | None]):
    """Collects the BBQr parts of one ceremony file from a scanner that types each code
    and Enter (or from pasted lines); returns every part once all are in."""

    BINDINGS = [Binding("escape", "close", "Cancel", id="scan.cancel")]
    AUTO_FOCUS = "#scan-input"

    def __init__(self) -> None:
        super().__init__()
        from backends.qr import BBQrCollector

        self.collector = BBQrCollector()
        self.parts: list[str] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog") as dialog:
            dialog.border_title = "Scan a ceremony QR"
            yield Static("Point the scanner at the animated code (or paste each part and press Enter). "
                         "Parts may come in any order; a wrong or damaged part is refused.", classes="dialog-note")
            yield Input(placeholder="B$ZJ…", id="scan-input")
            yield Static("no part yet", id="scan-progress", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start over", id="reset")
                yield Button("Cancel", id="close")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        progress = self.query_one("#scan-progress", Static)
        event.input.value = ""
        for part in event.value.split():
            try:
                state = self.collector.add(part)
            except CustodyError as exc:
                progress.update(f"refused: {exc}")
                return
            if part not in self.parts:
                self.parts.append(part)
            progress.update(f"{state.describe()}; missing: {', '.join(str(i + 1) for i in state.missing[:12])}"
                            if state.missing else state.describe())
            if state.done:
                self.dismiss(list(self.parts))
                return

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "reset":
            self.collector.reset()
            self.parts.clear()
            self.query_one("#scan-progress", Static).update("no part yet")
            self.query_one("#scan-input", Input).focus()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
