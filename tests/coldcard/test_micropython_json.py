"""``hsts`` key order: the emulator writes JSON objects in MicroPython's dict order, as the
firmware's ``ujson.dumps`` does. The expected orders were read from the official
simulator (firmware 5.4.5), one per set of keys the device can report."""

from __future__ import annotations

import json

import pytest

from backends.coldcard.emulator.micropython_json import dumps, key_order, string_hash

# (keys in the order hsm_status_report sets them, the order the simulator sent them)
OBSERVED = {
    "inactive": (["active", "policy_available", "users", "wallets", "chain"],
                 ["policy_available", "chain", "active", "wallets", "users"]),
    "approval_wait": (["active", "policy_available", "approval_wait", "users", "wallets", "chain"],
                      ["policy_available", "wallets", "chain", "active", "approval_wait", "users"]),
    "active": (["active", "chain", "policy_hash", "summary", "last_refusal", "approvals", "refusals",
                "sl_reads", "period", "uptime", "users", "pending_auth"],
               ["sl_reads", "summary", "last_refusal", "approvals", "refusals", "uptime", "chain",
                "pending_auth", "policy_hash", "period", "active", "users"]),
    "local_conf": (["active", "chain", "next_local_code", "policy_hash", "summary", "last_refusal",
                    "approvals", "refusals", "sl_reads", "period", "uptime", "users", "pending_auth"],
                   ["approvals", "policy_hash", "active", "summary", "last_refusal", "refusals",
                    "next_local_code", "users", "pending_auth", "sl_reads", "period", "chain", "uptime"]),
    "priv_over_ux": (["active", "chain", "policy_hash", "last_refusal", "approvals", "refusals"],
                     ["chain", "approvals", "policy_hash", "active", "last_refusal", "refusals"]),
    "priv_over_ux_local_conf": (
        ["active", "chain", "next_local_code", "policy_hash", "last_refusal", "approvals", "refusals"],
        ["chain", "policy_hash", "next_local_code", "active", "last_refusal", "approvals", "refusals"]),
}


@pytest.mark.parametrize("name", list(OBSERVED))
def test_keys_come_in_the_order_the_simulator_sends_them(name):
    inserted, sent = OBSERVED[name]
    assert key_order(inserted) == sent


def test_string_hash_is_micropythons():
    # hash('active') etc. as the simulator's EVAL answers them
    assert [string_hash(k) for k in ["active", "policy_available", "users", "wallets", "chain"]] == [
        60009, 23459, 7079, 19377, 49128]


def test_dumps_keeps_values_and_uses_the_default_separators():
    status = {"active": False, "policy_available": True, "users": ["a"], "wallets": [], "chain": "XTN"}
    text = dumps(status)
    assert json.loads(text) == status
    assert text == '{"policy_available": true, "chain": "XTN", "active": false, "wallets": [], "users": ["a"]}'
