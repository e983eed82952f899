"""The signer quorum: a card per Coldcard, the quorum's health, the wallet's balance and
receive address, and the operations (spend with pre-flight, proof of control, arm,
enable/disable, a demo power cycle) with a live step log. Every call goes to the
coordinator (``backends.quorum``) in a worker; its events are rendered as they come."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import RichLog, Static

from backends.amounts import btc
from backends.errors import CustodyError
from backends.outside_input import is_decimal

from .base import AreaAction, OperationScreen, error_text, unconfigured_panel
from .quorum_parts import (
    PreflightScreen,
    SignerCard,
    event_lines,
    failure_text,
    health_words,
    signer_details,
)
from .widgets import FormField, FormScreen, ResultScreen

NEEDS_CONFIG = "configure [quorum] first (README: Signer quorum)"
#: what the app says when asked to quit during a spend
SPEND_IN_FLIGHT = (
    "A quorum spend is running: signers may be signing, or the transaction going out.\n"
    "Quitting cuts it short where it is. Crash recovery picks it up: nothing is lost and "
    "nothing is paid twice, as the next quorum spend (here or `custody-tui quorum spend`) "
    "first settles it with the chain. A "
    "transaction the chain has is recorded; one signed but never broadcast is dropped, and "
    "the next spend reuses one of its coins so that it can never confirm later.")


def _configured(services) -> bool:
    return services.quorum_configured


def _can_spend(services) -> bool:
    return services.quorum_configured and services.chain_configured


def _demo_devices_here(services) -> bool:
    return services.quorum_configured and services.runs_demo_devices


class QuorumScreen(OperationScreen):
    AREA = "quorum"
    TITLE = "Signer quorum"
    ACTIONS = (
        AreaAction("s", "spend", "spend", "Pay an address: pre-flight first, then two signers",
                   _can_spend, needs="configure [quorum] and a chain first", footer="Spend"),
        AreaAction("m", "sign_message", "sign message", "Proof of control: two signers sign a text (BIP-137)",
                   _configured, needs=NEEDS_CONFIG, footer="Sign"),
        AreaAction("a", "arm", "arm signer", "Re-arm the selected signer: enrol, policy, HSM mode, verify",
                   _configured, needs=NEEDS_CONFIG, footer="Arm"),
        AreaAction("e", "enable", "enable signer", "Let the quorum ask the selected signer again",
                   _configured, needs=NEEDS_CONFIG, footer="On"),
        AreaAction("d", "disable", "disable signer", "Stop asking the selected signer (kept in the data dir)",
                   _configured, needs=NEEDS_CONFIG, footer="Off"),
        AreaAction("q", "receive", "receive address", "The wallet's next receive address, with its QR",
                   _can_spend, needs="configure [quorum] and a chain first", footer="QR"),
        AreaAction("p", "power_cycle", "power-cycle signer", "Demo rig: restart the selected emulated "
                   "Coldcard and watch auto-heal re-arm it", _demo_devices_here,
                   needs="only on the demo rig, in the app `custody-tui demo` started", footer="Cycle"),
        AreaAction("r", "reload", "reload", "Read every signer, the balance and the address now",
                   _configured, needs=NEEDS_CONFIG, show=False),
    )
    #: actions that ask the devices: one at a time, and none while an operation runs
    OPERATIONS = ("spend", "sign_message", "arm", "enable", "disable", "power_cycle")
    LOG_NAME = "the step log"
    BINDINGS = [
        Binding("left", "select(-1)", "previous signer", show=False, priority=True),
        Binding("right", "select(1)", "next signer", show=False, priority=True),
        Binding("enter", "signer_in_full", "signer in full", show=False),
    ]
    EXTRA_HELP = (("← →", "select the signer that arm, on/off and cycle apply to"),
                  ("enter", "the selected signer in full: each check, why it is not live, its last refusal"),
                  ("↑ ↓", "scroll the step log"))

    def __init__(self) -> None:
        super().__init__()
        self.coordinator: Any = None
        self.selected = 0
        self.running: str | None = None  # the operation in flight, in words
        self._opening = threading.Lock()

    # -- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        if not self.services.quorum_configured:
            yield from unconfigured_panel(
                self.TITLE, "No signer quorum is configured.",
                "To configure one, add to the config file (`custody-tui config show` prints its "
                "path) a [quorum] table with the wallet's descriptor, its Coldcard wallet name and "
                "the HSM policy file, and one [[quorum.signers]] table per Coldcard: name, target "
                "(USB serial or simulator socket) and xfp. The README's 'Signer quorum' section "
                "has an example. `custody-tui demo` runs three emulated Coldcards armed with a "
                "demo policy.",
                "quorum-unconfigured")
            return
        with Vertical(id="quorum-top"):
            yield Static("reading signers…", id="quorum-health")
            yield Static("", id="quorum-wallet")
        with Horizontal(id="quorum-cards"):
            for n, signer in enumerate(self.services.config.quorum.signers):
                yield SignerCard(signer.name, signer.xfp.upper(), classes="signer-card" + (" selected" if n == 0 else ""))
        log = RichLog(id="quorum-log", wrap=True, markup=False, highlight=False, max_lines=500)
        log.border_title = "Step log"
        yield log

    def on_mount(self) -> None:
        super().on_mount()
        if self.services.quorum_configured:
            self.set_interval(1.0, self.show_statuses)

    # -- state ----------------------------------------------------------------------------

    def refresh_state(self) -> None:
        super().refresh_state()
        if self.services.quorum_configured:
            self.run_backend(self.read_state, done=self.show_state, description="Reading the quorum",
                             changes_state=False, refused=self.show_unavailable)

    def open_coordinator(self) -> Any:
        """The app's coordinator (opened in a worker: it reads the policy file); its events
        from other threads (health changes) reach the step log."""
        with self._opening:  # workers may open it together; its events must be hooked once
            coordinator = self.services.quorum
            if self.coordinator is None:
                previous = coordinator.on_event
                coordinator.on_event = lambda event: (previous(event), self.from_backend(event))
                self.coordinator = coordinator
        return coordinator

    def read_state(self) -> dict[str, Any]:
        coordinator = self.open_coordinator()
        # a device read, not the poller's last one: after an operation the devices' counters moved
        state: dict[str, Any] = {"statuses": coordinator.refresh()}
        if self.services.chain_configured:
            try:
                state["balance"] = coordinator.balance()
                state["address"] = coordinator.receive_address()
                state["global"] = coordinator.global_usage()
            except CustodyError as exc:
                state["wallet_error"] = str(exc)
        return state

    def show_state(self, state: dict[str, Any]) -> None:
        self.show_statuses()
        self.app.poll_status()  # the status line says the new health now, not at its next poll
        wallet = self.query_one("#quorum-wallet", Static)
        if "wallet_error" in state:
            wallet.update(Text(f"wallet: unavailable: {state['wallet_error']}", style="red"))
        elif "balance" in state:
            balance = state["balance"]
            wallet.update(Text.assemble(
                ("balance ", "dim"), (btc(balance.confirmed_sat), "bold"), ("  unconfirmed ", "dim"),
                btc(balance.unconfirmed_sat), ("\nreceive ", "dim"), state["address"],
                *((("\nglobal cap ", "dim"), state["global"].summary()) if state.get("global") else ())))
        else:
            wallet.update(Text("wallet: no chain configured (chain.backend)", style="dim"))

    def show_unavailable(self, exc: CustodyError) -> None:
        """The quorum cannot be opened (a policy file gone, ...): say so where the health goes."""
        self.query_one("#quorum-health", Static).update(Text(f"quorum unavailable: {error_text(exc)}", style="red"))

    def show_statuses(self) -> None:
        """From the coordinator's newest statuses (memory only: the poller reads the devices)."""
        if self.coordinator is None:
            return
        statuses = self.coordinator.statuses()
        for card, status in zip(self.query(SignerCard), statuses, strict=False):
            card.show(status)
        words, level = health_words(self.coordinator)
        threshold = self.coordinator.spec.threshold
        style = {"ok": "bold green", "warn": "bold yellow", "bad": "bold red"}[level]
        line = Text.assemble(("health ", "dim"), (words, style), (f" · {threshold} needed", "dim"))
        if self.running:
            line.append(f" · {self.running}…", style="bold")
        self.query_one("#quorum-health", Static).update(line)

    # -- the signer selection ---------------------------------------------------------------

    def action_select(self, step: int) -> None:
        cards = list(self.query(SignerCard))
        if not cards:
            return
        self.selected = (self.selected + step) % len(cards)
        for n, card in enumerate(cards):
            card.set_class(n == self.selected, "selected")

    def selected_signer(self) -> str:
        return self.services.config.quorum.signers[self.selected].name

    def action_signer_in_full(self) -> None:
        """A card has 80/3 columns: a long reason ends cut there, and is read whole here."""
        if self.coordinator is None:
            return
        name = self.selected_signer()
        status = next((s for s in self.coordinator.statuses() if s.name == name), None)
        if status is not None:
            card = self.query(SignerCard)[self.selected]
            self.app.push_screen(ResultScreen(f"Signer {name}", signer_details(status, card.expected_xfp)))

    # -- one operation at a time ------------------------------------------------------------

    def operation_started(self, what: str, title: str) -> None:
        if title:
            self.begin(title)
        self.show_statuses()

    def stream(self, operation: Iterator[Any]) -> Any:
        """In the worker: hand each event to the step log as it comes; returns the last."""
        last = None
        for last in operation:
            self.app.call_from_thread(self.log_event, last)
        return last

    def from_backend(self, event: Any) -> None:
        """A coordinator event from its own threads (the poller's health changes)."""
        try:
            self.app.call_from_thread(self.log_event, event)
        except RuntimeError:
            pass  # the app has stopped, or this is the UI thread: nothing to show it on

    def log_event(self, event: Any) -> None:
        for line in event_lines(event):
            self.log_line(line)
        self.show_statuses()

    def log_line(self, line: Text) -> None:
        self.query_one("#quorum-log", RichLog).write(line)

    def begin(self, title: str) -> None:
        self.log_line(Text(f"— {title}", style="bold"))

    # -- actions ----------------------------------------------------------------------------

    def action_reload(self) -> None:
        self.refresh_state()

    def action_spend(self) -> None:
        fields = [FormField("amount", "Amount (sats)", placeholder="e.g. 2000000"),
                  FormField("destination", "Pay to address"),
                  FormField("note", "Note (optional, kept with the spend)", required=False),
                  FormField("totp", "Owner's TOTP code (surge tier only)", password=True, required=False,
                            keep=False)]
        form = FormScreen("Spend from the quorum", fields, submit="Pre-flight",
                          note="Pre-flight runs each live signer's policy here; no device is asked "
                               "until you confirm.")

        def preflight(values: dict[str, str]):
            from backends.quorum.surge import parse_totp_code

            amount = parse_sats(values["amount"])
            destination = values["destination"].strip()
            totp = parse_totp_code(values["totp"]) if values["totp"].strip() else None
            coordinator = self.open_coordinator()
            # the code is a secret: the audit entry says only that the surge tier was asked
            with self.services.audited("quorum", "preflight", amount_sat=amount, destination=destination,
                                       surge=totp is not None) as result:
                flight = coordinator.preflight(amount, destination, surge=totp is not None)
                result["would_pass"] = flight.would_pass
            return flight, destination, values["note"], totp

        def confirm(outcome) -> None:
            flight, destination, note, totp = outcome
            self.app.push_screen(PreflightScreen(flight, destination, note),
                                 lambda send: self.spend(flight.amount_sat, destination, note, totp) if send else None)

        self.submit_form(form, preflight, done=confirm, description="Pre-flight", changes_state=False)

    def spend(self, amount: int, destination: str, note: str, totp: str | None = None) -> None:
        tier = " (surge tier)" if totp else ""
        self.operate("spend", lambda: self.stream(self.open_coordinator().spend(amount, destination, note, totp=totp)),
                     self.spend_finished, title=f"spend {amount:,} sat to {destination}{tier}",
                     in_flight=SPEND_IN_FLIGHT)

    def spend_finished(self, last: Any) -> None:
        from backends.quorum import Done

        if isinstance(last, Done):
            self.notify(f"Broadcast {last.txid}", title="Spent", markup=False)
        else:
            self.show_failure("Spend refused — nothing was broadcast", last)

    def show_failure(self, title: str, failed: Any) -> None:
        if failed is not None and failed.refusals:
            self.app.push_screen(ResultScreen(title, failure_text(failed)))
        elif failed is not None:
            self.notify(f"{failed.reason}\n{failed.hint}" if failed.hint else failed.reason,
                        title=title, severity="error", timeout=8, markup=False)

    def action_sign_message(self) -> None:
        form = FormScreen("Proof of control", [FormField("text", "Challenge text (ASCII)")], submit="Sign",
                          note="Two signers sign it on their message paths (BIP-137).")

        def sign(values: dict[str, str] | None) -> None:
            if values is None:
                return
            self.operate("proof of control",
                         lambda: self.stream(self.open_coordinator().sign_message(values["text"])),
                         self.signed, title=f"sign message {values['text']!r}")

        self.app.push_screen(form, sign)

    def signed(self, last: Any) -> None:
        from backends.quorum import Proven

        if not isinstance(last, Proven):
            self.show_failure("Proof of control failed", last)
            return
        lines = [f"message:   {last.text}", ""]
        for s in last.signatures:
            lines += [f"{s.signer} ({s.path})", f"address:   {s.address}", f"signature: {s.signature}", ""]
        lines.append("Check one: custody-tui quorum verify-message ADDRESS TEXT SIGNATURE")
        self.app.push_screen(ResultScreen("Proof of control", "\n".join(lines)))

    def action_arm(self) -> None:
        name = self.selected_signer()
        say = lambda text: self.app.call_from_thread(self.log_event, text)  # noqa: E731
        self.operate(f"arming {name}", lambda: self.open_coordinator().arm([name], say=say)[0], self.armed,
                     title=f"arm {name}")

    def armed(self, status: Any) -> None:
        if status.live:
            self.log_line(Text(f"✓ {status.name} armed and verified: live", style="bold green"))
        else:
            self.log_line(Text(f"✗ {status.name} not live: {status.problem}", style="bold red"))
            self.notify(f"{status.name}: {status.problem}", title="Not armed", severity="error", markup=False)

    def action_enable(self) -> None:
        self.set_enabled(True)

    def action_disable(self) -> None:
        self.set_enabled(False)

    def set_enabled(self, enabled: bool) -> None:
        name = self.selected_signer()
        verb = "enable" if enabled else "disable"

        def changed(status: Any) -> None:
            self.log_line(Text(f"· {name} {verb}d; now {status.state}"))

        self.operate(f"{verb} {name}", lambda: self.open_coordinator().set_enabled(name, enabled), changed)

    def action_receive(self) -> None:
        def address() -> str:
            coordinator = self.open_coordinator()
            with self.services.audited("quorum", "receive-address") as result:
                result["address"] = found = coordinator.receive_address()
            return found

        def show(found: str) -> None:
            spec = self.coordinator.spec
            self.app.push_screen(ResultScreen(
                f"Receive — {spec.wallet_name}",
                f"{found}\n{spec.threshold}-of-{len(spec.signers)} quorum, {self.services.config.network}",
                qr_payload=found))

        self.run_backend(address, done=show, description="Reading the receive address", changes_state=False)

    def action_power_cycle(self) -> None:
        name = self.selected_signer()

        def cycled(_: Any) -> None:
            self.log_line(Text(f"· {name} restarted out of HSM mode; auto-heal re-arms it "
                               f"(cooldown {self.services.config.quorum.heal_cooldown_seconds:.0f} s)"))

        self.operate(f"power-cycling {name}", lambda: self.services.power_cycle_demo_signer(name), cycled,
                     title=f"power-cycle {name}")


def parse_sats(text: str) -> int:
    """A whole, positive number of satoshis ("2,000,000" and "2_000_000" are fine)."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not is_decimal(cleaned) or int(cleaned) <= 0:  # not isdigit(): '²' passes it, then int() raises
        raise CustodyError(f"amount {text.strip()!r} is not a whole number of satoshis above 0",
                           hint="type the amount in sats, e.g. 2000000 for 0.02 BTC")
    return int(cleaned)
