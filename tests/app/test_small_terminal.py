"""An operator at 3 a.m. over SSH in 80x24: figures are whole, levels read without colour,
a QR code is whole on screen, and one verb has one key across areas."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Static

from screens.dashboard import AreaSummary
from screens.widgets import ResultScreen
from screens.widgets.qr import QRCodeView

from .test_snapshots import SIZE, populated, settle

ADDRESS = "bcrt1q0sjdrsl0rm3gg9chegyh06wvs2y7xa7lnclqckz0y6hejqcn846s6vnjf5"


def screen_text(app) -> list[str]:
    """The terminal's lines as the operator sees them (dialogs over their area)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, force_terminal=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


async def test_a_dashboard_state_too_long_for_80_columns_wraps_under_itself(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        long_state = ("critical: 2.90955460 BTC, surplus 0.50955460 BTC · 4 pending · 3 alerts · "
                      "and a tail that must wrap")
        app.screen.show_summary([AreaSummary("reserves", "Mint reserves", "5", long_state, "bad"),
                                 AreaSummary("keys", "Keys", "7", "10 entries, locked", "ok"),
                                 AreaSummary("quorum", "Signer quorum", "2", "not configured", "off"),
                                 AreaSummary("bunker", "Bunker tokens", "6", "1 expiring", "warn")])
        await pilot.pause()
        lines = [line for line in screen_text(app) if "│ " in line][:6]
        first = next(line for line in lines if "Mint reserves" in line)
        column = first.index("critical")
        following = lines[lines.index(first) + 1]
        assert following[column - 1] == " " and following[column] != " "  # under the state, not the mark
        assert following[:column].strip("│ ") == ""
        # the level in a sign, not only a colour
        marks = {line.split()[1]: line for line in lines if len(line.split()) > 1}
        assert "✗ 5 Mint reserves" in first and "✓ 7 Keys" in marks["✓"]
        assert "○ 2 Signer quorum" in marks["○"] and "! 6 Bunker tokens" in marks["!"]


async def test_a_qr_code_that_would_not_fit_under_its_text_goes_beside_it_at_80x24(app_factory):
    app = app_factory()
    async with app.run_test(size=SIZE) as pilot:
        text = "\n".join([ADDRESS, "2-of-3 quorum, regtest", "group key", "02" + "ab" * 32, "descriptor",
                          "tr(" + "cd" * 32 + ")"])
        await app.push_screen(ResultScreen("Receive", text, qr_payload=ADDRESS))
        await pilot.pause()
        qr = app.screen.query_one(QRCodeView)
        columns, rows = qr.cells
        assert qr.region.bottom <= SIZE[1] - 1 and qr.region.height == rows  # whole, above the border
        assert qr.region.x > app.screen.query_one(".result-text", Static).region.x  # beside the text
        shown = "".join(screen_text(app))
        assert "bcrt1q0sjdrsl0rm3gg9chegyh06wvs2y7" in shown  # the address is on screen too

    async with app_factory().run_test(size=(120, 50)) as pilot:
        await pilot.app.push_screen(ResultScreen("Receive", text, qr_payload=ADDRESS))
        await pilot.pause()
        screen = pilot.app.screen
        assert screen.query_one(QRCodeView).region.y > screen.query_one(".result-text", Static).region.y


async def test_a_derived_address_and_its_qr_are_whole_at_80x24(app_factory):
    app = populated(app_factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        app.screen.submit()  # the standard first address
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        qr = app.screen.query_one(QRCodeView)
        assert qr.region.bottom <= SIZE[1] - 1 and qr.region.height == qr.cells[1]


def test_verify_is_v_wherever_something_is_verified():
    from custody_tui.areas import area_screens

    keys = {(area.AREA, a.action): a.key for area in area_screens() for a in area.ACTIONS}
    assert keys[("keys", "verify")] == keys[("audit", "verify")] == "v"


def test_audit_details_read_as_key_value_pairs_and_stay_unambiguous():
    from screens.audit import details_line

    assert details_line({"via": "tui", "node": "carol"}) == "node=carol via=tui"
    assert details_line({"live": True, "failing_check": None, "signer": "b"}) == (
        "failing_check=null live=true signer=b")
    # spaces, '=' or quotes in what an operator typed keep their JSON quotes: one reading only
    assert details_line({"message": "pay a=b 1 BTC", "label": 'x"y', "empty": ""}) == (
        'empty="" label="x\\"y" message="pay a=b 1 BTC"')
    assert details_line({"ids": [1, 2]}) == "ids=[1,2]"
