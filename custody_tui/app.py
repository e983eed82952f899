"""CustodyApp: one screen stack per work area, global keys, the command palette, F1 help
and the status line poller. ``make_app`` is the one factory used by the CLI and tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from screens.help import HelpScreen
from screens.widgets import StatusLine
from screens.widgets.status import StatusItem
from backends.errors import CustodyError

from .areas import AREAS, area_screens
from .config import Config
from .paths import assets_dir
from .services import Clocks, Services

log = logging.getLogger("custody_tui.app")

KEY_NAMES = {"slash": "/"}  # Textual's key names where the key itself reads better

GLOBAL_HELP = [
    ("1 … 8", "switch area: " + ", ".join(f"{n} {a.title}" for n, a in enumerate(AREAS, 1))),
    ("f1", "this help"),
    ("ctrl+p", "command palette: every action that can run now, as 'area: verb'"),
    ("tab / shift+tab", "move focus"),
    ("enter", "choose / submit"),
    ("esc", "close a dialog"),
    ("ctrl+q", "quit"),
]


class CustodyApp(App[None]):
    TITLE = "custody-tui"
    CSS_PATH = [str(assets_dir() / "app.tcss")]
    MODES = {area.area: area.open for area in AREAS}  # each screen imported when first opened
    #: area actions come from their own provider, dimmed when they cannot run (loaded with the palette)
    COMMANDS = App.COMMANDS | {lambda: _area_commands()}
    DEFAULT_MODE = "dashboard"
    BINDINGS = [
        *(
            Binding(str(n), f"switch_mode('{area.area}')", area.title, show=False,
                    id=f"app.go.{area.area}")
            for n, area in enumerate(AREAS, 1)
        ),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True),
    ]

    def __init__(self, services: Services, *, poll: bool = True) -> None:
        super().__init__()
        self.services = services
        self.poll = poll
        self.status_items: list[StatusItem] = []
        #: operations running now that quitting would cut short (name -> what that means);
        #: quitting asks first while there is one
        self.in_flight: dict[str, str] = {}
        self.theme = services.config.ui.theme
        self.sub_title = f"{services.data_dir} · {services.config.network}"
        if services.config.demo:
            self.sub_title += " · DEMO"

    def on_mount(self) -> None:
        self.status_items = self.static_status()
        # after the first frame: opening a chain must not delay the first paint
        self.call_after_refresh(self.poll_status)

    # -- status line --------------------------------------------------------------------

    def static_status(self) -> list[StatusItem]:
        """What the status line says before (or without) asking any backend."""
        chain = "not configured" if not self.services.chain_configured else "…"
        return [
            StatusItem("chain", chain, "off" if chain == "not configured" else "warn"),
            StatusItem("quorum", "not configured", "off"),
            StatusItem("alerts", "not configured", "off"),
            StatusItem("keys", "…", "warn"),
        ]

    @work(thread=True, exclusive=True, exit_on_error=False, group="status")
    def poll_status(self) -> None:
        items = self.collect_status()
        self.call_from_thread(self._status_collected, items)

    def collect_status(self) -> list[StatusItem]:
        from screens.keys import format_ttl
        from screens.reserves import mint_configured

        items = self.static_status()
        if self.services.chain_configured:
            items[0] = chain_status(self.services)
        if self.services.quorum_configured:
            items[1] = quorum_status(self.services, poll=self.poll)
        if mint_configured(self.services):
            items[2] = alerts_status(self.services)
        keystore = self.services.keystore
        if not keystore.exists():
            items[3] = StatusItem("keys", "not initialised", "warn")
        elif keystore.is_unlocked:
            items[3] = StatusItem("keys", f"unlocked {format_ttl(keystore.seconds_left())}", "warn")
        else:
            items[3] = StatusItem("keys", "locked", "ok")
        return items

    def _status_collected(self, items: list[StatusItem]) -> None:
        self.status_items = items
        for screen in self.screen_stack:  # the area under a dialog stays current too
            self.show_status_on(screen)
        if self.poll:
            # a one-shot timer re-armed after each poll: refreshes never pile up
            self.set_timer(self.services.config.ui.poll_seconds, self.poll_status)

    def show_status_on(self, screen: Screen) -> None:
        for line in screen.query(StatusLine):
            line.show(self.status_items)

    # -- help and palette ---------------------------------------------------------------

    def action_help(self) -> None:
        sections = [("Everywhere", GLOBAL_HELP)]
        for area in area_screens():
            rows = [(KEY_NAMES.get(a.key, a.key), f"{a.verb} — {a.help}") for a in area.ACTIONS]
            rows += list(area.EXTRA_HELP)
            if rows:
                sections.append((area.TITLE, rows))
        self.push_screen(HelpScreen(sections))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for area in AREAS:
            yield SystemCommand(f"go: {area.title}", f"Open the {area.title} area",
                                partial(self.switch_mode, area.area))
        yield SystemCommand("app: help", "Show every key binding", self.action_help)
        yield SystemCommand("app: quit", "Quit custody-tui", self.action_quit)

    def action_quit(self) -> None:
        """Quit; while an operation runs that quitting would cut short (a quorum spend),
        say what happens to it and ask first."""
        from screens.widgets import ConfirmScreen

        if not self.in_flight:
            self.exit()
            return
        if isinstance(self.screen, ConfirmScreen):
            return  # already asking: a second Ctrl+Q is not an answer
        self.push_screen(ConfirmScreen("Quit now?", "\n\n".join(self.in_flight.values()),
                                       confirm="Quit anyway", cancel="Keep running"),
                         lambda leave: self.exit() if leave else None)

    async def run_area_action(self, area: str, action: str) -> None:
        await self.switch_mode(area)
        await self.screen.run_action(action)

    def on_unmount(self) -> None:
        self.services.close()


def _area_commands():
    from .palette import AreaCommands

    return AreaCommands


def guarded_status(name: str, read: Callable[[], StatusItem]) -> StatusItem:
    """``read()``, or "unavailable": the status line keeps polling whatever a backend does."""
    try:
        return read()
    except CustodyError as exc:
        log.warning("%s status: %s", name, exc)
    except Exception:
        log.exception("%s status failed unexpectedly", name)
    return StatusItem(name, "unavailable", "bad")


def chain_status(services: Services) -> StatusItem:
    def read() -> StatusItem:
        chain = services.chain
        tip = chain.tip()
        return StatusItem("chain", f"{chain.backend_name} {chain.network} #{tip.height}", "ok",
                          short=f"{chain.network} #{tip.height}")

    return guarded_status("chain", read)


def quorum_status(services: Services, *, poll: bool) -> StatusItem:
    """The quorum's health. The app runs the coordinator's poller (with auto-heal) from its
    first status poll on; without polling (tests) it reads the signers once."""
    def read() -> StatusItem:
        from screens.quorum_parts import health_words, never_read

        coordinator = services.quorum
        if poll:
            coordinator.start_polling(heal=True)
        elif never_read(coordinator.statuses()):
            coordinator.refresh()
        words, level = health_words(coordinator)
        return StatusItem("quorum", words, level, short=words.removesuffix(" live"))

    return guarded_status("quorum", read)


def alerts_status(services: Services) -> StatusItem:
    """The mint's active alerts (not acknowledged, not silenced)."""
    def read() -> StatusItem:
        alerts = services.mint.alerts()
        if not alerts:
            return StatusItem("alerts", "none", "ok")
        critical = sum(a.severity == "critical" for a in alerts)
        if critical:  # in words too: colour alone is lost on a monochrome terminal
            return StatusItem("alerts", f"{len(alerts)} mint, {critical} critical", "bad",
                              short=f"{len(alerts)} ({critical} crit)")
        return StatusItem("alerts", f"{len(alerts)} mint", "warn")

    return guarded_status("alerts", read)


def make_app(
    config: Config, data_dir: Path, *, clocks: Clocks | None = None, poll: bool = True,
    actor: str | None = None,
) -> CustodyApp:
    """The one way to build the app, for the CLI and for tests. ``actor`` names who the
    audit log records (default: user@host)."""
    return CustodyApp(Services(config, data_dir, actor=actor, clocks=clocks), poll=poll)
