"""Pieces of the Policy screen: the tier editor (validated as you type, in the firmware's
words), the diff shown before a push, and the lines the screen draws. Rendering and
form handling only: validation, diffs and pushes are ``backends.policy``'s."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

STATE_STYLE = {"matches": "bold green", "stale": "bold red", "not armed": "bold yellow", "down": "bold red",
               "disabled": "dim"}


def signer_lines(signers) -> Text:
    text = Text()
    for s in signers:
        text.append(f"{s.name:<8} ", style="bold")
        text.append(f"{s.state:<10}", style=STATE_STYLE.get(s.state, ""))
        text.append(f"{(s.armed_hash or '-')[:16]:<17}", style="dim")
        text.append(f"push: {s.push}\n")
    text.rstrip()
    return text


def tier_lines(view) -> Text:
    """The intended policy's tiers in words (or why the editor cannot edit it)."""
    text = Text()
    text.append("intended ", style="dim")
    text.append(view.hash[:16] + "…", style="bold")
    text.append(f"  {view.source}\n", style="dim")
    tiers = view.tiers
    if tiers is None:
        text.append(f"{len(view.policy.get('rules') or [])} rules; {view.not_two_tier}", style="yellow")
        return text

    def cap(value):
        return "no cap" if value is None else f"{value:,} sat"

    period = f"/{tiers.period_minutes} min" if tiers.period_minutes else ""
    text.append("automated ", style="dim")
    text.append(f"≤ {cap(tiers.automated.max_amount_sat)}/tx · {cap(tiers.automated.per_period_sat)}{period}\n")
    text.append("surge     ", style="dim")
    if tiers.surge is None:
        text.append("none\n", style="dim")
    else:
        needed = tiers.surge.min_users or len(tiers.surge.users)
        text.append(f"≤ {cap(tiers.surge.max_amount_sat)}/tx · {cap(tiers.surge.per_period_sat)}{period} · "
                    f"{needed} of {', '.join(tiers.surge.users)} (TOTP)\n")
    text.append("whitelist ", style="dim")
    text.append(", ".join(tiers.whitelist) if tiers.whitelist else "none: any destination")
    return text


class TierEditor(ModalScreen[dict | None]):
    """Both tiers, the whitelist and the top-level fields as text boxes; every keystroke is
    validated by ``check`` (the firmware's words, or the hash it would report). Returns the
    policy document when the operator asks for the diff."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="policy-editor.cancel")]

    def __init__(self, form: dict[str, Any], fields, flags, build, check) -> None:
        super().__init__()
        self.form = form
        self.fields = fields
        self.flags = flags
        self.build = build  # form values -> policy document
        self.check = check  # policy document -> hash, or raises CustodyError
        self.document: dict | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="policy-editor") as dialog:
            dialog.border_title = "Edit the policy"
            yield Static("", id="editor-verdict", markup=False)
            with VerticalScroll(id="editor-fields"):
                for name, label in self.fields:
                    yield Label(label)
                    yield Input(value=str(self.form.get(name, "")), id=f"tier-{name}", compact=True)
                for name in self.flags:
                    yield Checkbox(name, bool(self.form.get(name)), id=f"tier-{name}")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Diff", variant="primary", id="diff")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.validate()

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {name: self.query_one(f"#tier-{name}", Input).value for name, _ in self.fields}
        values.update({name: self.query_one(f"#tier-{name}", Checkbox).value for name in self.flags})
        return values

    def validate(self) -> None:
        from backends.errors import CustodyError

        verdict = self.query_one("#editor-verdict", Static)
        try:
            document = self.build(self.values())
            policy_hash = self.check(document)
        except CustodyError as exc:
            self.document = None
            verdict.update(Text(f"✗ {exc}", style="bold red"))
        else:
            self.document = document
            verdict.update(Text(f"✓ a Coldcard would take it · hash {policy_hash[:16]}…", style="bold green"))
        self.query_one("#diff", Button).disabled = self.document is None

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.validate()

    def on_checkbox_changed(self, _event: Checkbox.Changed) -> None:
        self.validate()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        position = inputs.index(event.input)
        if position + 1 < len(inputs):
            inputs[position + 1].focus()
        elif self.document is not None:
            self.dismiss(self.document)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "diff" and self.document is not None:
            self.dismiss(self.document)
        elif event.button.id == "cancel":
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DiffScreen(ModalScreen[bool]):
    """A proposed policy against the last pushed version and each signer: push or cancel
    (the focus starts on Cancel)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="policy-diff.cancel")]

    def __init__(self, title: str, diff, *, note: str = "") -> None:
        super().__init__()
        self.diff_title = title
        self.diff = diff
        self.note = note

    def compose(self) -> ComposeResult:
        diff = self.diff
        text = Text()
        text.append(f"proposed {diff.hash[:16]}… against {diff.against}\n", style="bold")
        if self.note:
            text.append(self.note + "\n", style="dim")
        for change in diff.changes:
            text.append(f"  {change.text()}\n")
        if not diff.changes:
            text.append("  no field changes\n", style="dim")
        text.append("\n")
        text.append_text(signer_lines(diff.signers))
        with VerticalScroll(classes="dialog result", id="policy-diff") as dialog:
            dialog.border_title = self.diff_title
            yield Static(text, classes="result-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Push", variant="warning", id="push")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "push")

    def action_cancel(self) -> None:
        self.dismiss(False)


def history_text(versions) -> str:
    from datetime import UTC, datetime

    if not versions:
        return "No policy has been pushed yet: the signers are expected to run quorum.policy_file."
    lines = []
    for v in versions:
        when = datetime.fromtimestamp(v.created, UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"v{v.number}  {v.hash[:16]}…  {when}Z  {v.actor}")
        lines.append(f"     reached {', '.join(v.reached) or '-'}" + (f" · stale {', '.join(v.stale)}" if v.stale else ""))
        if v.reason:
            lines.append(f"     {v.reason}")
    return "\n".join(lines)
