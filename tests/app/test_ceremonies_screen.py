"""The Ceremonies screen over real nodes and a real git board: the table and what waits on
whom, the node switcher, review and approval by two keyholders until the group signature
is made, the group key with its QR, export as animated QR and import by scanning."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from backends.ceremony import Node
from backends.mpc.bip340 import schnorr_verify
from tests.ceremony.rig import open_keystore

from .ceremony_app import NAMES, copy_rig, make_rig, unlock_all
from .test_snapshots import SIZE, press_then_settle, settle


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    root = tmp_path_factory.mktemp("ceremony-app")
    make_rig(root)
    return root


@pytest.fixture
def rig_app(template, data_dir, app_factory):
    copy_rig(template, data_dir)
    app = app_factory()
    unlock_all(app)
    return app


def node_line(app) -> str:
    return str(app.screen.query_one("#ceremony-node", Static).render())


def rows(app) -> list[list[str]]:
    table = app.screen.query_one("#ceremony-table", DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def open_screen(pilot) -> None:
    await settle(pilot)
    await pilot.press("4")
    await settle(pilot)


async def test_two_keyholders_approve_from_one_app_and_the_group_signature_is_made(rig_app, data_dir):
    async with rig_app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        assert "node alice" in node_line(rig_app) and "1 waiting on alice" in node_line(rig_app)
        (dkg_row, sign_row) = rows(rig_app)
        assert dkg_row[1] == "complete" and sign_row[1] == "review" and sign_row[2].startswith("sign message")
        assert sign_row[4] == "me,bob,carol"
        for name in ("alice", "bob"):
            if name == "bob":
                await pilot.press("n")
                await settle(pilot)
                assert "node bob" in node_line(rig_app)
            table = rig_app.screen.query_one("#ceremony-table", DataTable)
            table.move_cursor(row=1)
            await pilot.press("enter")
            await settle(pilot)
            review = str(rig_app.screen.query_one("#review-text", Static).render())
            assert "custody-tui proof" in review and "quarterly proof of reserves" in review
            await pilot.click("#approve")
            await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert rows(rig_app)[1][1] == "complete"
    node = Node.open(data_dir / "ceremony" / "carol", open_keystore(data_dir / "ceremony" / "carol"))
    try:
        node.sync()
        sid = [r for r in node.ceremonies() if r.kind == "sign"][0]
        assert sid.state == "complete"
        group = node.group(sid.info["dkg"])
        assert schnorr_verify(b"custody-tui proof", group.output_key, bytes.fromhex(sid.info["sigs"][0]))
    finally:
        node.close()
    entries = [(e.action, e.details.get("node")) for e in rig_app.services.audit.entries()
               if e.area == "ceremony" and e.outcome == "ok"]
    assert ("sign approve", "alice") in entries and ("sign approve", "bob") in entries


async def test_export_shows_an_animated_qr_and_scanning_it_imports_the_ceremony(rig_app):
    async with rig_app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("x")
        await settle(pilot)
        view = rig_app.screen.query_one("QRCodeView")
        assert view.is_multipart and all(part.startswith("B$ZJ") for part in view.parts)
        parts = list(view.parts)
        await pilot.press("escape")
        await settle(pilot)
        # the parts scanned back, last first, as a courier's scanner would type them
        await pilot.press("c")
        await settle(pilot)
        scan = rig_app.screen.query_one("#scan-input", Input)
        scan.value = "a photo of the wrong screen"
        await pilot.press("enter")
        await settle(pilot)
        assert "refused" in str(rig_app.screen.query_one("#scan-progress", Static).render())
        for part in reversed(parts):
            scan.value = part
            await pilot.press("enter")
        await settle(pilot)
        log = "\n".join(line.text for line in rig_app.screen.query_one("#ceremony-log").lines)
        assert "imported 12 post(s)" in log, log  # every post of the DKG


async def test_the_group_key_is_shown_with_its_address_as_qr(rig_app):
    async with rig_app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("k")
        await settle(pilot)
        text = str(rig_app.screen.query_one(".result-text", Static).render())
        assert "2-of-3" in text and "bcrt1p" in text
        assert rig_app.screen.query_one("QRCodeView").parts[0].startswith("bcrt1p")


async def test_a_dkg_started_from_the_screen_invites_the_other_nodes(rig_app):
    async with rig_app.run_test(size=SIZE) as pilot:
        await open_screen(pilot)
        await pilot.press("d")
        await settle(pilot)
        assert rig_app.screen.query_one("#field-participants", Input).value == "alice,bob,carol"
        rig_app.screen.query_one("#field-name", Input).value = "operations"
        rig_app.screen.query_one("#field-t", Input).value = "3"
        await pilot.click("#submit")
        await settle(pilot)
        assert [r[1:3] for r in rows(rig_app)][-1] == ["round1", "DKG 'operations' 3-of-3"]
        await pilot.press("n")
        await settle(pilot)
        rig_app.screen.background_sync()  # as the app does every poll: bob learns he is invited
        await settle(pilot)
        await settle(pilot)
        assert rows(rig_app)[-1][1] == "invited"  # enter shows the params hash; typing "join" joins
        rig_app.screen.query_one("#ceremony-table", DataTable).move_cursor(row=2)
        await pilot.press("enter")
        await settle(pilot)
        rig_app.screen.query_one("#confirm-input", Input).value = "join"
        await pilot.press("enter")
        await settle(pilot)
        assert rows(rig_app)[-1][1] == "round1"


def test_ceremonies_screen_snapshot(snap_compare, rig_app):
    assert snap_compare(rig_app, run_before=press_then_settle("4"), terminal_size=SIZE)


def test_review_snapshot(snap_compare, rig_app):
    async def review(pilot) -> None:
        await press_then_settle("4")(pilot)
        pilot.app.screen.query_one("#ceremony-table", DataTable).move_cursor(row=1)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(rig_app, run_before=review, terminal_size=SIZE)


def test_dashboard_ceremonies_line(snap_compare, rig_app):
    assert snap_compare(rig_app, run_before=press_then_settle("r"), terminal_size=SIZE)


@pytest.mark.parametrize("width,height", [(120, 40), (200, 60), (300, 100)])
def test_export_codes_fit_the_terminal_they_are_shown_on(width, height):
    from backends.qr import bbqr_split, half_block_lines, qr_matrix
    from screens.ceremony_parts import qr_version_for

    parts = bbqr_split(bytes(range(256)) * 64, "J", max_version=qr_version_for(width, height))
    lines = half_block_lines(qr_matrix(parts[0]))
    assert len(lines) <= height - 10 and len(lines[0]) <= width - 8
