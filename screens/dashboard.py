"""The dashboard: one line of truth per area, each read from its backend or marked as not
built / not configured. Nothing here is invented."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from backends.amounts import btc

from backends.errors import CustodyError

from .base import AreaAction, AreaScreen



@dataclass(frozen=True)
class AreaSummary:
    area: str
    title: str
    key: str
    state: str
    level: str = "ok"


def chain_summary(services) -> AreaSummary:
    if not services.chain_configured:
        return AreaSummary("chain", "Chain", " ", "not configured", "off")
    try:
        chain = services.chain
        tip = chain.tip()
        utxos = chain.utxos()
    except CustodyError as exc:
        return AreaSummary("chain", "Chain", " ", f"unavailable: {exc}", "bad")
    watched = sum(u.amount_sat for u in utxos)
    return AreaSummary(
        "chain", "Chain", " ",
        f"{chain.backend_name} {chain.network} #{tip.height} · "
        f"{btc(watched)} · {len(utxos)} coin{'' if len(utxos) == 1 else 's'}",
    )


def quorum_summary(services) -> AreaSummary:
    """Health, live signers and the quorum wallet's balance, read from the devices now."""
    from .quorum_parts import HEALTH_LEVEL

    if not services.quorum_configured:
        return AreaSummary("quorum", "Signer quorum", "2", "not configured", "off")
    try:
        coordinator = services.quorum
        statuses = coordinator.refresh()
        health = coordinator.health()
        live = sum(1 for s in statuses if s.live)
        state = f"{health}: {live} of {len(statuses)} live, {coordinator.spec.threshold} needed"
        if services.chain_configured:
            state += f" · {btc(coordinator.balance().confirmed_sat)}"
            usage = coordinator.global_usage()
            if usage is not None:
                state += f" · {usage.brief()}"
    except CustodyError as exc:
        return AreaSummary("quorum", "Signer quorum", "2", f"unavailable: {exc}", "bad")
    return AreaSummary("quorum", "Signer quorum", "2", state, HEALTH_LEVEL[health])


def policy_summary(services) -> AreaSummary:
    """The intended policy's version and how many signers run it, from the statuses the
    quorum line has just read (no second round of device reads)."""
    from backends.policy import policy_overview

    if not services.quorum_configured:
        return AreaSummary("policy", "Policy", "3", "no signer quorum configured", "off")
    try:
        overview = policy_overview(services.quorum, services.policy_history, read_devices=False)
    except CustodyError as exc:
        return AreaSummary("policy", "Policy", "3", f"unavailable: {exc}", "bad")
    running = sum(1 for s in overview.signers if s.state == "matches")
    stale = [s.name for s in overview.signers if s.state == "stale"]
    version = f"v{overview.version.number}" if overview.version else "never pushed"
    text = f"{version} {overview.hash[:8]} · {running} of {len(overview.signers)} signers run it"
    if stale:
        text += f" · stale: {', '.join(stale)}"
    return AreaSummary("policy", "Policy", "3", text, "warn" if stale else "ok" if running else "off")


def bunker_summary(services) -> AreaSummary:
    from .bunker import relay_states

    try:
        tokens = services.bunker.tokens()
        now = services.bunker.now()
    except CustodyError as exc:
        return AreaSummary("bunker", "Bunker tokens", "6", f"unavailable: {exc}", "bad")
    states = [t.state(now) for t in tokens]
    expiring = sum(t.expiring_soon(now) for t in tokens)
    relays = relay_states(services)
    connected = sum(state == "connected" for state in relays.values())
    relay_text = f"{connected}/{len(relays)} relays up" if relays else "not serving"
    text = (f"{states.count('active')} active, {states.count('unpaired')} unpaired"
            f"{f', {expiring} expiring' if expiring else ''} · {relay_text}")
    level = "warn" if expiring or (relays and connected < len(relays)) else "ok" if tokens else "off"
    return AreaSummary("bunker", "Bunker tokens", "6", text, level)


def reserves_summary(services) -> AreaSummary:
    """Health, reserves against liabilities, and what waits for the operator."""
    from .reserves import mint_configured

    if not mint_configured(services):
        return AreaSummary("reserves", "Mint reserves", "5", "not configured", "off")
    try:
        mint = services.mint
        health = mint.health()
        books = mint.accounting()
        pending = len(mint.redemptions("pending"))
        alerts = len(mint.alerts())
        paused = mint.pause_state().paused
    except CustodyError as exc:
        return AreaSummary("reserves", "Mint reserves", "5", f"unavailable: {exc}", "bad")
    state = (f"{health.status}{', PAUSED' if paused else ''}: {btc(books.reserves_sat)}, "
             f"{'surplus' if books.surplus_sat >= 0 else 'DEFICIT'} {btc(abs(books.surplus_sat))} · "
             f"{pending} pending · {alerts} alert{'' if alerts == 1 else 's'}")
    level = {"healthy": "ok", "warn": "warn", "critical": "bad"}[health.status]
    return AreaSummary("reserves", "Mint reserves", "5", state, "warn" if paused and level == "ok" else level)


def ceremonies_summary(services) -> AreaSummary:
    """The nodes hosted here, their ceremonies, and what waits on their keyholders."""
    from .ceremony_parts import read_node

    nodes = services.ceremony_nodes
    try:
        views = [read_node(nodes, name) for name in nodes.names()]
    except CustodyError as exc:
        return AreaSummary("ceremonies", "MPC ceremonies", "4", f"unavailable: {exc}", "bad")
    if not views:
        return AreaSummary("ceremonies", "MPC ceremonies", "4", "no node in this data dir", "off")
    cids = {s.id for view in views for s in view.statuses}
    keys = {s.id for view in views for s in view.statuses if s.kind == "dkg" and "address" in s.result}
    waiting = [view.name for view in views if view.waiting_on_me]
    text = (f"{'node ' + views[0].name if len(views) == 1 else f'{len(views)} nodes'} · {len(keys)} "
            f"key{'' if len(keys) == 1 else 's'} · {len(cids)} ceremonies")
    if waiting:  # the line must fit 80 columns: names only while they are few
        text += f" · waiting on {', '.join(waiting) if len(waiting) < 3 else f'{len(waiting)} nodes'}"
    else:
        text += " · nothing waiting"
    return AreaSummary("ceremonies", "MPC ceremonies", "4", text, "warn" if waiting else "ok")


def summarise(services) -> list[AreaSummary]:
    """Read each built area's state from its backend (runs in a worker)."""
    keystore = services.keystore
    if not keystore.exists():
        keys_state, keys_level = "keystore not initialised", "warn"
    else:
        listing = keystore.listing()
        entries = len(listing.entries)
        lock = "unlocked" if keystore.is_unlocked else "locked"
        keys_state, keys_level = f"{entries} entr{'y' if entries == 1 else 'ies'}, {lock}", "ok"
        if listing.unreadable:
            keys_state, keys_level = f"{keys_state}, {len(listing.unreadable)} unreadable", "warn"
    status = services.audit.verify()
    if status.ok:
        audit_state, audit_level = f"{status.entries_checked} entries, chain intact", "ok"
    else:
        audit_state, audit_level = f"chain BROKEN: {status.problems[0].message}", "bad"
    return [
        chain_summary(services),
        quorum_summary(services),
        policy_summary(services),
        ceremonies_summary(services),
        reserves_summary(services),
        bunker_summary(services),
        AreaSummary("keys", "Keys", "7", keys_state, keys_level),
        AreaSummary("audit", "Audit log", "8", audit_state, audit_level),
    ]


#: a different sign per level, not only a colour: a monochrome terminal must tell them apart
LEVEL_MARK = {"ok": ("✓", "green"), "warn": ("!", "yellow"), "bad": ("✗", "red"), "off": ("○", "dim")}
TITLE_WIDTH = 16


def summary_text(summaries: list[AreaSummary], width: int) -> Text:
    """One line per area; a state too long for ``width`` wraps under itself, not under the
    mark, so figures stay in one column at 80x24."""
    indent = 4 + TITLE_WIDTH + 1  # "✓ 2 " + the title + a space
    text = Text(no_wrap=True)
    for n, summary in enumerate(summaries):
        mark, style = LEVEL_MARK[summary.level]
        lines = textwrap.wrap(summary.state, max(20, width - indent), break_on_hyphens=False) or [""]
        if n:
            text.append("\n")
        text.append(mark, style=style)
        text.append(" ")
        text.append(summary.key, style="bold")
        text.append(f" {summary.title:<{TITLE_WIDTH}} {lines[0]}")
        for line in lines[1:]:
            text.append("\n" + " " * indent + line)
    return text


class DashboardScreen(AreaScreen):
    AREA = "dashboard"
    TITLE = "Dashboard"
    ACTIONS = (AreaAction("r", "reload", "reload", "Read every area's state again"),)

    def compose_body(self) -> ComposeResult:
        with Vertical(classes="panel") as panel:
            panel.border_title = "Areas"
            yield Static("reading…", id="dashboard-areas")
            if self.services.config.demo:
                yield Static(
                    "Demo rig: regtest only, published seeds; never put real funds on it. "
                    f"The {self.services.keystore_passphrase_hint().removeprefix('demo rig: the ')}.",
                    classes="demo-hint",
                )

    def refresh_state(self) -> None:
        """On mount and whenever the operator comes back: never a stale line of truth."""
        super().refresh_state()
        self.action_reload()

    def action_reload(self) -> None:
        self.run_backend(lambda: summarise(self.services), done=self.show_summary,
                         description="Reading area states", changes_state=False)

    summaries: list[AreaSummary] | None = None

    def show_summary(self, summaries: list[AreaSummary]) -> None:
        self.summaries = summaries
        areas = self.query_one("#dashboard-areas", Static)
        width = areas.content_size.width or self.size.width - 4  # before the first layout: the panel's inside
        areas.update(summary_text(summaries, width))

    def on_resize(self) -> None:
        if self.summaries is not None:
            self.call_after_refresh(self.show_summary, self.summaries)
