"""Arming, verification, health, auto-heal and proof of control on emulated Coldcards."""

from __future__ import annotations

from backends.coldcard.client import ColdcardClient
from backends.keystore import verify_message
from backends.quorum import Done, Failed, HealthChanged, Proven, last_event
from backends.quorum.poller import HealTracker

from .rig import MESSAGE_PATH, SINK, healed_by_the_poller, policy


def audit(services, action):
    return [(e.outcome, e.details) for e in services.audit.entries(limit=None, newest_first=False)
            if e.area == "quorum" and e.action == action]


def test_arming_enrols_the_wallet_starts_hsm_and_verifies_every_signer(coordinator, services):
    before = {s.name: s.failing_check for s in coordinator.refresh()}
    assert before == {"a": "wallet enrolled", "b": "wallet enrolled", "c": "wallet enrolled"}
    armed = coordinator.arm()
    assert [(s.name, s.live, s.hsm_active, s.policy_ok, s.wallet_enrolled, s.xfp_ok) for s in armed] == [
        (n, True, True, True, True, True) for n in "abc"]
    assert {o for o, d in audit(services, "arm")} == {"ok"} and len(audit(services, "arm")) == 3


def test_a_signer_with_another_xfp_is_reported_by_that_check_and_never_live(rig, services):
    spec = rig.spec()
    swapped = (spec.signers[0].__class__("a", spec.signers[1].target, spec.signers[0].xfp),) + spec.signers[1:]
    coordinator = rig.coordinator(services.data_dir, services, signers=swapped)
    try:
        status = coordinator.arm(["a"])[0]
        assert status.failing_check == "xfp" and not status.live
        assert "the device is" in status.problem and spec.signers[0].xfp in status.problem
        assert audit(services, "arm")[-1][1]["failing_check"] == "xfp"
    finally:
        coordinator.close()


def test_health_changes_are_reported_and_audited(rig, services):
    seen = []
    coordinator = rig.coordinator(services.data_dir, services)
    coordinator.on_event = seen.append
    try:
        coordinator.arm()
        coordinator.set_enabled("c", False)
        coordinator.set_enabled("b", False)
        assert [(e.old, e.new) for e in seen if isinstance(e, HealthChanged)] == [
            ("unknown", "ok"), ("ok", "degraded"), ("degraded", "down")]
        assert [(d["old"], d["new"]) for _, d in audit(services, "health")][-2:] == [
            ("ok", "degraded"), ("degraded", "down")]
    finally:
        coordinator.close()


def test_a_power_cycled_signer_is_re_armed_by_auto_heal_and_audited(rig, coordinator, services):
    coordinator.arm()
    rig.process("b").restart()  # HSM mode is off after a power cycle (no boot_to_hsm)
    assert coordinator.refresh(["b"])[0].failing_check == "hsm active"
    assert coordinator.health() == "degraded"
    statuses = coordinator.poll_once(heal=True)
    assert all(s.live for s in statuses) and coordinator.health() == "ok"
    assert audit(services, "auto-heal")[-1][0] == "ok" and audit(services, "auto-heal")[-1][1]["signer"] == "b"
    assert isinstance(last_event(coordinator.spend(100_000, SINK)), Done)


def test_a_signer_armed_with_a_stale_policy_is_not_counted_live_and_not_healed(rig, coordinator, services):
    coordinator.arm()
    process = rig.process("a")
    process.restart()
    stale = policy(max_amount=2_000_000)  # what the device ran before the policy changed
    ColdcardClient(process.socket).start_hsm(stale, press_ok_on_simulator=True)
    status = coordinator.poll_once(heal=True)[0]
    assert status.hsm_active and not status.policy_ok and not status.live
    assert status.failing_check == "policy hash"
    assert coordinator.health() == "degraded"
    assert audit(services, "auto-heal") == []
    done = last_event(coordinator.spend(100_000, SINK))
    assert isinstance(done, Done) and set(done.signers) == {"b", "c"}


def test_of_two_coordinators_polling_the_same_quorum_only_one_heals_and_the_other_takes_over_when_it_closes(
        rig, coordinator, services):
    """The demo rig's coordinator and the app's (or two apps) poll the same devices: one
    re-arm and one audited attempt per power cycle, not two."""
    other = rig.coordinator(services.data_dir, services)  # the second process's coordinator
    try:
        coordinator.arm()
        assert coordinator.holds_heal_lease() and not other.holds_heal_lease()
        rig.process("b").restart()
        other.poll_once(heal=True)  # sees b out of HSM mode, leaves it to the healer
        assert other.statuses()[1].failing_check == "hsm active" and audit(services, "auto-heal") == []
        coordinator.poll_once(heal=True)
        assert [(o, d["signer"]) for o, d in audit(services, "auto-heal")] == [("ok", "b")]
        assert all(s.live for s in other.poll_once(heal=True))

        coordinator.close()  # the healer goes away (or its process dies): the other heals now
        rig.process("c").restart()
        assert all(s.live for s in other.poll_once(heal=True)) and other.holds_heal_lease()
        assert [(o, d["signer"]) for o, d in audit(services, "auto-heal")] == [("ok", "b"), ("ok", "c")]
    finally:
        other.close()


def test_the_poller_thread_heals_in_the_background(rig, coordinator):
    coordinator.arm()
    rig.process("c").restart()
    coordinator.refresh(["c"])
    assert coordinator.health() == "degraded"
    healed_by_the_poller(coordinator, 15)


def test_auto_heal_waits_its_cooldown_and_stops_after_its_attempts():
    tracker = HealTracker(cooldown_seconds=30, max_attempts=2)
    assert tracker.due("a", 100.0)
    tracker.tried("a", 100.0)
    assert not tracker.due("a", 120.0) and tracker.due("a", 130.0)
    tracker.tried("a", 130.0)
    assert not tracker.due("a", 1000.0)  # attempts used up: an operator's arm is needed
    tracker.reset("a")
    assert tracker.due("a", 1000.0)


def test_a_disabled_signer_is_left_alone_by_auto_heal(rig, coordinator, services):
    coordinator.arm()
    coordinator.set_enabled("a", False)
    rig.process("a").restart()
    status = coordinator.poll_once(heal=True)[0]
    assert not status.enabled and not status.hsm_active
    assert audit(services, "auto-heal") == []


def test_two_signers_prove_control_with_signatures_anyone_can_verify(coordinator, services):
    coordinator.arm()
    proven = last_event(coordinator.sign_message("custody-tui proof of reserves 2026-12-04"))
    assert isinstance(proven, Proven) and len(proven.signatures) == 2
    for signature in proven.signatures:
        assert signature.path == MESSAGE_PATH
        assert verify_message(signature.address, proven.text, signature.signature, "regtest")
    assert audit(services, "sign-message")[-1][0] == "ok"


def test_message_signing_on_a_path_the_policy_does_not_allow_is_refused_by_every_device(rig, services):
    coordinator = rig.coordinator(services.data_dir, services, message_path="m/84h/1h/0h/0/7")
    try:
        coordinator.arm()
        failed = last_event(coordinator.sign_message("proof"))
        assert isinstance(failed, Failed)
        assert set(failed.refusals.values()) == {"Message signing not enabled for that path"}
    finally:
        coordinator.close()


def test_spends_run_while_the_poller_reads_the_same_devices(rig, coordinator):
    """Polls and signing share each device's lock: neither garbles the other's session."""
    coordinator.arm()
    coordinator.start_polling(heal=True)
    try:
        for _ in range(3):
            assert isinstance(last_event(coordinator.spend(100_000, SINK)), Done)
            rig.chain.mine(1, SINK)
        assert coordinator.health() == "ok"
    finally:
        coordinator.stop_polling()
