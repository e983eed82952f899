"""The Bunker screen: tokens from the database, issue with QR, revoke, re-issue, log."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from backends.bunker.keys import create_key

from .conftest import PASSPHRASE
from .test_snapshots import SIZE, press_then_settle, settle

DEVICE = "4f355bdcb7cc0af728ef3cceb9615d90684bb5b2ca5f859ab0f0b704075871aa"


def fleet(app, *, tokens: bool = True):
    """A keystore with a nostr key and, optionally, a paired and an unpaired token, with
    fixed ids and a fixed device key so the screen is the same on every run."""
    services = app.services
    services.keystore.initialize(PASSPHRASE)
    services.keystore.unlock(PASSPHRASE, 300)
    import backends.bunker.keys as keys
    from backends.bunker.nostr import SecretKey

    key = SecretKey(bytes.fromhex("11" * 32))
    services.keystore.add_secret("fleet", "nostr", key.secret_bytes(), {"pubkey": key.public_hex})
    assert keys.key_pubkey(services.keystore, "fleet") == key.public_hex
    if tokens:
        ids = iter(["a1b2c3d4", "e5f60718"])
        import backends.bunker.tokens as tokens_module

        real_new_id = tokens_module._new_id
        tokens_module._new_id = lambda db: next(ids)
        try:
            store = services.bunker
            _, url = keys.issue_token(store, services.keystore, key_label="fleet", client_name="atm-lisbon",
                                      permissions="sign_event:21000", lifetime_seconds=30 * 86400,
                                      relays=("ws://127.0.0.1:7447",))
            keys.issue_token(store, services.keystore, key_label="fleet", client_name="atm-porto",
                             permissions="sign_event:21000", lifetime_seconds=2 * 86400,
                             relays=("ws://127.0.0.1:7447",))
            store.connect(key.public_hex, DEVICE, url.secret)
            store.authorize(key.public_hex, DEVICE, "sign_event", 21000)
            store.authorize(key.public_hex, DEVICE, "sign_event", 1)
        finally:
            tokens_module._new_id = real_new_id
    return app


def test_bunker_screen_with_tokens(snap_compare, app_factory):
    assert snap_compare(fleet(app_factory()), run_before=press_then_settle("6"), terminal_size=SIZE)


def test_dashboard_bunker_line(snap_compare, app_factory):
    assert snap_compare(fleet(app_factory()), run_before=press_then_settle("r"), terminal_size=SIZE)


async def new_token_form(app, pilot, client: str):
    """The Bunker screen's "new token" form, its device name filled in."""
    await pilot.press("6")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    form = app.screen
    form.query_one("#field-client", Input).value = client
    return form


async def test_issue_shows_the_url_and_its_qr_and_the_table_gains_a_row(app_factory):
    app = fleet(app_factory(), tokens=False)
    async with app.run_test(size=SIZE) as pilot:
        form = await new_token_form(app, pilot, "atm-faro")
        form.submit()
        await settle(pilot)
        from screens.widgets.qr import QRCodeView

        result = app.screen
        assert "bunker://" in result.text and result.query(QRCodeView)
        await pilot.press("escape")
        await settle(pilot)
        tokens = app.services.bunker.tokens()
        assert [t.client_name for t in tokens] == ["atm-faro"]
        assert app.screen.query_one("#bunker-tokens", DataTable).row_count == 1
        entries = app.services.audit.entries(text="token create")
        assert entries and entries[0].outcome == "ok"


async def test_revoke_needs_the_typed_word_and_cuts_the_device_off(app_factory):
    app = fleet(app_factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        await pilot.press(*"revoke", "enter")
        await settle(pilot)
        first = app.services.bunker.token("a1b2c3d4")
        assert first.revoked_at is not None
        assert app.services.bunker.token("e5f60718").revoked_at is None
        decision = app.services.bunker.authorize(first.signer_pubkey, DEVICE, "sign_event", 21000)
        assert not decision.allowed and "revoked" in decision.reason


async def test_request_log_follows_the_selected_token(app_factory):
    app = fleet(app_factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        log = app.screen.query_one("#bunker-log", DataTable)
        assert log.row_count == 3  # connect, kind 21000 allowed, kind 1 refused
        await pilot.press("down")
        await settle(pilot)
        assert log.row_count == 0


async def test_a_use_limit_in_other_digits_comes_back_in_the_form_with_the_reason(app_factory):
    from textual.widgets import Static

    app = fleet(app_factory(), tokens=False)
    async with app.run_test(size=SIZE) as pilot:
        form = await new_token_form(app, pilot, "atm-faro")
        form.query_one("#field-uses", Input).value = "²"  # str.isdigit says yes, int() says no
        form.submit()
        await settle(pilot)
        assert "whole number" in str(app.screen.query_one("#form-error", Static).render())
        assert app.services.bunker.tokens() == []


async def test_enter_shows_the_token_with_times_in_utc_not_unix_seconds(app_factory):
    app = fleet(app_factory())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = app.screen.text
        token = app.services.bunker.token("a1b2c3d4")
        assert str(token.expires_at) not in text and str(token.created_at) not in text
        assert "expires at     2026-12-22 03:00:00 UTC (in 30d 0h)" in text  # FROZEN_NOW + 30 days
        assert "revoked at     -" in text and "relays         ws://127.0.0.1:7447" in text
