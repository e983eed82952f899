"""Policy validation with the device's texts, normalisation, hash and approval story."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict

import pytest

from backends.coldcard.hsm import HsmPolicy, HsmPolicyError, explain
from backends.errors import CustodyError

USERS = ["totp", "hotp", "pw"]
WALLETS = ["ckms23"]


def parse(policy):
    return HsmPolicy.from_json(policy, users=USERS, wallets=WALLETS)


INVALID = [
    ({"must_log": 1, "never_log": 1}, "HSM Policy invalid: hsm.py:484: log conflict"),
    ({"rules": "x"}, "HSM Policy invalid: hsm.py:84: need a list for: rules"),
    ({"rules": {"max_amount": 1}}, "HSM Policy invalid: hsm.py:84: need a list for: rules"),
    ({"msg_paths": "any"}, "HSM Policy invalid: hsm.py:84: need a list for: msg_paths"),
    ({"msg_paths": ["m/q"]}, "HSM Policy invalid: hsm.py:101: msg_paths: invalid path (m/q)"),
    ({"share_xpubs": ["m/*/1"]}, "HSM Policy invalid: hsm.py:101: share_xpubs: invalid path (m/*/1)"),
    ({"share_xpubs": ["p2sh"]}, "HSM Policy invalid: hsm.py:101: share_xpubs: invalid path (p2sh)"),
    ({"period": 0}, "HSM Policy invalid: hsm.py:112: period: must be in range: [1..4320]"),
    ({"period": 4321}, "HSM Policy invalid: hsm.py:112: period: must be in range: [1..4320]"),
    ({"period": 1.5}, "HSM Policy invalid: hsm.py:109: period: must be integer"),
    ({"period": "5"}, "HSM Policy invalid: hsm.py:109: period: must be integer"),
    ({"allow_sl": 101}, "HSM Policy invalid: hsm.py:112: allow_sl: must be in range: [1..100]"),
    ({"notes": ""}, "HSM Policy invalid: hsm.py:132: notes: length must be 1..80"),
    ({"notes": "x" * 81}, "HSM Policy invalid: hsm.py:132: notes: length must be 1..80"),
    ({"notes": 5}, "HSM Policy invalid: hsm.py:131: notes: must be string"),
    ({"set_sl": "a" * 15, "allow_sl": 1}, "HSM Policy invalid: hsm.py:132: set_sl: length must be 16..414"),
    ({"set_sl": "a" * 16}, "HSM Policy invalid: hsm.py:506: need allow_sl>=1"),
    ({"boot_to_hsm": "1234567"}, "HSM Policy invalid: hsm.py:132: boot_to_hsm: length must be 1..6"),
    ({"rules": [{"per_period": 1000}]}, "HSM Policy invalid: hsm.py:517: Needs period to be specified"),
    ({"rules": [{"per_period": 0}]}, "HSM Policy invalid: hsm.py:517: Needs period to be specified"),
    ({"rules": [{"max_amount": -1}]},
     "HSM Policy invalid: hsm.py:112: max_amount: must be in range: [0..2100000000000000]"),
    ({"rules": [{"max_amount": 2.1e15 + 1}]},
     "HSM Policy invalid: hsm.py:112: max_amount: must be in range: [0..2100000000000000]"),
    ({"rules": [{"users": ["nobody"]}]}, "HSM Policy invalid: hsm.py:195: Unknown user: nobody"),
    ({"rules": [{"users": ["totp", "totp"]}]}, "HSM Policy invalid: hsm.py:210: dup users"),
    ({"rules": [{"users": USERS, "min_users": 0}]},
     "HSM Policy invalid: hsm.py:112: min_users: must be in range: [1..3]"),
    ({"rules": [{"users": USERS, "min_users": 7}]},
     "HSM Policy invalid: hsm.py:112: min_users: must be in range: [1..3]"),
    ({"rules": [{"min_users": 1}]}, "HSM Policy invalid: hsm.py:111: min_users: cannot be specified"),
    ({"rules": [{"whitelist": ["1ByzQTr5TCkMW9RH1fkD7QtnMbErffDeUa"]}]},
     "HSM Policy invalid: utils.py:719: bad address value: 1ByzQTr5TCkMW9RH1fkD7QtnMbErffDeUa"),
    ({"rules": [{"whitelist_opts": {"mode": "BASIC"}}]},
     "HSM Policy invalid: hsm.py:214: whitelist options present with no whitelist"),
    ({"rules": [{"whitelist": ["1ByzQTr5TCkMW9RH1fkD7QtnMbErffDeUo"], "whitelist_opts": {"mode": "nope"}}]},
     "HSM Policy invalid: hsm.py:157: invalid whitelist mode: NOPE"),
    ({"rules": [{"whitelist": ["1ByzQTr5TCkMW9RH1fkD7QtnMbErffDeUo"], "whitelist_opts": []}]},
     "HSM Policy invalid: hsm.py:141: whitelist_opts: must be dict"),
    ({"rules": [{"wallet": "other"}]}, "HSM Policy invalid: hsm.py:226: unknown MS wallet: other"),
    ({"rules": [{"wallet": ""}]}, "HSM Policy invalid: hsm.py:132: wallet: length must be 1..20"),
    ({"rules": [{"patterns": ["EQ_FOO"]}]}, "HSM Policy invalid: hsm.py:230: unknown pattern: EQ_FOO"),
    ({"rules": [{"min_pct_self_transfer": 101}]},
     "HSM Policy invalid: hsm.py:121: min_pct_self_transfer: must be in range: [0..100]"),
    ({"rules": [{"max_amount": 5, "bogus": 1}]}, "HSM Policy invalid: hsm.py:150: Unknown item: bogus"),
    ({"nonsense": 1, "junk": 2}, "HSM Policy invalid: hsm.py:150: Unknown item: nonsense, junk"),
]


@pytest.mark.parametrize(("policy", "text"), INVALID, ids=[t.split(": ", 2)[2] for _, t in INVALID])
def test_invalid_policy_is_refused_with_the_device_text(policy, text):
    with pytest.raises(HsmPolicyError) as err:
        parse(policy)
    assert str(err.value) == text
    assert isinstance(err.value, CustodyError)


def test_unparseable_upload_reports_json_parse_fail():
    with pytest.raises(HsmPolicyError) as err:
        HsmPolicy.from_text(b"{not json")
    assert str(err.value) == "HSM Policy invalid: hsm_ux.py:112: JSON parse fail"


def test_checks_run_in_the_device_order():
    # the first failing field in pop order wins: must_log/never_log before rules
    with pytest.raises(HsmPolicyError, match="log conflict"):
        parse({"rules": "x", "must_log": True, "never_log": True})
    # users are checked while popped, before the whitelist of the same rule
    with pytest.raises(HsmPolicyError, match="Unknown user"):
        parse({"rules": [{"whitelist": ["junk"], "users": ["ghost"]}]})


def test_an_empty_rules_object_is_falsy_and_means_no_rules():
    assert parse({"rules": {}}).rules == []


def test_null_means_absent_and_booleans_take_0_1():
    p = parse({"period": None, "must_log": 1, "warnings_ok": 0, "rules": [{"local_conf": 1}]})
    assert p.period is None and p.must_log and not p.warnings_ok and p.rules[0].local_conf


def test_float_integers_are_accepted():
    assert parse({"rules": [{"max_amount": 1e8}]}).rules[0].max_amount == 100_000_000


def test_offline_validation_skips_user_and_wallet_existence():
    p = HsmPolicy.from_json({"rules": [{"users": ["ghost"], "wallet": "w"}]})
    assert p.rules[0].users == ["ghost"]


def test_normalised_policy_is_what_the_device_saves():
    p = parse({
        "period": 60, "msg_paths": ["m/1'/2p/3H", "ANY"], "share_addrs": ["P2SH"],
        "warnings_ok": False, "notes": "hi",
        "rules": [
            {"users": ["pw", "totp"], "max_amount": 0, "whitelist": ["TB1Q0PU8S7RC0PU8S7RC0PU8S7RC0PU8S7RCLGLV65"]},
            {"per_period": 5, "wallet": "1", "whitelist": ["mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"],
             "whitelist_opts": {"allow_zeroval_outs": True, "ignored": 1}},
        ],
    })  # fmt: skip
    assert p.to_json() == {
        "msg_paths": ["m/1h/2h/3h", "any"],
        "share_addrs": ["p2sh"],
        "notes": "hi",
        "period": 60,
        "rules": [
            # a limit of 0 is falsy, so the device drops it
            {"users": ["pw", "totp"], "min_users": 2,
             "whitelist": ["tb1q0pu8s7rc0pu8s7rc0pu8s7rc0pu8s7rclglv65"]},
            {"per_period": 5, "wallet": "1", "whitelist": ["mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"],
             "whitelist_opts": {"mode": "BASIC", "allow_zeroval_outs": True}},
        ],
    }  # fmt: skip
    assert list(p.to_json()) == ["msg_paths", "share_addrs", "notes", "period", "rules"]


def upstream_policy_hash(policy: dict) -> str:
    """The canonical hash as the firmware's test suite recomputes it (key order, truthy)."""
    top = ["must_log", "never_log", "msg_paths", "share_xpubs", "share_addrs", "notes",
           "period", "allow_sl", "warnings_ok", "boot_to_hsm", "priv_over_ux"]  # fmt: skip
    canonical = OrderedDict((k, policy[k]) for k in top if policy.get(k))
    canonical["rules"] = []
    for rule in policy.get("rules", []):
        rule = dict(rule)
        if rule.get("users") and rule.get("min_users") is None:
            rule["min_users"] = len(rule["users"])
        order = ["per_period", "max_amount", "users", "min_users", "local_conf", "whitelist",
                 "wallet", "min_pct_self_transfer", "patterns"]  # fmt: skip
        out = OrderedDict((k, rule[k]) for k in order if rule.get(k))
        if rule.get("whitelist_opts"):
            out["whitelist_opts"] = {"mode": rule["whitelist_opts"].get("mode", "BASIC")}
        canonical["rules"].append(out)
    if policy.get("set_sl"):
        canonical["sl_hash"] = hashlib.sha256(policy["set_sl"].encode() + b"pepper").hexdigest()
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()


@pytest.mark.parametrize(
    "policy",
    [
        {},
        {"rules": [{}]},
        {"period": 30, "must_log": True, "msg_paths": ["m/1h/2"], "rules": [
            {"per_period": 10000, "max_amount": 5000, "users": ["totp"], "local_conf": True,
             "whitelist": ["mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"], "wallet": "1"}]},
        {"set_sl": "abcd" * 4, "allow_sl": 2, "boot_to_hsm": "123123", "priv_over_ux": True},
        {"rules": [{"whitelist": ["mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"],
                    "whitelist_opts": {"mode": "ATTEST"}}, {"min_pct_self_transfer": 50.0}]},
    ],
    ids=["empty", "sign-anything", "full-rule", "storage-locker", "attest"],
)
def test_policy_hash_matches_the_upstream_recomputation(policy):
    assert parse(policy).hash() == upstream_policy_hash(policy)


STORIES = [
    ({}, "No transaction will be signed"),
    ({"must_log": 1}, "MicroSD card MUST "),
    ({"never_log": 1}, "No logging"),
    ({"warnings_ok": 1}, "PSBT warnings"),
    ({"priv_over_ux": 1}, "optimized for privacy"),
    ({"boot_to_hsm": "123123"}, "Boot to HSM enabled"),
    ({"msg_paths": ["m/1", "m/2"]}, "m/1 OR m/2"),
    ({"msg_paths": ["any"]}, "(any path)"),
    ({"share_addrs": ["p2sh", "any"]}, "(any P2SH) OR (any path)"),
    ({"share_xpubs": ["m/1"]}, "XPUB values will be shared, if path matches: m OR m/1"),
    ({"period": 2}, "2 minutes"),
    ({"period": 60}, "1 hrs"),
    ({"period": 3 * 24 * 60}, "72 hrs"),
    ({"allow_sl": 1}, "Storage Locker can be read only once"),
    ({"allow_sl": 10}, "10 times"),
    ({"set_sl": "abcd" * 4, "allow_sl": 1}, "Locker will be updated"),
    ({"period": 60, "rules": [{"per_period": 1000}]}, "0.00001 XTN per period"),
    ({"period": 60, "rules": [{"per_period": 1000, "max_amount": 2000}]}, "and up to 0.00002 XTN per txn"),
    ({"rules": [{"max_amount": 100_000_000}]}, "Up to 1 XTN per txn will be approved"),
    ({"rules": [{}]}, "Any amount will be approved"),
    ({"rules": [{"wallet": "1"}]}, "(non multisig)"),
    ({"rules": [{"wallet": "ckms23"}]}, 'Any amount from multisig wallet "ckms23"'),
    ({"rules": [{"users": USERS}]}, "Any amount may be authorized by all users: totp, hotp, pw"),
    ({"rules": [{"users": USERS, "min_users": 1}]}, "any one user: totp OR hotp OR pw"),
    ({"rules": [{"users": USERS, "min_users": 2}]}, "at least 2 users"),
    ({"rules": [{"users": ["pw"]}]}, "may be authorized by user: pw"),
    ({"rules": [{"local_conf": True}]}, "if local user confirms"),
    ({"rules": [{"min_pct_self_transfer": 50.0}]}, "if self-transfer percentage is at least 50.00"),
    ({"rules": [{"patterns": ["EQ_OUT_AMOUNTS"]}]}, "all outputs must have equal amounts; "),
    ({"rules": [{"local_conf": True}, {"max_amount": 1e8}]}, "Rule #2"),
]


@pytest.mark.parametrize(("policy", "contains"), STORIES, ids=[c for _, c in STORIES])
def test_approval_story_explains_the_policy(policy, contains):
    story = explain(parse(policy), "XTN")
    assert contains in story
    assert "Transactions:\n" in story and "Message signing:\n" in story and "Other policy:\n" in story
