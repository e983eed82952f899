"""Diff and push against emulated Coldcards (real ckcc client): a signer that is down or
still in HSM mode with another policy is named stale and is not counted live; a pushed
version becomes the policy the quorum verifies against and auto-heal arms with."""

from __future__ import annotations

import json

import pytest

from backends.policy import PushFailed, push_policy
from backends.quorum import Done, Failed, last_event
from tests.quorum.rig import OFF_LIST, SINK, policy

from .conftest import audit, cli


def write(path, document) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def states(services) -> dict:
    return {s.name: s.live for s in services.quorum.refresh()}


def test_a_push_with_one_signer_down_names_it_stale_and_the_quorum_does_not_count_it(quorum, tmp_path, capsys):
    harness, services = quorum
    first, second = write(tmp_path / "v1.json", policy()), write(tmp_path / "v2.json", policy(max_amount=2_000_000))
    assert cli(services, "policy", "validate", first) == 0
    harness.rig.process("c").stop()
    assert cli(services, "policy", "push", first, "--reason", "first policy") == 1  # not every signer took it
    out = capsys.readouterr()
    assert "a: armed" in out.out and "b: armed" in out.out and "c: down" in out.out
    assert "stale (not counted live until they run version 1): c" in out.out
    assert "a: uploading the policy and starting HSM mode" in out.err  # progress per device
    assert states(services) == {"a": True, "b": True, "c": False}

    harness.rig.process("c").start()  # back, never armed: a push arms it
    assert cli(services, "policy", "diff", second, "--json") == 0
    diff = json.loads(capsys.readouterr().out)
    assert [c["text"] for c in diff["changes"]] == ["rules[1].max_amount: 1000000 -> 2000000"]
    assert diff["against"] == "version 1"
    assert {s["name"]: (s["state"], s["push"]) for s in diff["signers"]} == {
        "a": ("matches", "in HSM mode with another policy: power-cycle it, then it is armed (auto-heal or push)"),
        "b": ("matches", "in HSM mode with another policy: power-cycle it, then it is armed (auto-heal or push)"),
        "c": ("not armed", "will be armed")}

    assert cli(services, "policy", "push", second, "--json") == 1
    pushed = json.loads(capsys.readouterr().out)
    assert {s["signer"]: s["outcome"] for s in pushed["signers"]} == {"a": "stale", "b": "stale", "c": "armed"}
    assert pushed["version"]["number"] == 2 and pushed["stale"] == ["a", "b"]
    # the intended policy is version 2: a and b run version 1 and are not live
    assert states(services) == {"a": False, "b": False, "c": True}
    assert services.quorum.health() == "down"
    assert cli(services, "policy", "show", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 2 and {s["name"]: s["state"] for s in shown["signers"]} == {
        "a": "stale", "b": "stale", "c": "matches"}

    harness.rig.process("a").restart()  # the operator power-cycles it: auto-heal arms version 2
    services.quorum.poll_once(heal=True)
    assert states(services) == {"a": True, "b": False, "c": True}

    assert cli(services, "policy", "history", "--json") == 0
    versions = json.loads(capsys.readouterr().out)["versions"]
    assert [(v["number"], v["actor"], v["reached"], v["stale"], v["reason"]) for v in versions] == [
        (2, "operator@test", ["c"], ["a", "b"], ""), (1, "operator@test", ["a", "b"], ["c"], "first policy")]
    pushes = audit(services, "push")
    assert [o for o, _ in pushes] == ["started", "ok", "started", "ok"]
    assert pushes[1][1]["stale"] == ["c"] and pushes[1][1]["reason"] == "first policy"


def test_a_push_no_signer_takes_changes_nothing(quorum, tmp_path):
    harness, services = quorum
    coordinator, history = services.quorum, services.policy_history
    push_policy(coordinator, history, policy(), actor="operator@test")
    with pytest.raises(PushFailed, match="no signer took the policy; nothing changed") as caught:
        push_policy(coordinator, history, policy(max_amount=7), actor="operator@test")
    assert {o.outcome for o in caught.value.outcomes} == {"stale"}
    assert [v.number for v in history.versions()] == [1]
    assert all(states(services).values())  # still verified against version 1


def test_an_off_whitelist_spend_is_refused_then_authorised_then_the_same_spend_passes(quorum, capsys):
    harness, services = quorum
    coordinator = services.quorum
    push_policy(coordinator, services.policy_history, policy(), actor="operator@test")
    refused = last_event(coordinator.spend(100_000, OFF_LIST))
    assert isinstance(refused, Failed)
    assert any(f"non-whitelisted address: {OFF_LIST}" in r for r in refused.refusals.values())

    # HSM mode ends only on the device: authorising while every signer runs it changes nothing
    with pytest.raises(PushFailed, match="a: stale .*power-cycle it"):
        cli(services, "policy", "authorize", OFF_LIST, "--reason", "payroll run")
    assert len(services.policy_history.versions()) == 1
    assert audit(services, "authorize")[-1][0] == "refused"
    for name in "abc":
        harness.rig.process(name).restart()
    assert cli(services, "policy", "authorize", OFF_LIST, "--reason", "payroll run") == 0
    assert "version 2" in capsys.readouterr().out
    version = services.policy_history.latest()
    assert version.reason == f"authorise {OFF_LIST}: payroll run" and version.actor == "operator@test"
    assert version.policy["rules"][0]["whitelist"] == [SINK, OFF_LIST]
    assert [(o, d.get("reason")) for o, d in audit(services, "authorize")][-2:] == [
        ("started", "payroll run"), ("ok", "payroll run")]
    done = last_event(coordinator.spend(100_000, OFF_LIST))
    assert isinstance(done, Done), done
