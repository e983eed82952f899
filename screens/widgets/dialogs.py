"""Modal dialogs shared by the areas: a small form, a result view, a yes/no question and a
typed confirmation.

Forms return a dict of the entered values (or None when cancelled); they never log what
was typed, because a form may carry a passphrase or a mnemonic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    placeholder: str = ""
    value: str = field(default="", repr=False)  # may be a passphrase or a mnemonic
    password: bool = False
    choices: tuple[str, ...] = ()
    required: bool = True
    keep: bool = True  # kept when a refused form comes back


class FormScreen(ModalScreen[dict[str, str] | None]):
    """A titled form: Enter moves on and submits from the last field, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="form.cancel")]

    def __init__(self, title: str, fields: list[FormField], *, note: str = "", submit: str = "OK",
                 error: str = ""):
        super().__init__()
        self.form_title = title
        self.fields = fields
        self.note = note
        self.submit_label = submit
        self.error = error

    def retry(self, values: dict[str, str], error: str) -> FormScreen:
        """The same form again, holding what was typed and saying why it was refused. A
        field marked ``keep=False`` (a passphrase that was wrong) starts empty."""
        fields = [replace(spec, value=values.get(spec.name, spec.value) if spec.keep else "")
                  for spec in self.fields]
        return FormScreen(self.form_title, fields, note=self.note, submit=self.submit_label, error=error)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = self.form_title
            if self.note:
                yield Static(self.note, classes="dialog-note")
            for spec in self.fields:
                yield Label(spec.label)
                if spec.choices:
                    yield Select(
                        [(choice, choice) for choice in spec.choices],
                        value=spec.value or spec.choices[0],
                        allow_blank=False,
                        id=f"field-{spec.name}",
                    )
                else:
                    yield Input(
                        value=spec.value,
                        placeholder=spec.placeholder,
                        password=spec.password,
                        id=f"field-{spec.name}",
                    )
            yield Static(self.error, id="form-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.submit_label, variant="primary", id="submit")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        position = inputs.index(event.input)
        if position + 1 < len(inputs):
            inputs[position + 1].focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        values: dict[str, str] = {}
        for spec in self.fields:
            widget = self.query_one(f"#field-{spec.name}")
            value = str(widget.value if widget.value is not Select.BLANK else "")
            if spec.required and not value.strip():
                self.query_one("#form-error", Static).update(f"{spec.label} is required")
                widget.focus()
                return
            values[spec.name] = value
        self.dismiss(values)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ResultScreen(ModalScreen[None]):
    """Shows a result (an address, a signature, revealed words) and, optionally, its QR."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="result.close"),
        Binding("enter", "close", "Close", show=False),
    ]

    def __init__(self, title: str, text: str, *, qr_payload: str | None = None,
                 shown_while: Callable[[], bool] | None = None, hidden_because: str = ""):
        """``shown_while``: a secret stays on screen only while this holds (checked each
        second); then the dialog closes and ``hidden_because`` says why."""
        super().__init__()
        self.result_title = title
        self.text = text
        self.qr_payload = qr_payload
        self.shown_while = shown_while
        self.hidden_because = hidden_because

    def on_mount(self) -> None:
        if self.shown_while is not None:
            self.set_interval(1.0, self._hide_when_expired)

    def _hide_when_expired(self) -> None:
        if self.shown_while is not None and not self.shown_while():
            self.dismiss(None)
            if self.hidden_because:
                self.app.notify(self.hidden_because, severity="warning", markup=False)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog result") as dialog:
            dialog.border_title = self.result_title
            with Vertical(classes="result-body"):
                # markup off: a result quotes input (a message to sign) that may hold "[...]"
                yield Static(self.text, classes="result-text", markup=False)
                if self.qr_payload is not None:
                    from .qr import QRCodeView  # the QR encoder loads only when a code is shown

                    yield QRCodeView(self.qr_payload)
            yield Button("Close", id="close")

    def on_resize(self) -> None:
        """A code under its text that would not fit the terminal's height goes beside the
        text instead: a phone scans only a code that is whole on screen (80x24 over SSH)."""
        from .qr import QRCodeView

        for qr in self.query(QRCodeView):
            columns, rows = qr.cells
            text_rows = self.text.count("\n") + 1
            chrome = 2 + 1 + 3  # the dialog's border, the text's margin, the Close button
            stacked_fits = text_rows + rows + chrome <= self.size.height
            room_beside = min(76, self.size.width) - 4 - columns - 1  # the dialog's inner width
            self.query_one(".result-body").set_class(not stacked_fits and room_beside >= 30, "-beside")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question before a step with consequences. The focus starts on the safe
    answer, so an Enter typed by reflex keeps things as they are; Esc is the safe answer too."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]

    def __init__(self, title: str, warning: str, *, confirm: str = "OK", cancel: str = "Cancel"):
        super().__init__()
        self.ask_title = title
        self.warning = warning
        self.confirm_label = confirm
        self.cancel_label = cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger") as dialog:
            dialog.border_title = self.ask_title
            yield Static(self.warning, classes="dialog-note", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.cancel_label, variant="primary", id="cancel")
                yield Button(self.confirm_label, variant="error", id="confirm")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)


class ConfirmTypedScreen(ModalScreen[bool]):
    """Asks the operator to type a word (e.g. the entry's label) before a risky action."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: str, warning: str, expected: str):
        super().__init__()
        self.confirm_title = title
        self.warning = warning
        self.expected = expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog danger") as dialog:
            dialog.border_title = self.confirm_title
            yield Static(self.warning, classes="dialog-note")
            yield Label(f"Type {self.expected!r} to confirm (Esc cancels):")
            yield Input(id="confirm-input")
            yield Static("", id="form-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", variant="primary", id="cancel")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.expected:
            self.dismiss(True)
        else:
            self.query_one("#form-error", Static).update("That does not match; Esc cancels.")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
