"""Every area is reachable by its key, F1 lists every binding, the palette offers only
what can run now, and unbuilt areas say so."""

from __future__ import annotations

from textual.command import CommandPalette

from custody_tui.app import KEY_NAMES
from custody_tui.areas import AREAS, area_screens
from screens.help import HelpScreen

from .conftest import PASSPHRASE


async def test_each_number_key_opens_its_area(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        for number, area in reversed(list(enumerate(area_screens(), 1))):
            await pilot.press(str(number))
            assert isinstance(app.screen, area), f"key {number} should open {area.TITLE}"
            assert app.screen.query_one("StatusLine")


async def test_f1_help_lists_every_area_action(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        listed = {(title, key) for title, rows in app.screen.sections for key, _ in rows}
        for area in area_screens():
            for action in area.ACTIONS:
                assert (area.TITLE, KEY_NAMES.get(action.key, action.key)) in listed
            for key, _ in area.EXTRA_HELP:
                assert (area.TITLE, key) in listed
        assert ("Audit log", "/") in listed and ("Audit log", "enter") in listed
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def palette_titles(app) -> list[str]:
    """Runnable palette entries: the app's own, and the area actions that can run now."""
    from custody_tui.palette import area_commands

    return ([command.title for command in app.get_system_commands(app.screen)]
            + [command.title for command in area_commands(app) if command.available])


def dimmed_titles(app) -> dict[str, str]:
    from custody_tui.palette import area_commands

    return {command.title: command.help for command in area_commands(app) if not command.available}


async def test_palette_offers_actions_that_can_run_now_and_dims_the_others_with_what_they_need(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        titles = palette_titles(app)
        assert "keys: initialise" in titles
        assert "keys: unlock" not in titles and "keys: lock" not in titles
        assert "go: Audit log" in titles and "audit: verify chain" in titles
        assert dimmed_titles(app)["keys: new mnemonic"] == "needs: unlock the keystore first (u)"
        assert dimmed_titles(app)["quorum: spend"].startswith("needs: configure [quorum]")

        app.services.keystore.initialize(PASSPHRASE)
        titles = palette_titles(app)
        assert "keys: unlock" in titles and "keys: initialise" not in titles

        app.services.keystore.unlock(PASSPHRASE, 60)
        titles = palette_titles(app)
        assert "keys: lock" in titles and "keys: new mnemonic" in titles
        assert "keys: unlock" not in titles and "keys: new mnemonic" not in dimmed_titles(app)


async def test_a_dimmed_palette_entry_says_what_it_needs(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"quorum: sign message")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.AREA == "dashboard"
        assert any(n.message.startswith("Sign message: configure [quorum] first") for n in app._notifications)


async def test_palette_runs_an_area_action(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    app.services.keystore.unlock(PASSPHRASE, 60)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"keys: lock")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.AREA == "keys"
        assert not app.services.keystore.is_unlocked


async def test_status_line_says_not_configured_for_missing_backends(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = str(app.screen.query_one("StatusLine").render())
        assert "keys: not initialised" in line
        assert "not configured: chain, quorum, alerts" in line


async def test_status_line_shows_the_chain_tip_when_one_is_configured(app_factory):
    from custody_tui.config import ChainConfig

    from .conftest import test_config

    app = app_factory(test_config(chain=ChainConfig(backend="embedded")))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = str(app.screen.query_one("StatusLine").render())
        assert "chain: embedded regtest #0" in line
        assert "2 not configured" in line  # the names do not fit next to the live items at 80 columns


async def test_enter_on_an_audit_row_shows_the_whole_entry_with_its_hashes(app_factory):
    from screens.widgets import ResultScreen

    app = app_factory()
    with app.services.audited("keys", "initialise"):
        pass
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ResultScreen)
        entry = app.services.audit.entries()[0]
        assert entry.hash in app.screen.text and entry.prev_hash in app.screen.text


async def test_audit_export_to_a_directory_says_why_and_writes_nothing(app_factory, tmp_path):
    from textual.widgets import Input

    app = app_factory()
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("8")
        await app.workers.wait_for_complete()
        await pilot.press("x")
        await pilot.pause()
        field = app.screen.query_one(Input)
        field.value = str(tmp_path)
        field.focus()
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        from textual.widgets import Static

        from screens.widgets import FormScreen

        assert isinstance(app.screen, FormScreen)  # back, path kept, reason inside
        assert str(app.screen.query_one("#form-error", Static).render()) == f"cannot use {tmp_path}: Is a directory"
        assert app.screen.query_one(Input).value == str(tmp_path)
        assert list(tmp_path.iterdir()) == []


async def test_audit_rows_show_what_operators_typed_even_when_it_looks_like_markup(app_factory):
    from textual.widgets import DataTable

    app = app_factory()
    typed = {"label": "[b]x[/b]", "message": "pay [red]Alice[/red] 1 BTC [/]"}
    app.services.audit.append("keys", "sign-message", actor="op", details=typed)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#audit-table", DataTable)
        details = str(table.get_cell_at((0, 5)))
        assert "[b]x[/b]" in details and "[red]Alice[/red] 1 BTC [/]" in details


async def test_esc_in_the_audit_filter_gives_the_area_keys_back(app_factory):
    from screens.keys import KeysScreen

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("8")
        await app.workers.wait_for_complete()
        await pilot.press("slash")
        assert app.focused.id == "audit-filter"
        await pilot.press("escape")
        assert app.focused.id == "audit-table"
        await pilot.press("7")
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, KeysScreen)


async def test_coming_back_to_the_dashboard_shows_what_changed_meanwhile(app_factory):
    from textual.widgets import Static

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        areas = app.screen.query_one("#dashboard-areas", Static)
        assert "keystore not initialised" in str(areas.render())
        await pilot.press("7")
        app.services.keystore.initialize(PASSPHRASE)
        await pilot.press("1")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "0 entries, locked" in str(app.screen.query_one("#dashboard-areas", Static).render())


async def test_the_status_line_under_a_dialog_stays_current(app_factory):
    from screens.widgets.status import StatusLine

    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("7")
        await app.workers.wait_for_complete()
        keys_screen = app.screen
        await pilot.press("f1")  # a dialog on top
        app.services.keystore.initialize(PASSPHRASE)
        app._status_collected(app.collect_status())  # what each poll does
        await pilot.pause()
        assert "keys: locked" in str(keys_screen.query_one(StatusLine).render())


def test_the_area_registry_names_each_screen_as_the_screen_names_itself():
    assert [(a.area, a.title) for a in AREAS] == [(s.AREA, s.TITLE) for s in area_screens()]
