"""Quorum spends against three emulated Coldcards (real ckcc client) and the embedded chain."""

from __future__ import annotations

import pytest

from backends.quorum import Done, DeviceResult, Failed, Preflight, Refusal, Step, last_event

from .rig import MAX_AMOUNT, OFF_LIST, SINK


def run(events):
    collected = list(events)
    return collected, collected[-1]


def audit_outcomes(services, action):
    return [(e.outcome, e.details) for e in services.audit.entries(limit=None, newest_first=False) if e.action == action]


def mempool_spends(rig):
    return [h for h in rig.chain.history(rig.descriptor) if h.sent_sat and h.confirmations == 0]


def test_a_spend_within_policy_is_signed_by_two_signers_and_confirmed_on_chain(rig, coordinator, services):
    assert all(s.live for s in coordinator.arm())
    assert coordinator.health() == "ok"
    events, done = run(coordinator.spend(500_000, SINK, note="refill"))
    assert isinstance(done, Done) and len(done.signers) == 2
    assert sum(1 for e in events if isinstance(e, DeviceResult) and e.ok) == 2
    rig.chain.mine(1, SINK)
    assert rig.chain.tx_status(done.txid).state == "confirmed"
    row = coordinator.ledger.get(done.spend_id)
    assert (row.state, row.txid, row.amount_sat) == ("recorded", done.txid, 500_000)
    outcomes = audit_outcomes(services, "spend")
    assert [o for o, _ in outcomes] == ["started", "ok"]
    assert outcomes[-1][1]["txid"] == done.txid


@pytest.mark.parametrize("amount, to, reason", [
    (MAX_AMOUNT + 1, SINK, "Rejected: rule #1: amount exceeded"),
    (100_000, OFF_LIST, f"Rejected: rule #1: non-whitelisted address: {OFF_LIST}"),
])
def test_a_spend_the_policy_forbids_is_refused_with_every_devices_words_and_nothing_is_broadcast(
        rig, coordinator, services, amount, to, reason):
    coordinator.arm()
    before = rig.chain.utxos(rig.descriptor)
    events, failed = run(coordinator.spend(amount, to))
    assert isinstance(failed, Failed)
    assert failed.refusals == {"a": reason, "b": reason, "c": reason}
    assert [e.signer for e in events if isinstance(e, Refusal)] and not mempool_spends(rig)
    assert rig.chain.utxos(rig.descriptor) == before
    assert coordinator.ledger.recent(1)[0].state == "refused"
    assert [o for o, _ in audit_outcomes(services, "spend")] == ["started", "refused"]
    assert {s.name: s.last_refusal for s in coordinator.refresh()} == {"a": reason, "b": reason, "c": reason}


@pytest.mark.parametrize("amount, to", [(400_000, SINK), (MAX_AMOUNT + 1, SINK), (100_000, OFF_LIST)],
                         ids=["within-policy", "over-cap", "off-whitelist"])
def test_preflight_agrees_with_what_the_devices_then_decide(coordinator, amount, to):
    coordinator.arm()
    predicted = coordinator.preflight(amount, to)
    events, last = run(coordinator.spend(amount, to))
    flight = next(e for e in events if isinstance(e, Preflight))
    assert flight == predicted
    decided = {e.signer: e.reason for e in events if isinstance(e, Refusal)}
    decided.update({e.signer: None for e in events if isinstance(e, DeviceResult) and e.ok})
    for signer, verdict in ((v.signer, v) for v in predicted.verdicts):
        if signer in decided:
            assert decided[signer] == verdict.reason
    assert isinstance(last, Done) == predicted.would_pass


def test_a_disabled_signer_is_never_asked_and_the_other_two_sign(coordinator, services):
    coordinator.arm()
    coordinator.set_enabled("a", False)
    assert coordinator.health() == "degraded"
    events, done = run(coordinator.spend(200_000, SINK))
    assert isinstance(done, Done) and done.signers == ("b", "c")
    assert "a" not in {e.signer for e in events if isinstance(e, DeviceResult | Refusal)}
    assert [o for o, _ in audit_outcomes(services, "disable")] == ["ok"]


def test_a_signer_preflight_expects_to_refuse_is_asked_last_so_its_device_counts_no_refusal(rig, services):
    # per-device velocity: a and b sign the first spend, a and c the second; then a is out
    coordinator = rig.coordinator(services.data_dir, services, policy=_policy(per_period=2_500_000))
    try:
        coordinator.arm()
        for off in ("c", "b"):
            coordinator.set_enabled(off, False)
            assert isinstance(last_event(coordinator.spend(1_000_000, SINK)), Done)
            coordinator.set_enabled(off, True)
        flight = coordinator.preflight(600_000, SINK)
        assert {v.signer: v.approved for v in flight.verdicts} == {"a": False, "b": True, "c": True}
        assert [v.reason for v in flight.verdicts if not v.approved] == [
            "Rejected: rule #1: would exceed period spending"]
        events, done = run(coordinator.spend(600_000, SINK))
        assert isinstance(done, Done) and set(done.signers) == {"b", "c"}
        assert not [e for e in events if isinstance(e, Refusal)]
        assert coordinator.refresh(["a"])[0].refusals == 0
    finally:
        coordinator.close()


def test_a_signer_that_refuses_against_preflight_is_replaced_by_the_spare(rig, services):
    """Another coordinator spends a's velocity between pre-flight and signing: a refuses
    in its own words and c signs instead."""
    from backends.coldcard.client import ColdcardClient
    from backends.quorum.spend import plan_spend
    from backends.wallet import serialize_psbt

    coordinator = rig.coordinator(services.data_dir, services, policy=_policy(per_period=1_500_000))
    try:
        coordinator.arm()

        def elsewhere_spends_a(plan):
            other = plan_spend(coordinator, 1_000_000, SINK)
            ColdcardClient(rig.process("a").socket).sign_psbt(serialize_psbt(other.psbt, "binary"))

        coordinator.gates.append(elsewhere_spends_a)
        events, done = run(coordinator.spend(600_000, SINK))
        assert isinstance(done, Done) and set(done.signers) == {"b", "c"}
        assert [(e.signer, e.reason) for e in events if isinstance(e, Refusal)] == [
            ("a", "Rejected: rule #1: would exceed period spending")]
        assert any(isinstance(e, Step) and e.name == "failover" for e in events)
    finally:
        coordinator.close()


def test_a_signer_killed_mid_session_is_replaced_by_the_spare(rig, coordinator):
    coordinator.arm()
    # a gate runs after the status read and before any device is asked to sign
    coordinator.gates.append(lambda plan: kill(rig.process("a")))
    events, done = run(coordinator.spend(300_000, SINK))
    assert isinstance(done, Done) and set(done.signers) == {"b", "c"}
    failed = [e for e in events if isinstance(e, DeviceResult) and not e.ok]
    assert [e.signer for e in failed] == ["a"] and "not reachable" in failed[0].detail


def test_fewer_than_two_signatures_broadcast_nothing_and_name_every_reason(rig, coordinator, services):
    coordinator.arm()
    coordinator.set_enabled("b", False)
    coordinator.gates.append(lambda plan: kill(rig.process("c")))
    before = rig.chain.utxos(rig.descriptor)
    _, failed = run(coordinator.spend(300_000, SINK))
    assert isinstance(failed, Failed) and "nothing was broadcast" in failed.reason
    assert failed.refusals["b"] == "disabled" and "not reachable" in failed.refusals["c"]
    assert "a" not in failed.refusals
    assert rig.chain.utxos(rig.descriptor) == before and not mempool_spends(rig)
    row = coordinator.ledger.recent(1)[0]
    assert row.state == "refused" and row.txid is None


def test_a_quorum_with_fewer_than_two_live_signers_asks_no_device(coordinator):
    coordinator.arm(["a"])
    _, failed = run(coordinator.spend(300_000, SINK))
    assert isinstance(failed, Failed) and "only 1 signer(s) live" in failed.reason
    assert failed.refusals["b"].startswith("not live: wallet enrolled")
    assert coordinator.ledger.recent(1) == []


def kill(process) -> None:
    """SIGKILL, and wait until it is gone (a device that is dying may still take a packet)."""
    process.proc.kill()
    process.proc.wait()


def _policy(**changes):
    from .rig import policy

    return policy(**changes)
