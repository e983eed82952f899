"""Pieces of the Quorum screen: a signer's card, the lines the step log shows for each
event of a running operation, the pre-flight confirmation and the quorum's health in
words (shared with the Dashboard and the status line). Rendering only: every fact comes
from ``backends.quorum``."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

#: the coordinator's placeholder status before a signer was ever read (``SignerStatus``)
NOT_READ = "not read yet"

HEALTH_LEVEL = {"ok": "ok", "degraded": "warn", "down": "bad"}
STATE_STYLE = {"live": "bold green", "not armed": "bold yellow", "down": "bold red", "disabled": "dim"}


def never_read(statuses: list) -> bool:
    """Whether no signer has been read yet (the coordinator's health would say "down")."""
    return all(s.problem == NOT_READ for s in statuses)


def health_words(coordinator: Any) -> tuple[str, str]:
    """The quorum's health for a status line: ("ok 3/3 live", "ok"), ..., and its level."""
    statuses = coordinator.statuses()
    if never_read(statuses):
        return "reading signers…", "warn"
    health = coordinator.health()
    live = sum(1 for s in statuses if s.live)
    return f"{health} {live}/{len(statuses)} live", HEALTH_LEVEL[health]


def sats(amount: int) -> str:
    return f"{amount:,} sat"




def _mark(ok: bool, known: bool) -> str:
    return "✓" if ok else ("✗" if known else "…")


class SignerCard(Static):
    """One signer: XFP, state, the checks that make it live, its counters and what the
    device last refused (or why it is not live)."""

    def __init__(self, name: str, xfp: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.signer_name = name
        self.expected_xfp = xfp
        self.border_title = name

    def show(self, status: Any) -> None:
        read = status.problem != NOT_READ
        text = Text(no_wrap=False)
        text.append(f"{self.expected_xfp} · {'enabled' if status.enabled else 'disabled'}\n")
        state = status.state if read or not status.enabled else "not read"
        text.append(f"● {state}\n", style=STATE_STYLE.get(state, "dim"))
        text.append(f"reach {_mark(status.reachable, read)} hsm {_mark(status.hsm_active, status.reachable)} "
                    f"policy {_mark(status.policy_ok, status.hsm_active)}\n")
        text.append(f"approvals {status.approvals} refusals {status.refusals}\n")
        if status.enabled and not status.live and read:
            text.append(status.problem or "", style="yellow")
        elif status.last_refusal:
            text.append(f"✗ {status.last_refusal}", style="red")
        self.update(text)
        self.border_subtitle = "LIVE" if status.live else ""
        for state_class in ("live", "down", "not-armed", "disabled"):
            self.set_class(state_class == status.state.replace(" ", "-"), state_class)


def signer_details(status: Any, expected_xfp: str) -> str:
    """One signer's newest status, every field in words (what its card cuts at 80x24)."""
    from datetime import UTC, datetime

    read = status.problem != NOT_READ

    def check(ok: bool, known: bool) -> str:
        return "yes" if ok else "no" if known else "not checked"

    lines = [
        ("state", status.state if read or not status.enabled else "not read"),
        ("enabled", "yes" if status.enabled else "no"),
        ("fingerprint", f"{expected_xfp} expected, {status.xfp or 'none'} reported"),
        ("reachable", check(status.reachable, read)),
        ("fingerprint ok", check(status.xfp_ok, status.reachable)),
        ("wallet enrolled", check(status.wallet_enrolled, status.reachable)),
        ("HSM mode", check(status.hsm_active, status.reachable)),
        ("policy ok", check(status.policy_ok, status.hsm_active) + (f" ({status.policy_hash[:16]}…)"
                                                                   if status.policy_hash else "")),
        ("approvals", str(status.approvals)),
        ("refusals", str(status.refusals)),
        ("last refusal", status.last_refusal or "-"),
        ("why not live", "-" if status.live else status.problem or "-"),
        ("read at", datetime.fromtimestamp(status.checked_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")),
    ]
    return "\n".join(f"{name:<16} {value}" for name, value in lines)


def event_lines(event: Any) -> list[Text]:
    """What the step log says for one event of a spend, a proof of control or an arming."""
    from backends.quorum import (
        DeviceResult,
        Done,
        Failed,
        HealthChanged,
        Preflight,
        Proven,
        Refusal,
        Step,
    )

    if isinstance(event, str):  # progress said by arming
        return [Text(f"· {event}")]
    if isinstance(event, Step):
        return [Text(f"· {event.text}", style="yellow" if event.name == "failover" else "")]
    if isinstance(event, Preflight):
        lines = [Text(f"pre-flight: {event.approvals} of {len(event.verdicts)} would sign, "
                      f"{event.threshold} needed · fee {sats(event.fee_sat)}")]
        lines += [Text(f"  {verdict_words(v)}", style="" if v.approved else "red") for v in event.verdicts]
        return lines
    if isinstance(event, DeviceResult):
        if event.ok:
            return [Text(f"✓ {event.signer} signed ({event.seconds:.1f} s)", style="green")]
        return [Text(f"✗ {event.signer}: {event.detail}", style="red")]
    if isinstance(event, Refusal):
        return [Text(f"✗ {event.signer} refused: {event.reason}", style="bold red")]
    if isinstance(event, Done):
        return [Text(f"✓ broadcast {event.txid} · fee {sats(event.fee_sat)} · signed by "
                     f"{', '.join(event.signers)}", style="bold green")]
    if isinstance(event, Proven):
        return [Text(f"✓ signed by {', '.join(s.signer for s in event.signatures)}", style="bold green")]
    if isinstance(event, Failed):
        lines = [Text(f"✗ {event.reason}", style="bold red")]
        lines += [Text(f"  {name}: {reason}", style="red") for name, reason in sorted(event.refusals.items())]
        if event.hint:
            lines.append(Text(f"  {event.hint}", style="dim"))
        return lines
    if isinstance(event, HealthChanged):
        return [Text(f"health {event.old} → {event.new} (live: {', '.join(event.live) or 'none'})",
                     style="bold")]
    return [Text(str(event))]


def verdict_words(verdict: Any) -> str:
    if not verdict.approved:
        return f"{verdict.signer}: would refuse: {verdict.reason}"
    words = f"{verdict.signer}: would sign (rule #{verdict.rule})"
    if verdict.headroom_sat is not None:
        words += f", {sats(verdict.headroom_sat)} left this period"
    return words


def failure_text(failed: Any) -> str:
    """A failed spend or proof for a dialog: every signer's reason, in the device's words."""
    lines = [failed.reason, ""]
    lines += [f"{name}: {reason}" for name, reason in sorted(failed.refusals.items())]
    if failed.hint:
        lines += ["", failed.hint]
    return "\n".join(lines).rstrip()


class PreflightScreen(ModalScreen[bool]):
    """The spend as every live signer's policy judges it, locally, before any device is
    asked; the operator sends it to the signers or cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="preflight.cancel")]

    def __init__(self, flight: Any, destination: str, note: str) -> None:
        super().__init__()
        self.flight = flight
        self.destination = destination
        self.note = note

    def compose(self) -> ComposeResult:
        flight = self.flight
        with Vertical(classes="dialog", id="preflight") as dialog:
            dialog.border_title = "Pre-flight"
            summary = Text(f"Pay {sats(flight.amount_sat)} to {self.destination}\nfee {sats(flight.fee_sat)}")
            if self.note:
                summary.append(f" · note: {self.note}")
            yield Static(summary, classes="dialog-note")
            yield Static(self.table(), id="preflight-table")
            if flight.would_pass:
                verdict = (f"{flight.approvals} of {len(flight.verdicts)} live signers would sign; "
                           f"{flight.threshold} needed. No device has been asked yet.")
            else:
                verdict = (f"Pre-flight expects a refusal: {flight.approvals} would sign, "
                           f"{flight.threshold} needed. The devices decide; each refusal counts on them.")
            yield Static(verdict, id="preflight-verdict", classes="" if flight.would_pass else "dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send to signers" if flight.would_pass else "Send anyway",
                             variant="primary" if flight.would_pass else "error", id="send")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        # a predicted refusal is not confirmed by reflex: Enter then cancels
        self.query_one("#send" if self.flight.would_pass else "#cancel", Button).focus()

    def table(self) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False, expand=True)
        for column in ("signer", "verdict", "rule", "headroom", "device's words"):
            table.add_column(column, overflow="fold")
        for v in self.flight.verdicts:
            table.add_row(v.signer, Text("sign", style="green") if v.approved else Text("refuse", style="red"),
                          f"#{v.rule}" if v.rule else "-",
                          sats(v.headroom_sat) if v.headroom_sat is not None else "-",
                          Text(v.reason or ""))
        return table

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "send")

    def action_cancel(self) -> None:
        self.dismiss(False)
