"""What every area screen shares: its actions (one list feeds the bindings, the footer,
F1 help and the command palette), availability checks, and running backend calls off the
UI thread with expected failures shown as notifications."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.containers import Vertical
from textual.widgets import Footer, Header, Static

from backends.errors import CustodyError, os_error_message

from .widgets.status import StatusLine

log = logging.getLogger("custody_tui.screens")


def always(services: Any) -> bool:
    return True


def unconfigured_panel(title: str, headline: str, how: str, widget_id: str) -> ComposeResult:
    """What an area shows before it is configured: what is missing, and how to add it."""
    with Vertical(classes="panel") as panel:
        panel.border_title = title
        yield Static(f"[b]{headline}[/b]", classes="placeholder-title")
        yield Static(how, markup=False, id=widget_id)


@dataclass(frozen=True)
class AreaAction:
    """One operator action of an area: a key, a palette entry "area: verb", a help line."""

    key: str
    action: str
    verb: str
    help: str
    #: whether the action can run now, judged from backend state only (so the palette can
    #: ask without the screen being shown)
    available: Callable[[Any], bool] = always
    show: bool = True
    #: hide (rather than dim) the key while unavailable, for one-off actions like setup
    hide_when_unavailable: bool = False
    #: the footer's word when the verb is too long for 80 columns
    footer: str = ""
    #: what the operator must do first, said when a dimmed key is pressed
    needs: str = ""

    @property
    def why_not(self) -> str:
        """What the operator is told when the action cannot run now."""
        return f"{self.verb[:1].upper() + self.verb[1:]}: {self.needs or 'it cannot run now'}."

    @property
    def footer_label(self) -> str:
        return self.footer or self.verb[:1].upper() + self.verb[1:]


def error_text(exc: CustodyError) -> str:
    """The message and, under it, what to do next."""
    return f"{exc}\n{exc.hint}" if exc.hint else str(exc)


def error_title(exc: CustodyError) -> str:
    """A notification title in words: WrongPassphrase -> "Wrong passphrase"."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z0-9]*", type(exc).__name__)
    if not words or type(exc) is CustodyError:
        return "Refused"
    return " ".join(words[:1] + [w if w.isupper() else w.lower() for w in words[1:]])


class AreaScreen(Screen):
    """A work area. Subclasses set AREA, TITLE and ACTIONS."""

    AREA: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    ACTIONS: ClassVar[tuple[AreaAction, ...]] = ()
    #: keys F1 lists that are not actions (Enter on a row, Esc in a box): (key, what it does)
    EXTRA_HELP: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # before super(): Textual merges BINDINGS when the class is created. A subclass's
        # own BINDINGS are for keys that are not actions (Esc leaving a box, ...).
        cls.BINDINGS = [
            *cls.__dict__.get("BINDINGS", []),
            *[Binding(a.key, a.action, a.footer_label, show=a.show, id=f"{cls.AREA}.{a.action}",
                    tooltip=a.help)
              for a in cls.ACTIONS],
        ]
        super().__init_subclass__(**kwargs)

    @property
    def services(self) -> Any:
        return self.app.services

    def compose(self) -> ComposeResult:
        yield Header(icon="₿")
        yield from self.compose_body()
        yield StatusLine()
        yield Footer(compact=True)  # every area's keys fit 80 columns

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.app.show_status_on(self)

    def on_key(self, event: events.Key) -> None:
        """A dimmed key does nothing in Textual; say why instead of leaving the operator guessing."""
        for area_action in self.ACTIONS:
            if event.key == area_action.key and not area_action.available(self.services):
                if not area_action.hide_when_unavailable:
                    self.notify(area_action.why_not, severity="warning", markup=False)
                    event.stop()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        for area_action in self.ACTIONS:
            if area_action.action == action:
                if area_action.available(self.services):
                    return True
                return False if area_action.hide_when_unavailable else None
        return True

    def refresh_state(self) -> None:
        """Re-read backend state after something changed; subclasses override."""
        self.refresh_bindings()

    def on_screen_resume(self) -> None:
        self.refresh_state()

    # -- running backend calls ----------------------------------------------------------

    def run_backend(
        self,
        call: Callable[[], Any],
        *,
        done: Callable[[Any], None] | None = None,
        description: str = "",
        changes_state: bool = True,
        refused: Callable[[CustodyError], None] | None = None,
    ) -> None:
        """Run ``call`` in a thread worker; hand its result to ``done`` on the UI thread,
        then re-read the screen's state if the call ``changes_state`` (reads pass False).

        A CustodyError goes to ``refused`` if given, else becomes an error notification
        with its message and hint; anything else is logged with its traceback and shown
        as a short internal-error notice."""
        self._backend_worker(call, done, description, changes_state, refused or self.show_error)

    def submit_form(
        self,
        form: Any,
        call: Callable[[dict[str, str]], Any],
        *,
        done: Callable[[Any], None] | None = None,
        description: str = "",
        changes_state: bool = True,
    ) -> None:
        """Show ``form`` and run ``call(values)`` with what was typed. A refusal brings the
        form back holding those values, the reason inside it: at 3 a.m. nobody retypes 24
        words because one was wrong."""

        def submitted(values: dict[str, str] | None) -> None:
            if values is None:
                return

            def refused(exc: CustodyError) -> None:
                from backends.audit import AuditUnrecorded

                if isinstance(exc, AuditUnrecorded):  # it was done: no form inviting a repeat
                    self.show_error(exc)
                    self.refresh_state()
                    return
                self.refresh_bindings()
                self.submit_form(form.retry(values, error_text(exc)), call, done=done,
                                 description=description, changes_state=changes_state)

            self.run_backend(lambda: call(values), done=done, description=description,
                             changes_state=changes_state, refused=refused)

        self.app.push_screen(form, submitted)

    @work(thread=True, exit_on_error=False, group="backend")
    def _backend_worker(
        self,
        call: Callable[[], Any],
        done: Callable[[Any], None] | None,
        description: str,
        changes_state: bool,
        refused: Callable[[CustodyError], None],
    ) -> None:
        try:
            result = call()
        except CustodyError as exc:
            self.app.call_from_thread(refused, exc)
            return
        except OSError as exc:  # a path the operator typed that cannot be used
            self.app.call_from_thread(refused, CustodyError(os_error_message(exc)))
            return
        except Exception:
            log.exception("unexpected failure in %s", description or "a backend call")
            self.app.call_from_thread(
                self.notify,
                f"{description or 'The operation'} failed unexpectedly; details are in the log file.",
                title="Internal error",
                severity="error",
            )
            return
        self.app.call_from_thread(self._finish, result, done, changes_state)

    def _finish(self, result: Any, done: Callable[[Any], None] | None, changes_state: bool) -> None:
        if done is not None:
            done(result)
        if changes_state:
            self.refresh_state()
        else:
            self.refresh_bindings()

    def show_error(self, exc: CustodyError) -> None:
        message = error_text(exc)
        # markup off: messages quote what the operator typed (an address, a path, a label)
        self.notify(message, title=error_title(exc), severity="error", timeout=8, markup=False)
        self.refresh_bindings()


class OperationScreen(AreaScreen):
    """An area whose actions ask devices (``OPERATIONS``): one runs at a time, the others
    are dimmed (and say why) until it ends, its failure goes to the screen's log and a
    notification. Subclasses provide ``log_line`` and may override ``operation_started``."""

    OPERATIONS: ClassVar[tuple[str, ...]] = ()
    #: where the screen's running operations write, as the operator knows it
    LOG_NAME: ClassVar[str] = "the log"

    running: str | None = None  # the operation in flight, in words

    def log_line(self, line: Any) -> None:
        raise NotImplementedError

    def operation_started(self, what: str, title: str) -> None:
        """The operation ``what`` begins (``title`` heads its lines, if given)."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.running and action in self.OPERATIONS:
            return None
        return super().check_action(action, parameters)

    def on_key(self, event: events.Key) -> None:
        operation_keys = {a.key for a in self.ACTIONS if a.action in self.OPERATIONS}
        if self.running and event.key in operation_keys:
            self._say_wait()
            event.stop()
            return
        super().on_key(event)

    def _say_wait(self) -> None:
        self.notify(f"Wait: {self.running} is still running (see {self.LOG_NAME}).", severity="warning",
                    markup=False)

    def operate(self, what: str, call: Callable[[], Any], done: Callable[[Any], None], *, title: str = "",
                in_flight: str = "") -> None:
        """Run one device operation in a worker; the screen says it runs until it ends. The
        palette reaches here without the keys' check, hence the second one. ``in_flight``:
        what quitting meanwhile would do to it (the app then asks before quitting)."""
        from rich.text import Text

        if self.running:
            self._say_wait()
            return
        self.running = what
        key = f"{self.AREA} {what}"
        if in_flight:
            self.app.in_flight[key] = in_flight
        self.operation_started(what, title)
        self.refresh_bindings()

        def finished(result: Any) -> None:
            self.running = None
            done(result)

        def refused(exc: CustodyError) -> None:
            self.running = None
            self.log_line(Text(f"✗ {what}: {exc}", style="bold red"))
            self.show_error(exc)
            self.refresh_state()

        def call_to_the_end() -> Any:
            try:
                return call()
            finally:  # also after an unexpected error: quitting must not ask about nothing
                with contextlib.suppress(RuntimeError):  # the app is gone already
                    self.app.call_from_thread(lambda: self.app.in_flight.pop(key, None))

        self.run_backend(call_to_the_end, done=finished, description=what.capitalize(), refused=refused)
