"""The Keys screen flows, driven by key presses as an operator would."""

from __future__ import annotations

import base64

from textual.widgets import DataTable, Input, Static

from backends.keystore import verify_message
from screens.keys import KeysScreen
from screens.widgets import ConfirmTypedScreen, FormScreen, ResultScreen

from .pilot import settle
from .conftest import PASSPHRASE, fail_audit_after

ABANDON = " ".join(["abandon"] * 11 + ["about"])



async def fill(pilot, *values: str) -> None:
    """Type each value into the focused form field, then Enter (which moves on/submits)."""
    for value in values:
        await pilot.press(*value) if value else None
        await pilot.press("enter")


async def open_keys(app, pilot) -> KeysScreen:
    await pilot.press("7")
    await settle(pilot)
    assert isinstance(app.screen, KeysScreen)
    return app.screen


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_initialise_unlock_import_and_lock(app_factory, clocks):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_keys(app, pilot)
        assert "not initialised" in text_of(keys, "#keys-lock")

        await pilot.press("i")
        assert isinstance(app.screen, FormScreen)
        await fill(pilot, PASSPHRASE, PASSPHRASE)
        await settle(pilot)
        assert app.services.keystore.exists()
        assert "locked" in text_of(keys, "#keys-lock")

        await pilot.press("u")
        await fill(pilot, PASSPHRASE)
        await settle(pilot)
        assert "locks in 5:00" in text_of(keys, "#keys-lock")
        clocks.advance(61)
        keys.update_lock_line()
        assert "locks in 3:59" in text_of(keys, "#keys-lock")

        await pilot.press("m")
        await pilot.press(*"cold", "tab")
        app.screen.query_one("#field-mnemonic", Input).value = ABANDON  # typing 12 words is slow
        await pilot.press("enter", "enter")
        await settle(pilot)
        table = keys.query_one("#keys-table", DataTable)
        assert table.row_count == 1
        assert table.get_row_at(0)[:3] == ["cold", "mnemonic", "73c5da0a"]

        await pilot.press("l")
        await settle(pilot)
        assert not app.services.keystore.is_unlocked
        assert "locked" in text_of(keys, "#keys-lock")

    actions = [e.action for e in app.services.audit.entries(newest_first=False)]
    assert actions == ["initialise", "unlock", "import-mnemonic", "lock"]


async def test_a_wrong_passphrase_brings_the_form_back_saying_why(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_keys(app, pilot)
        await pilot.press("u")
        await fill(pilot, "wrong horse")
        await settle(pilot)
        assert not app.services.keystore.is_unlocked
        assert isinstance(app.screen, FormScreen)  # back, with the reason inside
        error = str(app.screen.query_one("#form-error", Static).render())
        assert "passphrase" in error.lower() and "wrong horse" not in error
        assert app.screen.query_one("#field-passphrase", Input).value == ""  # a wrong one is not kept
        assert not any("Traceback" in n.message for n in app._notifications)

        await fill(pilot, PASSPHRASE)
        await settle(pilot)
        assert app.services.keystore.is_unlocked and app.screen is keys


async def test_a_refused_import_keeps_what_was_typed(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    app.services.keystore.unlock(PASSPHRASE, 300)
    bad_checksum = " ".join(["abandon"] * 12)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("m")
        app.screen.query_one("#field-label", Input).value = "cold"
        app.screen.query_one("#field-mnemonic", Input).value = bad_checksum
        app.screen.query_one("#submit").press()
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "checksum" in str(app.screen.query_one("#form-error", Static).render()).lower()
        assert app.screen.query_one("#field-label", Input).value == "cold"
        assert app.screen.query_one("#field-mnemonic", Input).value == bad_checksum
        await pilot.press("escape")
        await settle(pilot)
        assert app.services.keystore.entries() == []


async def unlocked_with_entry(app):
    app.services.keystore.initialize(PASSPHRASE)
    app.services.keystore.unlock(PASSPHRASE, 300)
    app.services.keystore.import_mnemonic("cold", ABANDON)


async def test_derive_address_shows_it_with_a_qr(app_factory):
    app = app_factory()
    await unlocked_with_entry(app)
    async with app.run_test(size=(100, 50)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("a")
        await pilot.press("enter")  # empty path: the standard first address, wpkh
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk" in app.screen.text
        assert app.screen.query_one("QRCodeView")


async def test_sign_then_verify_a_message(app_factory):
    app = app_factory()
    await unlocked_with_entry(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("s")
        await pilot.press(*"hello custody", "enter")
        await pilot.press("enter")  # empty path, wpkh
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        lines = dict(line.split(":", 1) for line in app.screen.text.splitlines())
        address, signature = lines["address"].strip(), lines["signature"].strip()
        assert verify_message(address, "hello custody", signature, "regtest")
        await pilot.press("escape")

        await pilot.press("v")
        form = app.screen
        form.query_one("#field-address", Input).value = address
        form.query_one("#field-message", Input).value = "hello custody"
        form.query_one("#field-signature", Input).value = signature
        form.submit()
        await settle(pilot)
        assert any(n.title == "Verified" for n in app._notifications)


async def test_reveal_needs_the_label_typed(app_factory, clocks):
    app = app_factory()
    await unlocked_with_entry(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmTypedScreen)
        await pilot.press(*"col", "enter")
        assert isinstance(app.screen, ConfirmTypedScreen)  # a near miss reveals nothing
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert not any(e.action == "reveal-mnemonic" for e in app.services.audit.entries())

        await pilot.press("R")
        await pilot.press(*"cold", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        lines = app.screen.text.splitlines()
        assert len(lines) == 6  # two columns: the whole mnemonic fits the dialog
        assert lines[0] == " 1. abandon      7. abandon"
        assert lines[5].endswith("12. about")

        clocks.advance(app.services.config.keystore.unlock_ttl_seconds + 1)
        app.screen._hide_when_expired()  # what its one-second timer does
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)  # the words left with the unlock
        assert any("were hidden: the keystore locked" in n.message for n in app._notifications)


async def test_the_selected_entry_stays_selected_when_a_dialog_closes(app_factory):
    app = app_factory()
    await unlocked_with_entry(app)
    app.services.keystore.import_mnemonic("second", ABANDON)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_keys(app, pilot)
        await pilot.press("down")
        assert keys.selected_label() == "second"
        await pilot.press("s")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert keys.selected_label() == "second"


async def test_locked_actions_are_dimmed_not_run(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_keys(app, pilot)
        assert keys.check_action("create", ()) is None
        assert keys.check_action("unlock", ()) is True
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        assert any(n.message == "New mnemonic: unlock the keystore first (u)." for n in app._notifications)


async def test_a_message_with_square_brackets_is_signed_and_shown_as_typed(app_factory):
    app = app_factory()
    await unlocked_with_entry(app)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("s")
        app.screen.query_one("#field-message", Input).value = "pay [/b] to [b]me"
        app.screen.submit()
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        shown = str(app.screen.query_one(".result-text", Static).render())
        assert "message:   pay [/b] to [b]me" in shown


async def test_an_error_that_echoes_typed_brackets_is_shown_not_a_crash(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await open_keys(app, pilot)
        await pilot.press("v")
        form = app.screen
        form.query_one("#field-address", Input).value = "bc1[/b]x"
        form.query_one("#field-message", Input).value = "hello"
        form.query_one("#field-signature", Input).value = base64.b64encode(bytes([31]) + bytes(64)).decode()
        form.submit()
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # back with the reason, quoting what was typed
        assert "bc1[/b]x" in str(app.screen.query_one("#form-error", Static).render())


async def test_a_mangled_signature_is_called_mangled_not_a_mismatch(app_factory):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_keys(app, pilot)
        await pilot.press("v")
        form = app.screen
        form.query_one("#field-address", Input).value = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
        form.query_one("#field-message", Input).value = "hello"
        form.query_one("#field-signature", Input).value = "not[b]base64!"
        form.submit()
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)
        assert "the signature is not base64" in str(app.screen.query_one("#form-error", Static).render())


async def test_done_but_unrecorded_is_not_offered_again_as_a_form(app_factory, monkeypatch):
    app = app_factory()
    app.services.keystore.initialize(PASSPHRASE)
    app.services.keystore.unlock(PASSPHRASE, 300)
    fail_audit_after(monkeypatch, "create-mnemonic")
    async with app.run_test(size=(80, 24)) as pilot:
        keys = await open_keys(app, pilot)
        await pilot.press("n")
        app.screen.query_one("#field-label", Input).value = "hot"
        app.screen.query_one("#submit").press()
        await settle(pilot)
        assert app.screen is keys  # no form inviting a second creation
        assert any("was done, but the audit log could not record it" in n.message for n in app._notifications)
        assert [e.label for e in app.services.keystore.entries()] == ["hot"]


def test_a_form_field_never_shows_what_was_typed_in_repr():
    from screens.widgets.dialogs import FormField

    typed = FormField("mnemonic", "Mnemonic", value="abandon ability able about above absent")
    assert "abandon" not in repr(typed)
