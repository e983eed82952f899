"""The Quorum screen's flows, driven by key presses, against three emulated Coldcards over
ckcc and the embedded chain (tests/app/quorum_app.py)."""

from __future__ import annotations

import pytest
from textual.widgets import RichLog, Static

from backends.keystore import verify_message
from screens.quorum import QuorumScreen, parse_sats
from screens.quorum_parts import PreflightScreen, SignerCard
from screens.widgets import FormScreen, ResultScreen
from tests.quorum.rig import SINK

from .pilot import settle
from .demo_rig import new_demo_dir
from .quorum_app import quorum_app  # noqa: F401  (a fixture)

OVER_CAP = 2_000_000  # the rig's policy allows 1,000,000 a transaction



async def open_quorum(app, pilot) -> QuorumScreen:
    await pilot.press("2")
    await settle(pilot)
    assert isinstance(app.screen, QuorumScreen)
    return app.screen


async def fill(pilot, *values: str) -> None:
    for value in values:
        if value:
            await pilot.press(*value)
        await pilot.press("enter")


def log_text(screen) -> str:
    return " ".join("".join(seg.text for seg in strip) for strip in screen.query_one("#quorum-log", RichLog).lines)


def card_text(screen, name: str) -> str:
    card = next(c for c in screen.query(SignerCard) if c.signer_name == name)
    return str(card.render())


def status_line(screen) -> str:
    return str(screen.query_one("StatusLine").render())


def audit(app, action: str) -> list[str]:
    return [e.outcome for e in app.services.audit.entries(limit=None, newest_first=False)
            if e.area == "quorum" and e.action == action]


async def spend(app, pilot, amount: int, to: str, totp: str = "") -> PreflightScreen:
    await pilot.press("s")
    assert isinstance(app.screen, FormScreen)
    await fill(pilot, str(amount), to, "", totp)
    await settle(pilot)
    assert isinstance(app.screen, PreflightScreen)
    return app.screen


@pytest.mark.slow
async def test_a_spend_within_policy_is_pre_flighted_confirmed_signed_and_broadcast(quorum_app):
    app = quorum_app.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        assert "ok 3/3 live" in str(screen.query_one("#quorum-health", Static).render())
        assert "quorum: ok 3/3 live" in status_line(screen)

        flight = await spend(app, pilot, 100_000, SINK)
        assert flight.flight.would_pass and [v.approved for v in flight.flight.verdicts] == [True] * 3
        assert audit(app, "spend") == []  # nothing asked of a device before the confirmation
        await pilot.press("enter")  # "Send to signers" has the focus
        await settle(pilot)

        row = app.services.quorum.ledger.recent(1)[0]
        assert row.state == "recorded" and quorum_app.rig.chain.tx_status(row.txid).state == "mempool"
        assert app.in_flight == {}  # quitting now asks nothing
        log = log_text(screen)
        assert "pre-flight: 3 of 3 would sign, 2 needed" in log and row.txid in log and "✓ broadcast" in log
        assert audit(app, "preflight") == ["ok"] and audit(app, "spend") == ["started", "ok"]
        assert sum("approvals 1" in card_text(screen, n) for n in "abc") == 2


@pytest.mark.slow
async def test_a_refused_spend_shows_each_devices_words_and_broadcasts_nothing(quorum_app):
    app = quorum_app.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        flight = await spend(app, pilot, OVER_CAP, SINK)
        assert not flight.flight.would_pass
        assert app.screen.focused.id == "cancel"  # a predicted refusal is not sent by reflex
        await pilot.press("shift+tab", "enter")  # "Send anyway"
        await settle(pilot)

        assert isinstance(app.screen, ResultScreen)
        words = "Rejected: rule #1: amount exceeded"
        assert "nothing was broadcast" in app.screen.text
        for name in "abc":
            assert f"{name}: {words}" in app.screen.text
        await pilot.press("escape")
        assert all(words in card_text(screen, n).replace("\n", " ") for n in "abc")
        assert f"b refused: {words}" in log_text(screen)
        assert app.services.quorum.ledger.recent(1)[0].state == "refused"
        assert audit(app, "spend") == ["started", "refused"]


@pytest.mark.slow
async def test_arm_disable_and_enable_signers_from_their_cards(quorum_app):
    app = quorum_app.app(armed=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        assert all("wallet enrolled" in card_text(screen, n) for n in "abc")
        assert "quorum: down 0/3 live" in status_line(screen)
        for _ in "abc":  # arm the selected card, then select the next one
            await pilot.press("a")
            await settle(pilot)
            await pilot.press("right")
        assert all("● live" in card_text(screen, n) for n in "abc")
        assert "uploading the policy and starting HSM mode" in log_text(screen)
        assert audit(app, "arm") == ["ok"] * 3
        assert "quorum: ok 3/3 live" in status_line(screen)

        await pilot.press("right", "d")  # the selection went round to a; b is next
        await settle(pilot)
        assert "● disabled" in card_text(screen, "b") and not app.services.quorum.statuses()[1].enabled
        assert "quorum: degraded 2/3" in status_line(screen)
        await pilot.press("e")
        await settle(pilot)
        assert "● live" in card_text(screen, "b")
        assert "quorum: ok 3/3 live" in status_line(screen)
        assert audit(app, "disable") == ["ok"] and audit(app, "enable") == ["ok"]


@pytest.mark.slow
async def test_proof_of_control_shows_each_signers_address_and_a_signature_that_verifies(quorum_app):
    app = quorum_app.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_quorum(app, pilot)
        await pilot.press("m")
        await fill(pilot, "reserves held 2026-11-22")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        lines = app.screen.text.splitlines()
        addresses = [line.split()[1] for line in lines if line.startswith("address:")]
        signatures = [line.split()[1] for line in lines if line.startswith("signature:")]
        assert len(addresses) == len(signatures) == 2
        for address, signature in zip(addresses, signatures, strict=True):
            assert verify_message(address, "reserves held 2026-11-22", signature, "regtest")
        assert audit(app, "sign-message") == ["ok"]


async def test_without_a_quorum_the_screen_says_how_to_configure_one_and_actions_say_what_they_need(app_factory):
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        text = str(screen.query_one("#quorum-unconfigured", Static).render())
        assert "[[quorum.signers]]" in text and "custody-tui demo" in text
        assert not screen.query(SignerCard)
        assert screen.check_action("spend", ()) is None and screen.check_action("power_cycle", ()) is None
        await pilot.press("m")
        assert not isinstance(app.screen, FormScreen)
        assert any(n.message.startswith("Sign message: configure [quorum] first") for n in app._notifications)


@pytest.mark.parametrize("text", ["0", "-5", "1.5", "abc", "", "²", "9" * 5000],  # int() raises on the last two
                         ids=lambda text: text[:8])
def test_an_amount_that_is_not_whole_positive_sats_is_refused(text):
    from backends.errors import CustodyError

    with pytest.raises(CustodyError, match="whole number of satoshis"):
        parse_sats(text)


def test_amounts_may_be_grouped():
    assert parse_sats(" 2,000,000 ") == parse_sats("2_000_000") == 2_000_000


async def test_a_quorum_that_cannot_open_is_said_plainly_and_its_actions_refuse_without_a_traceback(app_factory):
    from custody_tui.config import QuorumConfig, QuorumSignerConfig

    from .conftest import test_config

    quorum = QuorumConfig(descriptor="wsh(...)", wallet_name="w", policy_file="gone.json",
                          signers=[QuorumSignerConfig("a", "/tmp/custody-tui-nowhere/a.sock", "0F056943")])
    app = app_factory(test_config(quorum=quorum))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        health = str(screen.query_one("#quorum-health", Static).render())
        assert "quorum unavailable: quorum.policy_file: cannot read" in health and "gone.json" in health
        assert "quorum: unavailable" in status_line(screen)
        await pilot.press("a")
        await settle(pilot)
        assert screen.running is None
        assert any("gone.json" in n.message for n in app._notifications)
        assert not any("Internal error" == n.title for n in app._notifications)


@pytest.mark.slow
async def test_on_the_demo_rig_a_power_cycled_signer_goes_down_and_auto_heal_brings_it_back(tmp_path, clocks):
    import asyncio
    import time

    from custody_tui.app import make_app
    from custody_tui.demo import prepare_demo, running_parts
    from custody_tui.services import Services

    config, data_dir = prepare_demo(new_demo_dir(tmp_path / "demo"))
    rig = Services(config, data_dir)  # the rig's own services, as `custody-tui demo` runs them
    try:
        assert not rig.runs_demo_devices
        with running_parts(rig):
            assert rig.runs_demo_devices
            app = make_app(config, data_dir, clocks=clocks, poll=False, actor="operator@test")
            async with app.run_test(size=(80, 24)) as pilot:
                screen = await open_quorum(app, pilot)
                assert all("● live" in card_text(screen, n) for n in "abc")
                # the app polls with auto-heal as well (poll=True does this): the rig's
                # coordinator, polling first, is the one healer of the data dir
                app.services.quorum.start_polling(heal=True)
                assert rig.quorum.holds_heal_lease() and not app.services.quorum.holds_heal_lease()
                await pilot.press("right", "p")
                await settle(pilot)
                assert "b restarted out of HSM mode" in log_text(screen)
                deadline = time.monotonic() + 30
                while "● live" not in card_text(screen, "b"):  # the rig's poller re-arms it
                    assert time.monotonic() < deadline, card_text(screen, "b")
                    await asyncio.sleep(0.5)
                    await pilot.press("r")
                    await settle(pilot)
                assert audit(app, "power-cycle") == ["ok"]
                assert audit(app, "auto-heal").count("ok") == 1  # one healer re-armed it, once
        assert not rig.runs_demo_devices  # the devices stopped with the rig
    finally:
        rig.close()


@pytest.mark.slow
async def test_quitting_during_a_spend_warns_that_crash_recovery_picks_it_up_and_asks_first(quorum_app):
    import asyncio
    import time

    from screens.widgets import ConfirmScreen

    from .quorum_app import HeldGate

    app = quorum_app.app()
    gate = HeldGate()
    app.services.quorum.gates.append(gate)
    services = app.services
    close = services.close
    services.close = gate.release.set  # the spend outlives the app; closed below once it ends
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_quorum(app, pilot)
            await spend(app, pilot, 200_000, SINK)
            await pilot.press("enter")  # "Send to signers"
            assert await asyncio.to_thread(gate.reached.wait, 10)

            await pilot.press("ctrl+q")
            assert isinstance(app.screen, ConfirmScreen) and app.return_code is None
            assert "spend is running" in app.screen.warning and "Crash recovery picks it up" in app.screen.warning
            assert app.screen.focused.id == "cancel"
            await pilot.press("ctrl+q")  # pressed again: still asking, not an answer
            await pilot.press("enter")  # "Keep running"
            assert not isinstance(app.screen, ConfirmScreen) and app.return_code is None

            await pilot.press("ctrl+q")
            await pilot.press("tab", "enter")  # "Quit anyway"
            assert app.return_code == 0
    finally:
        gate.release.set()
        deadline = time.monotonic() + 20
        while not any(e.action == "spend" and e.outcome == "refused" for e in services.audit.entries(limit=None)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        close()


async def test_quitting_with_nothing_running_asks_nothing(data_dir, clocks):
    from custody_tui.app import make_app

    from .conftest import test_config

    app = make_app(test_config(), data_dir, clocks=clocks, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        assert app.return_code == 0 and app.in_flight == {}


@pytest.mark.slow
async def test_a_surge_spend_takes_the_owners_code_in_the_form_and_never_shows_or_records_it(quorum_app):
    import json
    import time

    from backends.coldcard.client import ColdcardClient
    from backends.coldcard.hsm.otp import b32decode, calc_hotp
    from tests.quorum.test_surge import OWNER, SECRET, surge_policy

    from .quorum_app import POLICY_FILE

    for target in quorum_app.rig.targets:
        ColdcardClient(target).create_user(OWNER, SECRET)
    (quorum_app.data_dir / POLICY_FILE).write_text(json.dumps(surge_policy()))
    app = quorum_app.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        await pilot.press("s")
        await fill(pilot, str(OVER_CAP), SINK, "", "12x456")
        await settle(pilot)
        assert isinstance(app.screen, FormScreen)  # refused in the form, with the reason
        await pilot.press("escape")

        code = calc_hotp(b32decode(SECRET), int(time.time()) // 30)
        flight = await spend(app, pilot, OVER_CAP, SINK, totp=code)
        assert flight.flight.would_pass  # judged by the surge rule, as the owner gave a code
        await pilot.press("enter")
        await settle(pilot)

        row = app.services.quorum.ledger.recent(1)[0]
        assert row.state == "recorded"
        log = " ".join(log_text(screen).split())  # wrapped lines are joined with a space
        assert "(surge tier)" in log and code not in log
    entries = app.services.audit.entries(limit=None, newest_first=False)
    assert [e.outcome for e in entries if e.area == "quorum" and e.action == "spend"] == ["started", "ok"]
    assert all(code not in json.dumps(e.__dict__, default=str) for e in entries)


@pytest.mark.slow
async def test_enter_shows_the_selected_signer_in_full_with_the_reason_its_card_cuts(quorum_app):
    app = quorum_app.app()
    quorum_app.rig.process("c").stop()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_quorum(app, pilot)
        await pilot.press("right", "right", "enter")  # c
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen) and app.screen.result_title == "Signer c"
        problem = app.services.quorum.statuses()[2].problem
        assert problem and problem in card_text(screen, "c")  # the card has it, cut at 80x24 (snapshot)
        assert f"why not live     {problem}" in app.screen.text
        assert "reachable        no" in app.screen.text and "state            down" in app.screen.text
