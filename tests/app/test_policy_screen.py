"""The Policy screen over a real quorum (three emulator processes): each signer's armed
policy, the tier editor checked as you type in the firmware's words, the diff before a
push, a push with a signer that stays stale, authorising a destination and enrolling the
surge tier's TOTP owner with its QR code."""

from __future__ import annotations

import time

import pyotp
from textual.widgets import Button, Input, Select, Static

from backends.coldcard.client import ColdcardClient
from backends.coldcard.hsm import texts
from screens.policy_parts import DiffScreen, TierEditor
from screens.widgets import FormScreen, ResultScreen
from tests.quorum.rig import OFF_LIST, SINK

from .pilot import settle
from .conftest import PASSPHRASE
from .quorum_app import quorum_app  # noqa: F401  (a fixture)



def shown(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_edited_tiers_are_checked_as_typed_diffed_then_pushed_with_a_stale_signer(quorum_app):
    app = quorum_app.app()  # armed with the configured file's policy
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert "never pushed" in shown(app.screen, "#policy-intended")
        assert shown(app.screen, "#policy-signers").count("matches") == 3
        for name in "ab":  # the operator power-cycles two signers; c stays in HSM mode
            quorum_app.rig.process(name).restart()

        await pilot.press("e")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, TierEditor)
        editor.query_one("#tier-auto_max", Input).value = "lots"
        await pilot.pause()
        assert texts.MPY_INT_SYNTAX in shown(editor, "#editor-verdict")
        assert editor.query_one("#diff", Button).disabled
        editor.query_one("#tier-auto_max", Input).value = "2000000"
        editor.query_one("#tier-period", Input).value = "0"
        await pilot.pause()
        assert "period: must be in range: [1..4320]" in shown(editor, "#editor-verdict")
        editor.query_one("#tier-period", Input).value = "60"
        await pilot.pause()
        assert "a Coldcard would take it" in shown(editor, "#editor-verdict")
        await pilot.click("#diff")
        await settle(pilot)

        diff = app.screen
        assert isinstance(diff, DiffScreen)
        assert [c.text() for c in diff.diff.changes] == ["rules[1].max_amount: 1000000 -> 2000000"]
        assert app.screen.focused.id == "cancel"
        await pilot.click("#push")
        await settle(pilot)
        await settle(pilot)

        version = app.services.policy_history.latest()
        assert (version.number, version.reached, version.stale) == (1, ("a", "b"), ("c",))
        assert "version 1" in shown(app.screen, "#policy-intended")
        signers = shown(app.screen, "#policy-signers")
        assert signers.splitlines()[2].split()[:2] == ["c", "stale"] and signers.count("matches") == 2
        assert not {s.name: s.live for s in app.services.quorum.statuses()}["c"]

        await pilot.press("h")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen) and "v1" in app.screen.text
        assert "stale c" in app.screen.text
        await pilot.press("escape", "1")
        await settle(pilot)
        dashboard = " ".join(shown(app.screen, "#dashboard-areas").split())  # wrapped lines are indented
        assert f"v1 {version.hash[:8]} · 2 of 3 signers run it · stale: c" in dashboard, dashboard


async def test_the_owner_is_enrolled_with_a_qr_and_a_destination_authorised(quorum_app):
    app = quorum_app.app(armed=False)
    keystore = app.services.keystore
    keystore.initialize(PASSPHRASE)
    keystore.unlock(PASSPHRASE, 300)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)

        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#field-user", Input).value = "owner"
        app.screen.query_one("#field-show_secret", Select).value = "yes"
        await pilot.click("#submit")
        await settle(pilot)
        result = app.screen
        assert isinstance(result, ResultScreen) and result.qr_payload.startswith("otpauth://totp/")
        secret = result.text.split("shown this once): ")[1].strip()
        counter = int(time.time()) // 30
        device = ColdcardClient(quorum_app.rig.process("b").socket)
        assert device.user_auth("owner", pyotp.TOTP(secret).at(counter * 30), counter=counter) == ""
        await pilot.press("escape")

        await pilot.press("w")
        await pilot.pause()
        app.screen.query_one("#field-address", Input).value = OFF_LIST
        app.screen.query_one("#field-reason", Input).value = "payroll"
        await pilot.click("#submit")
        await settle(pilot)
        await settle(pilot)
        version = app.services.policy_history.latest()
        assert version.reason == f"authorise {OFF_LIST}: payroll" and version.reached == ("a", "b", "c")
        assert version.policy["rules"][0]["whitelist"] == [SINK, OFF_LIST]
        log = "\n".join(str(line.text) for line in app.screen.query_one("#policy-log").lines)
        assert "✓ a: armed" in log and "· a: uploading the policy and starting HSM mode" in log
