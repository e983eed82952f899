"""The Reserves screen on a small demo mint (embedded chain, hot reserve key): health and
totals, the coin table, approving, rejecting, pausing, events, consolidation and the
attestation, each an audited action; and the virtual coin table at 100,000 rows."""

from __future__ import annotations

import json

import pytest
from textual.app import App
from textual.widgets import DataTable, TabbedContent

from backends.chain.interface import Utxo
from backends.mint.attestation import verify_attestation
from backends.mint.coin_pages import CoinPages
from custody_tui.services import DEMO_PASSPHRASE
from screens.reserves_coins import CoinTable

from .pilot import settle
from .reserves_rig import build_template, install

SIZE = (80, 24)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_template(tmp_path_factory.mktemp("reserves") / "mint")


@pytest.fixture
def mint_app(template, data_dir, app_factory):
    def build(*, unlocked: bool = True):
        app = app_factory(install(template, data_dir))
        if unlocked:
            app.services.keystore.unlock(DEMO_PASSPHRASE, 300)
        return app

    return build


async def steps(pilot, *groups: str | list[str]) -> None:
    """Press each group of keys (a key, or a list), letting the app settle after each."""
    for group in groups:
        await pilot.press(*([group] if isinstance(group, str) else group))
        await settle(pilot)


async def open_pane(app, pilot, pane: str) -> DataTable:
    await pilot.press("5")
    await settle(pilot)
    app.screen.query_one(TabbedContent).active = pane
    table = app.screen.query_one(f"#reserves-{pane.removeprefix('pane-')}", DataTable)
    table.focus()
    await settle(pilot)
    return table


def pick(table: DataTable, predicate) -> None:
    screen = table.screen
    rows = screen.state.redemptions if table.id == "reserves-redemptions" else screen.state.events
    table.move_cursor(row=next(n for n, row in enumerate(rows) if predicate(row)))


def audited(app, action: str):
    """This screen's entries (the rig's own preparation is audited too)."""
    return [e for e in app.services.audit.entries(text=action, newest_first=False)
            if e.action == action and e.details.get("via") == "tui"]


async def test_the_screen_shows_health_totals_coins_and_the_queue(mint_app):
    app = mint_app(unlocked=False)
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "5")
        screen = app.screen
        health = str(screen.query_one("#reserves-health").render())
        assert "critical" in health and "auto-pause off" in health
        assert "52 spendable" in str(screen.query_one("#reserves-totals").render())
        coins = screen.query_one(CoinTable)
        assert coins.rows == 52 and coins.window_loaded() and coins.row_at(0).amount_sat == 10_000_000
        statuses = [(r.amount_sat, r.status, bool(r.reason)) for r in screen.state.redemptions]
        assert statuses == [(2_000_000, "pending", False), (3_000_000, "pending", False),
                            (100_000_000, "pending", True)]
        assert screen.state.alerts  # the unfundable payout and the health changes
        critical = sum(a.severity == "critical" for a in app.services.mint.alerts())
        assert critical  # said in words, not only in red
        assert [(i.name, i.value) for i in app.status_items if i.name == "alerts"] == [
            ("alerts", f"{len(screen.state.alerts)} mint, {critical} critical")]
        from screens.dashboard import reserves_summary

        line = reserves_summary(app.services)
        assert line.level == "bad" and line.state.startswith("critical: 1.20807840 BTC") and "3 pending" in line.state
        await steps(pilot, "a")  # keystore locked: the key says why instead of acting
        assert not audited(app, "redemption approve")


async def approve(app, pilot, amount_sat: int):
    """Select the redemption of ``amount_sat``, press a, type the word; its state after."""
    table = await open_pane(app, pilot, "pane-redemptions")
    pick(table, lambda r: r.amount_sat == amount_sat)
    await pilot.press("a")
    await settle(pilot)
    await pilot.press(*"approve", "enter")
    await settle(pilot)
    return next(r for r in app.services.mint.redemptions() if r.amount_sat == amount_sat)


async def test_approving_a_pending_redemption_pays_it_and_is_audited(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        paid = await approve(app, pilot, 2_000_000)
        # approved by the operator key that signed the request, as over HTTP
        assert paid.status == "broadcast" and paid.approved_by == "demo-operator"
        assert app.services.chain.tx_status(paid.txid).state == "mempool"
        [started, done] = audited(app, "redemption approve")[-2:]
        assert (started.outcome, done.outcome, done.details["via"]) == ("started", "ok", "tui")
        assert (done.actor, done.details["operator"]) == ("operator@test", "demo-operator")


async def test_without_an_operator_key_admin_actions_say_what_is_missing(mint_app):
    app = mint_app()
    app.services.keystore.delete("mint-operator-demo-operator")
    async with app.run_test(size=SIZE) as pilot:
        table = await open_pane(app, pilot, "pane-redemptions")
        pick(table, lambda r: r.amount_sat == 2_000_000)
        await pilot.press("a")
        await settle(pilot)
        assert any("mint operator create" in n.message for n in app._notifications)
        assert app.screen.AREA == "reserves"  # no confirmation was opened
        assert not audited(app, "redemption approve")
        assert all(r.status == "pending" for r in app.services.mint.redemptions())


async def test_an_unfundable_redemption_stays_pending_with_the_reason(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        big = await approve(app, pilot, 100_000_000)
        assert big.status == "pending" and "8 largest coins" in big.reason
        assert not big.txid


async def test_rejecting_asks_a_reason_and_restores_the_notes(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_pane(app, pilot, "pane-redemptions")
        pick(table, lambda r: r.amount_sat == 3_000_000)
        await pilot.press("j")
        await settle(pilot)
        await pilot.press(*"address on a sanctions list", "enter")
        await settle(pilot)
        rejected = next(r for r in app.services.mint.redemptions() if r.amount_sat == 3_000_000)
        assert rejected.status == "rejected"
        assert audited(app, "redemption reject")[-1].details["reason"] == "address on a sanctions list"


async def test_pause_needs_a_reason_refuses_payouts_and_resume_lifts_it(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "5", "p", [*"key rotation", "enter"])
        mint = app.services.mint
        assert mint.pause_state().paused and mint.pause_state().reason == "key rotation"
        assert "payouts paused" in str(app.screen.query_one("#reserves-health").render())
        await steps(pilot, "p")
        assert not mint.pause_state().paused
        assert audited(app, "pause")[-1].details["reason"] == "key rotation" and audited(app, "resume")


async def test_acknowledging_an_event_removes_it_from_the_alerts(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        table = await open_pane(app, pilot, "pane-events")
        event_id = app.screen.state.events[0]["event_id"]
        before = len(app.screen.state.alerts)
        await pilot.press("k")
        await settle(pilot)
        assert event_id not in {e.event_id for e in app.services.mint.alerts()}
        assert len(app.screen.state.alerts) == before - 1 and table.row_count == len(app.screen.state.events)
        assert audited(app, "event ack")[-1].details["event_id"] == event_id


async def test_the_consolidation_plan_is_shown_then_executed_on_the_typed_word(mint_app):
    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "5", "c")
        assert "Merge 30 small coins" in app.screen.warning
        await steps(pilot, [*"consolidate", "enter"])
        [done] = app.services.mint.consolidations()
        assert done.status == "broadcast" and done.inputs == 30
        assert audited(app, "consolidate")[-1].outcome == "ok"


async def test_the_attestation_is_shown_as_text_and_qr_and_verifies(mint_app):
    from screens.widgets.qr import QRCodeView

    app = mint_app()
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "5", "t")
        result = app.screen
        assert result.query(QRCodeView)
        signed = json.loads(result.qr_payload)
        assert verify_attestation(signed)["reserves_sat"] == app.services.mint.accounting().reserves_sat
        assert signed["requested_by"] == "demo-operator"
        [saved] = (app.services.data_dir / "attestations").glob("reserves-*.json")
        assert json.loads(saved.read_text()) == signed and str(saved) in result.text
        assert audited(app, "attest")[-1].details["file"] == str(saved)


# -- the virtual table at 100,000 rows ---------------------------------------------------------


def reserve_coins(count: int):
    for n in range(count):
        yield Utxo(f"{n:064x}", n % 7, 1_000 + (n * 7_919) % 5_000_000, b"\x00\x14" + bytes(20),
                   1 + n % 300, 100, "wpkh(...)", 0, n, False)


@pytest.fixture(scope="module")
def big_reserve(tmp_path_factory):
    pages = CoinPages(tmp_path_factory.mktemp("coins") / "mint-coins.sqlite3")
    pages.replace(reserve_coins(100_000), {f"{3:064x}:3"}, height=500, taken_at=1_700_000_000)
    yield pages
    pages.close()


class CoinsApp(App):
    """The coin table alone, on a reading of 100,000 coins."""

    def __init__(self, pages: CoinPages) -> None:
        super().__init__()
        self.pages = pages

    def compose(self):
        yield CoinTable(id="coins")

    def on_mount(self) -> None:
        table = self.query_one(CoinTable)
        table.show_reading(self.pages, self.pages.reading().count)
        table.focus()


async def wait_window(pilot, table: CoinTable) -> None:
    for _ in range(50):
        await settle(pilot)
        if table.window_loaded():
            return
    raise AssertionError("the visible rows never arrived")


async def test_100k_coins_paint_one_window_and_page_down_moves_it(big_reserve):
    app = CoinsApp(big_reserve)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(CoinTable)
        await wait_window(pilot, table)
        assert table.rows == 100_000 and table.row_at(0).position == 1
        # only the window and its neighbours were read, never the whole reserve
        assert sum(len(rows) for rows in table._chunks.values()) <= 3 * 64
        await pilot.press("pagedown")
        await wait_window(pilot, table)
        assert int(table.scroll_y) == 24 and table.cursor == 24
        assert table.selected().position == 25
        await pilot.press("end")
        await wait_window(pilot, table)
        last = table.selected()
        assert (last.position, table.cursor) == (100_000, 99_999)
        assert last.amount_sat == min(c.amount_sat for c in big_reserve.page(99_990, 10))
        await pilot.press("pageup")
        await wait_window(pilot, table)
        assert int(table.scroll_y) == 100_000 - 48


def test_a_page_read_in_either_order_agrees_with_the_whole_list(big_reserve):
    largest = big_reserve.page(0, 5)
    smallest = big_reserve.page(0, 5, largest_first=False)
    assert [c.amount_sat for c in largest] == sorted((c.amount_sat for c in largest), reverse=True)
    assert smallest[0].amount_sat == 1_000 and smallest[0].position == 1
    assert big_reserve.page(99_999, 5)[0].outpoint == big_reserve.page(0, 1, largest_first=False)[0].outpoint
    held = [c for c in big_reserve.page(0, 500) + big_reserve.page(500, 500) if c.state == "held"]
    assert all(c.outpoint == f"{3:064x}:3" for c in held)


def test_the_100k_coin_table_snapshot(snap_compare, big_reserve):
    async def run_before(pilot) -> None:
        table = pilot.app.query_one(CoinTable)
        await wait_window(pilot, table)
        await pilot.press("pagedown", "down", "down")
        await wait_window(pilot, table)

    assert snap_compare(CoinsApp(big_reserve), run_before=run_before, terminal_size=SIZE)


def test_the_reserves_screen_snapshot(snap_compare, mint_app):
    async def run_before(pilot) -> None:
        await steps(pilot, "5")

    assert snap_compare(mint_app(unlocked=False), run_before=run_before, terminal_size=SIZE)
