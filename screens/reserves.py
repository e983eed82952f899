"""The mint's reserves: health and totals, the reserve's coins (a virtual table that stays
responsive at 100,000), the redemption queue with approve and reject, events with
acknowledge and silence, pause and resume, the consolidation plan and its execution, and
a signed attestation as text and QR.

Every figure comes from ``backends.mint`` in a worker (one reading of the chain per refresh:
``backends.mint.overview``); every change is the HTTP API's signed admin request, signed here
with the operator's key, inside ``Services.audited``.
"""

from __future__ import annotations

import threading
from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from backends.amounts import btc

from .base import AreaAction, AreaScreen, unconfigured_panel
from .reserves_coins import HEADER, CoinTable
from .widgets import ConfirmTypedScreen, FormField, FormScreen, ResultScreen

NEEDS_CONFIG = "configure [mint] with a reserve descriptor and a chain first (README: Mint reserves)"
NEEDS_OPERATOR = ("it needs the keystore unlocked (7, then u) and a mint operator key to sign with "
                  "(custody-tui mint operator create ID)")
HEALTH_MARK = {"healthy": "[green]● healthy[/]", "warn": "[yellow]● warn[/]", "critical": "[red]● critical[/]"}
OPEN_STATUSES = ("pending", "approved")  # as backends.mint.overview lists them first


def mint_configured(services) -> bool:
    return bool(services.config.mint.reserve_descriptor) and services.chain_configured


def operator_ready(services) -> bool:
    """Configured, unlocked, and an operator key to sign admin requests with."""
    if not (mint_configured(services) and services.keystore.is_unlocked):
        return False
    from backends.mint.local_operator import operator_key_ids

    return bool(operator_key_ids(services.keystore))


def summary_lines(state) -> tuple[str, str]:
    """The health line and the totals line (markup), 80 columns each at most."""
    pause = state.pause
    payouts = f"[red]payouts paused[/] ({escape(pause.by or '')})" if pause.paused else "payouts running"
    health = (f"{HEALTH_MARK[state.health.status]} · {payouts} · auto-pause {'on' if pause.auto_pause else 'off'}"
              f" · advice: {escape(state.recommendation)}")
    inv, books = state.inventory, state.books
    surplus = books.surplus_sat
    totals = (f"{btc(inv.total_value_sat)} in {inv.utxo_count:,} spendable"
              f"{f' +{inv.waiting_count} waiting' if inv.waiting_count else ''}"
              f"{f' +{inv.locked_count} held' if inv.locked_count else ''} · frag {inv.fragmentation:.0%}"
              f" · {'surplus' if surplus >= 0 else '[red]DEFICIT[/]'} {btc(abs(surplus))}")
    return health, totals


class ReservesScreen(AreaScreen):
    AREA = "reserves"
    TITLE = "Mint reserves"
    AUTO_FOCUS = "#reserves-coins"
    ACTIONS = (
        AreaAction("a", "approve", "approve payout", "Approve the selected pending redemption: sign, "
                   "record and broadcast its payout", operator_ready, needs=NEEDS_OPERATOR, footer="Approve"),
        AreaAction("j", "reject", "reject redemption", "Reject the selected redemption; its notes are "
                   "restored to the user", operator_ready, needs=NEEDS_OPERATOR, footer="Reject"),
        AreaAction("c", "consolidate", "consolidation plan", "Dry run: which small coins merge, the fee, "
                   "the reserve after; then execute it", operator_ready, needs=NEEDS_OPERATOR, footer="Consol."),
        AreaAction("p", "pause", "pause/resume payouts", "Pause redemption payouts (with a reason), or "
                   "resume them", operator_ready, needs=NEEDS_OPERATOR, footer="Pause"),
        AreaAction("k", "ack", "acknowledge event", "Acknowledge the selected event",
                   operator_ready, needs=NEEDS_OPERATOR, footer="Ack"),
        AreaAction("s", "silence", "silence alerts", "Silence the selected event's kind until a time, "
                   "with a reason", operator_ready, needs=NEEDS_OPERATOR, show=False),
        AreaAction("t", "attest", "attestation", "Sign a reserve attestation at the tip; shown as text "
                   "and QR", operator_ready, needs=NEEDS_OPERATOR, footer="Attest"),
        AreaAction("o", "auto_pause", "auto-pause on/off", "Let critical reserve health pause payouts",
                   operator_ready, needs=NEEDS_OPERATOR, show=False),
        AreaAction("f", "catch_up", "catch up with chain", "Credit deposits at depth and settle payouts "
                   "from the chain now", operator_ready, needs=NEEDS_OPERATOR, show=False),
        AreaAction("v", "order", "smallest/largest first", "Order the coins by value, either way",
                   mint_configured, needs=NEEDS_CONFIG, show=False),
        AreaAction("r", "reload", "reload", "Read the reserve's coins and the mint's state again",
                   mint_configured, needs=NEEDS_CONFIG, show=False),
    )
    EXTRA_HELP = (("tab", "coins, redemptions and events panes"),
                  ("pgup pgdn home end", "page through the coins"),
                  ("enter", "the selected row in full"))

    def __init__(self) -> None:
        super().__init__()
        self.pages: Any = None
        self._pages_opening = threading.Lock()  # two first workers would open (and leak) two caches
        self.state: Any = None  # the last backends.mint.overview.Overview
        self.reading_shown: float | None = None  # when the reading on screen was taken
        self.reading = False  # a reading of the reserve is under way: polls do not pile up

    # -- layout ------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        if not mint_configured(self.services):
            yield from unconfigured_panel(
                self.TITLE, "No mint reserve is configured.",
                "To configure one, set chain.backend and add to the config file (`custody-tui "
                "config show` prints its path) a [mint] table with reserve_descriptor (the reserve "
                "wallet's output descriptor) and reserve_signer_label (the keystore key that signs "
                "its payouts). The README's 'Mint reserves' section has an example. `custody-tui "
                "demo` runs a mint with a fragmented reserve.",
                "reserves-unconfigured")
            return
        with Vertical(id="reserves-top"):
            yield Static("reading the mint…", id="reserves-health")
            yield Static("", id="reserves-totals")
        with TabbedContent(id="reserves-tabs"):
            with TabPane("Coins", id="pane-coins"):
                yield Static("", id="reserves-reading")
                yield Static(HEADER, id="reserves-coins-header")
                yield CoinTable(id="reserves-coins")
            with TabPane("Redemptions", id="pane-redemptions"):
                yield Static("", id="reserves-allowance")
                table = DataTable(id="reserves-redemptions", cursor_type="row", zebra_stripes=True)
                for key, label in [("id", "batch"), ("sat", "sat"), ("status", "status"), ("note", "reason / txid")]:
                    table.add_column(label, key=key)
                yield table
            with TabPane("Events", id="pane-events"):
                events = DataTable(id="reserves-events", cursor_type="row", zebra_stripes=True)
                for key, label in [("id", "#"), ("sev", "severity"), ("kind", "kind"), ("state", "state"),
                                   ("message", "message")]:
                    events.add_column(label, key=key)
                yield events

    def on_mount(self) -> None:
        super().on_mount()
        if mint_configured(self.services) and getattr(self.app, "poll", False):
            self.set_interval(self.services.config.ui.poll_seconds * 4, self.action_reload)

    def on_unmount(self) -> None:
        if self.pages is not None:
            self.pages.close()

    def refresh_state(self) -> None:
        super().refresh_state()
        if mint_configured(self.services):
            self.action_reload()

    # -- reading -----------------------------------------------------------------------

    def _coin_pages(self):
        """The reserve coin cache, opened on first use (in a worker)."""
        with self._pages_opening:
            if self.pages is None:
                from backends.mint.coin_pages import CoinPages

                self.pages = CoinPages.in_data_dir(self.services.data_dir)
            return self.pages

    def action_reload(self) -> None:
        services = self.services

        def last_reading():  # the table paints from the last reading before the chain answers
            pages = self._coin_pages()
            return pages, pages.reading()

        def read():
            from backends.mint.overview import read_overview

            return read_overview(services.mint, self._coin_pages(), now=services.clocks.wall().timestamp())

        if self.state is None:
            self.run_backend(last_reading, done=self.show_reading, description="Reading the coin cache",
                             changes_state=False)
        if self.reading:
            return
        self.reading = True

        def failed(exc) -> None:
            self.reading = False
            self.show_error(exc)

        self.run_backend(read, done=self.show_state, description="Reading the mint's reserve",
                         changes_state=False, refused=failed)

    def show_reading(self, result) -> None:
        from datetime import UTC, datetime

        pages, reading = result
        if reading.taken_at is not None and self.reading_shown is not None and reading.taken_at < self.reading_shown:
            return  # the cache's older reading, arriving after the chain's new one
        self.reading_shown = reading.taken_at
        table = self.query_one("#reserves-coins", CoinTable)
        table.show_reading(pages, reading.count)
        if reading.taken_at is None:
            text = "no reading of the reserve yet"
        else:
            when = datetime.fromtimestamp(reading.taken_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            order = "largest" if table.largest_first else "smallest"
            text = f"{reading.count:,} coins at block #{reading.height} ({when}), {order} first"
        self.query_one("#reserves-reading", Static).update(Text(text, style="dim"))

    def show_state(self, state) -> None:
        self.reading = False
        self.show_reading((self.pages, state.reading))
        self.state = state
        health, totals = summary_lines(state)
        self.query_one("#reserves-health", Static).update(health)
        self.query_one("#reserves-totals", Static).update(totals)
        self._fill_redemptions(state)
        self._fill_events(state)
        self.refresh_bindings()

    def _fill_redemptions(self, state) -> None:
        table = self.query_one("#reserves-redemptions", DataTable)
        keep = self._selected_key(table)
        table.clear()
        for r in state.redemptions:
            note = r.reason or (r.txid[:16] + "…" if r.txid else "")
            style = {"pending": "yellow" if r.reason else "", "rejected": "dim", "finalized": "green"}.get(r.status, "")
            table.add_row(r.redemption_id[:12], f"{r.amount_sat:,}", Text(r.status, style=style), Text(note),
                          key=r.redemption_id)
        self._restore(table, keep)
        allowance = self.query_one("#reserves-allowance", Static)
        allowance.update(Text(state.allowance or ""))
        allowance.display = bool(state.allowance)
        pending = sum(r.status == "pending" for r in state.redemptions)
        self.query_one(TabbedContent).get_tab("pane-redemptions").label = f"Redemptions ({pending})"

    def _fill_events(self, state) -> None:
        table = self.query_one("#reserves-events", DataTable)
        keep = self._selected_key(table)
        table.clear()
        for e in state.events:
            alert = e["event_id"] in state.alerts
            mark = "ALERT" if alert else "silenced" if e["silenced"] else "acked" if e["acked_by"] else ""
            style = {"critical": "red", "warn": "yellow"}.get(e["severity"], "") if alert else "dim"
            table.add_row(str(e["event_id"]), Text(e["severity"], style=style), e["kind"], mark,
                          Text(e["message"]), key=str(e["event_id"]))
        self._restore(table, keep)
        self.query_one(TabbedContent).get_tab("pane-events").label = f"Events ({len(state.alerts)} alerts)"

    @staticmethod
    def _selected_key(table: DataTable) -> str | None:
        if table.row_count == 0 or table.cursor_row < 0:
            return None
        return table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value

    @staticmethod
    def _restore(table: DataTable, key: str | None) -> None:
        if key is not None and key in {k.value for k in table.rows}:
            table.move_cursor(row=table.get_row_index(key))

    def selected_redemption(self):
        if self.state is None:
            return None
        key = self._selected_key(self.query_one("#reserves-redemptions", DataTable))
        return next((r for r in self.state.redemptions if r.redemption_id == key), None)

    def selected_event(self) -> dict | None:
        if self.state is None:
            return None
        key = self._selected_key(self.query_one("#reserves-events", DataTable))
        return next((e for e in self.state.events if str(e["event_id"]) == key), None)

    def _pane(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    def _chosen_redemption(self, statuses: tuple[str, ...]):
        """The selected redemption if an action may take it; else show the pane and say so."""
        redemption = self.selected_redemption()
        if redemption is None or redemption.status not in statuses:
            self._pane("pane-redemptions")
            self.notify("Select a pending redemption in the Redemptions pane first.", severity="warning")
            return None
        return redemption

    def _chosen_event(self) -> dict | None:
        event = self.selected_event()
        if event is None:
            self._pane("pane-events")
            self.notify("Select an event in the Events pane first.", severity="warning")
        return event

    # -- rows in full -------------------------------------------------------------------

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        import json

        if event.data_table.id == "reserves-redemptions" and (r := self.selected_redemption()):
            text = json.dumps(r.to_dict(depth_required=self.state.depth), indent=2, sort_keys=True)
            self.app.push_screen(ResultScreen(f"Redemption {r.redemption_id[:16]}", text))
        elif event.data_table.id == "reserves-events" and (e := self.selected_event()):
            self.app.push_screen(ResultScreen(f"Event {e['event_id']}", json.dumps(e, indent=2, sort_keys=True)))

    def on_coin_table_chosen(self, event: CoinTable.Chosen) -> None:
        coin = event.coin
        self.app.push_screen(ResultScreen(
            f"Reserve coin #{coin.position:,}",
            f"outpoint       {coin.outpoint}\nvalue          {coin.amount_sat:,} sat ({btc(coin.amount_sat)})\n"
            f"confirmations  {coin.confirmations:,}\nstate          {coin.state}"))

    # -- operator actions --------------------------------------------------------------
    # Each is the signed admin request the HTTP API takes (same path and body), signed with
    # the operator's key and verified by the mint, inside an audited action.

    def _admin(self, action: str, method: str, path: str, fields: dict, run, *, irreversible: bool = False,
               **details):
        """A worker call: sign and verify the request as this operator, then ``run(operator,
        result)`` inside ``Services.audited`` (``result`` takes the audit details to add)."""
        services = self.services

        def call():
            from backends.mint.local_operator import run_as_operator

            return run_as_operator(services.audited, services.mint, services.keystore, action, method, path,
                                   fields, run, now=lambda: services.clocks.wall().timestamp(), via="tui",
                                   irreversible=irreversible, **details)

        return call

    def action_approve(self) -> None:
        redemption = self._chosen_redemption(("pending",))
        if redemption is None:
            return
        mint, batch = self.services.mint, redemption.redemption_id

        def approve(operator: str, result: dict):
            done = mint.approve_redemption(batch, operator)
            result.update(status=done.status, txid=done.txid, reason=done.reason)
            return done

        call = self._admin("redemption approve", "POST", "/redemptions/approve_broadcast", {"batch_id": batch},
                           approve, irreversible=True, batch_id=batch)
        warning = (f"Pay {redemption.amount_sat:,} sat ({btc(redemption.amount_sat)}) to {redemption.address} "
                   "from the reserve: the payout is "
                   "signed with the reserve key and broadcast. It cannot be called back.")
        self.app.push_screen(ConfirmTypedScreen(f"Approve redemption {batch[:12]}", warning, "approve"),
                             lambda ok: self.run_backend(call, done=self._approved,
                                                         description="Approving a redemption") if ok else None)

    def _approved(self, redemption) -> None:
        if redemption.status == "pending":
            self.notify(f"Not paid yet: {redemption.reason}", title="Waits for funding", severity="warning",
                        markup=False, timeout=8)
        else:
            self.notify(f"Redemption {redemption.redemption_id[:12]} {redemption.status}: txid {redemption.txid}",
                        markup=False)

    def action_reject(self) -> None:
        redemption = self._chosen_redemption(OPEN_STATUSES)
        if redemption is None:
            return
        mint, batch = self.services.mint, redemption.redemption_id

        def reject(values: dict[str, str]):
            reason = values["reason"]

            def run(operator: str, result: dict):
                done = mint.reject_redemption(batch, operator, reason)
                result["status"] = done.status
                return done

            return self._admin("redemption reject", "POST", "/redemptions/update",
                               {"batch_id": batch, "action": "reject", "reason": reason}, run,
                               batch_id=batch, reason=reason)()

        form = FormScreen(f"Reject redemption {batch[:12]}",
                          [FormField("reason", "Reason", placeholder="address on a sanctions list")],
                          submit="Reject", note=f"{redemption.amount_sat:,} sat of notes go back to the user.")
        self.submit_form(form, reject, done=lambda r: self.notify(f"Redemption {batch[:12]} {r.status}."),
                         description="Rejecting a redemption")

    def action_pause(self) -> None:
        mint = self.services.mint
        if self.state is not None and self.state.pause.paused:
            call = self._admin("resume", "POST", "/policy/redemptions", {"paused": False},
                               lambda operator, result: mint.resume(operator))
            self.run_backend(call, done=lambda _: self.notify("Payouts resumed."), description="Resuming payouts")
            return

        def pause(values: dict[str, str]):
            reason = values["reason"]
            return self._admin("pause", "POST", "/policy/redemptions", {"paused": True, "reason": reason},
                               lambda operator, result: mint.pause(operator, reason), reason=reason)()

        form = FormScreen("Pause redemption payouts", [FormField("reason", "Reason", placeholder="reserve key rotation")],
                          submit="Pause", note="Redemptions are still accepted; none is paid until you resume.")
        self.submit_form(form, pause, done=lambda _: self.notify("Payouts paused."), description="Pausing payouts")

    def action_auto_pause(self) -> None:
        mint = self.services.mint
        on = not (self.state is not None and self.state.pause.auto_pause)
        call = self._admin("auto-pause", "POST", "/policy/redemptions", {"auto_pause": on},
                           lambda operator, result: mint.set_auto_pause(on), setting="on" if on else "off")
        self.run_backend(call, done=lambda _: self.notify(f"Auto-pause {'on' if on else 'off'}."),
                         description="Switching auto-pause")

    def action_ack(self) -> None:
        event = self._chosen_event()
        if event is None:
            return
        mint, event_id = self.services.mint, event["event_id"]
        call = self._admin("event ack", "POST", "/monitoring/events/ack", {"event_id": event_id},
                           lambda operator, result: mint.acknowledge(event_id, operator), event_id=event_id)
        self.run_backend(call, done=lambda _: self.notify(f"Event {event_id} acknowledged."),
                         description="Acknowledging an event")

    def action_silence(self) -> None:
        event = self._chosen_event()
        if event is None:
            return
        services, kind = self.services, event["kind"]

        def silence(values: dict[str, str]):
            from backends.mint.errors import MintError
            from backends.outside_input import OutsideInputRefused, parse_decimal

            try:
                hours = parse_decimal(values["hours"], what="the hours")
            except OutsideInputRefused as exc:
                raise MintError(str(exc)) from None
            if hours < 1:
                raise MintError("silence for at least one hour")
            until = services.clocks.wall().timestamp() + hours * 3600
            reason = values["reason"]
            return self._admin("event silence", "POST", "/monitoring/events/silence",
                               {"kind": kind, "until": until, "reason": reason},
                               lambda operator, result: services.mint.silence(kind, until, reason, operator),
                               kind=kind, hours=hours, reason=reason)()

        form = FormScreen(f"Silence '{kind}' alerts", [
            FormField("hours", "For how many hours (whole)", value="4"),
            FormField("reason", "Reason", placeholder="consolidation scheduled tonight")], submit="Silence",
            note="Events are still recorded; they stop counting as alerts until then.")
        self.submit_form(form, silence, done=lambda _: self.notify(f"'{kind}' silenced."),
                         description="Silencing alerts")

    def action_consolidate(self) -> None:
        mint = self.services.mint
        call = self._admin("consolidation plan", "GET", "/reserves/consolidate_plan", {},
                           lambda operator, result: mint.consolidation_plan())
        self.run_backend(call, done=self._show_plan, description="Planning a consolidation", changes_state=False)

    def _show_plan(self, plan) -> None:
        if plan.reason or not plan.inputs:
            self.app.push_screen(ResultScreen("Consolidation plan", plan.reason or "nothing to consolidate"))
            return
        after = plan.estimated_post_action
        text = (f"Merge {len(plan.inputs):,} small coins ({plan.input_sat:,} sat) into one of {plan.output_sat:,} "
                f"sat, fee {plan.fee_sat:,} sat at {plan.fee_rate:g} sat/vB.\n"
                f"After: {after['utxo_count']:,} coins (now {after['utxo_count_before']:,}), fragmentation "
                f"{after['fragmentation']:.0%} (now {after['fragmentation_before']:.0%}).")
        mint = self.services.mint

        def execute(operator: str, result: dict):
            done = mint.consolidate(operator)
            result.update(consolidation_id=done.consolidation_id, txid=done.txid, inputs=done.inputs)
            return done

        call = self._admin("consolidate", "POST", "/reserves/consolidate", {}, execute, irreversible=True)
        self.app.push_screen(
            ConfirmTypedScreen("Consolidation plan", text + "\nExecuting signs and broadcasts it.", "consolidate"),
            lambda ok: self.run_backend(call, done=lambda c: self.notify(
                f"Consolidation {c.consolidation_id[:12]} {c.status}: {c.inputs} coins, txid {c.txid}", markup=False),
                description="Consolidating the reserve") if ok else None)

    def action_attest(self) -> None:
        services = self.services

        def attest(operator: str, result: dict):
            import json

            from backends.fsutil import atomic_write, ensure_private_dir

            signed = services.mint.attest(operator)
            # kept beside the data: the operator publishes this file, anyone verifies it offline
            folder = ensure_private_dir(services.data_dir / "attestations")
            path = folder / f"reserves-{signed['height']}-{signed['issued_at']}.json"
            atomic_write(path, (json.dumps(signed, indent=2, sort_keys=True) + "\n").encode(), mode=0o644)
            result.update(height=signed["height"], reserves_sat=signed["reserves_sat"],
                          liabilities_sat=signed["liabilities_sat"], file=str(path))
            return signed, path

        self.run_backend(self._admin("attest", "GET", "/attestations/reserves", {}, attest),
                         done=self._show_attestation, description="Signing an attestation")

    def _show_attestation(self, result) -> None:
        import json

        signed, path = result
        surplus = signed["surplus_sat"]
        summary = (
            f"Reserves     {btc(signed['reserves_sat'])} in {signed['utxo_count']:,} confirmed coins\n"
            f"Liabilities  {btc(signed['liabilities_sat'])} (notes outstanding "
            f"{btc(signed['outstanding_notes_sat'])})\n"
            f"{'Surplus ' if surplus >= 0 else 'DEFICIT '}     {btc(abs(surplus))}\n"
            f"At block     #{signed['height']} {signed['block_hash']}\n"
            f"Signed by    {signed['pubkey']} (BIP-340), for {signed['requested_by']}\n"
            f"Saved to     {path}\n"
            "Anyone checks it offline: custody-tui mint verify-attestation FILE. The QR carries the "
            "whole file (BBQr parts when it needs more than one code).")
        self.app.push_screen(ResultScreen(f"Reserve attestation at #{signed['height']}", summary,
                                          qr_payload=json.dumps(signed, sort_keys=True, separators=(",", ":"))))

    def action_catch_up(self) -> None:
        mint = self.services.mint

        def catch_up(operator: str, result: dict):
            deposits, redemptions = mint.refresh()
            result.update(deposits=len(deposits), redemptions=len(redemptions))
            return deposits, redemptions

        call = self._admin("refresh", "POST", "/redemptions/update", {"action": "refresh"}, catch_up)
        self.run_backend(call, done=lambda r: self.notify(
            f"{len(r[0])} deposit(s) and {len(r[1])} redemption(s) changed."), description="Catching up with the chain")

    def action_order(self) -> None:
        table = self.query_one("#reserves-coins", CoinTable)
        if table.source is None:
            return
        table.show_reading(table.source, table.rows, largest_first=not table.largest_first)
        table.cursor = 0
        table.scroll_to(y=0, animate=False, immediate=True)
        self.run_backend(lambda: (table.source, table.source.reading()), done=self.show_reading,
                         changes_state=False)
