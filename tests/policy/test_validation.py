"""A policy is validated before anything is sent, with the firmware's words (the HSM
engine's texts), plus the coordinator's own check: whitelist addresses of our network."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.coldcard.hsm import HsmPolicy, HsmPolicyError, texts
from backends.errors import CustodyError
from backends.policy import (
    NotTwoTier,
    PolicyFileError,
    TwoTierPolicy,
    WrongNetworkAddress,
    check_policy,
    field_changes,
    from_form,
    masked,
    parse_policy,
    policy_hash,
    read_policy_file,
    to_form,
)
from tests.outside import mutations, nestings, odd_text

SINK = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
MAINNET = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
WALLET = "quorum23"


def two_tier(**changes) -> dict:
    policy = {"period": 60, "msg_paths": ["m/84h/1h/0h/0/0"], "notes": "treasury",
              "rules": [{"wallet": WALLET, "max_amount": 1_000_000, "per_period": 5_000_000, "whitelist": [SINK]},
                        {"wallet": WALLET, "max_amount": 20_000_000, "per_period": 50_000_000, "whitelist": [SINK],
                         "users": ["owner"], "min_users": 1}]}
    policy.update(changes)
    return policy


def rule(**fields) -> dict:
    return two_tier(rules=[{"wallet": WALLET, **fields}])


# (the bad policy, the firmware's text for it), each text from the engine's table
BAD_POLICIES = [
    (two_tier(period=0), texts.INT_RANGE.format(field="period", low=1, high=4320)),
    (two_tier(period="1h"), texts.MPY_INT_SYNTAX),
    (two_tier(period=None), texts.NEEDS_PERIOD),
    (two_tier(notes="x" * 81), texts.STRING_LENGTH.format(field="notes", low=1, high=80)),
    (two_tier(must_log=True, never_log=True), texts.LOG_CONFLICT),
    (two_tier(msg_paths="m/84h"), texts.NEED_LIST.format(field="msg_paths")),
    (two_tier(msg_paths=["m/84x"]), texts.INVALID_PATH.format(field="msg_paths", path="m/84x")),
    (two_tier(boot_to_hsm="1234567"), texts.STRING_LENGTH.format(field="boot_to_hsm", low=1, high=6)),
    (two_tier(set_sl="short", allow_sl=1), texts.STRING_LENGTH.format(field="set_sl", low=16, high=414)),
    (two_tier(set_sl="x" * 16), texts.NEED_ALLOW_SL),
    (two_tier(colour="red"), texts.UNKNOWN_ITEM.format(items="colour")),
    (rule(max_amount=-1), texts.INT_RANGE.format(field="max_amount", low=0, high=2_100_000_000_000_000)),
    (rule(max_amount=1.5), texts.MUST_BE_INTEGER.format(field="max_amount")),
    (rule(whitelist=["not-an-address"]), texts.BAD_ADDRESS.format(address="not-an-address")),
    (rule(whitelist_opts={"mode": "BASIC"}), texts.WHITELIST_OPTS_ALONE),
    (rule(users=["owner", "owner"]), texts.DUP_USERS),
    (rule(min_users=1), texts.CANNOT_BE_SPECIFIED.format(field="min_users")),
    (rule(users=["owner"], min_users=2), texts.INT_RANGE.format(field="min_users", low=1, high=1)),
    (rule(patterns=["EQ_EVERYTHING"]), texts.UNKNOWN_PATTERN.format(pattern="EQ_EVERYTHING")),
    (two_tier(rules=[{"wallet": "other"}]), texts.UNKNOWN_MS_WALLET.format(name="other")),
    (two_tier(rules=[{"wallet": WALLET, "speed": 1}]), texts.UNKNOWN_ITEM.format(items="speed")),
]


@pytest.mark.parametrize(("policy", "text"), BAD_POLICIES, ids=[t for _, t in BAD_POLICIES])
def test_a_bad_policy_is_refused_with_the_firmware_s_words(policy, text):
    with pytest.raises(HsmPolicyError) as caught:
        check_policy(policy, network="regtest", wallets=[WALLET])
    assert caught.value.reason == text
    assert str(caught.value).startswith("HSM Policy invalid: ")
    with pytest.raises(HsmPolicyError) as from_file:  # the same words from a file's bytes
        parse_policy(json.dumps(policy).encode(), network="regtest", wallets=[WALLET])
    assert from_file.value.reason == text


def test_a_file_that_is_not_json_gets_the_device_s_parse_failure():
    with pytest.raises(HsmPolicyError) as caught:
        parse_policy(b'{"rules": [', network="regtest")
    assert caught.value.reason == texts.JSON_PARSE_FAIL


def test_a_whitelist_address_of_another_network_is_refused_naming_the_rule():
    policy = rule(whitelist=[SINK, MAINNET])
    HsmPolicy.from_json(policy)  # a Coldcard would take it: the network is ours to check
    with pytest.raises(WrongNetworkAddress, match=r"rule #1 whitelist: .*"):
        check_policy(policy, network="regtest")
    assert check_policy(rule(whitelist=[MAINNET]), network="main").rules[0].whitelist == [MAINNET]


def test_a_valid_policy_has_the_hash_the_device_would_report():
    policy = parse_policy(json.dumps(two_tier()), network="regtest", wallets=[WALLET])
    assert policy_hash(policy) == HsmPolicy.from_json(two_tier()).hash()
    assert policy_hash(two_tier(notes="other")) != policy_hash(policy)


def test_a_non_ascii_policy_is_refused_before_it_could_blind_the_status_read():
    with pytest.raises(PolicyFileError, match="non-ASCII"):
        check_policy(two_tier(notes="trésor"), network="regtest")


def test_a_policy_file_too_large_is_refused_unread(tmp_path):
    path = tmp_path / "big.json"
    path.write_bytes(b" " * (64 * 1024 + 1))
    with pytest.raises(PolicyFileError, match="larger than 64 KiB"):
        read_policy_file(path)
    with pytest.raises(PolicyFileError, match="cannot read"):
        read_policy_file(tmp_path / "missing.json")


def test_the_two_tiers_map_onto_hsm_rules_and_back():
    tiers = TwoTierPolicy.from_policy(two_tier(warnings_ok=True))
    assert (tiers.automated.max_amount_sat, tiers.automated.per_period_sat) == (1_000_000, 5_000_000)
    assert tiers.surge.users == ("owner",) and tiers.surge.max_amount_sat == 20_000_000
    assert tiers.whitelist == (SINK,) and tiers.period_minutes == 60
    assert policy_hash(tiers.to_policy()) == policy_hash(two_tier(warnings_ok=True))
    assert policy_hash(from_form(to_form(tiers), tiers)) == policy_hash(two_tier(warnings_ok=True))


@pytest.mark.parametrize(("policy", "why"), [
    (two_tier(rules=[]), "0 rules"),
    (rule(local_conf=True), "local_conf"),
    (two_tier(rules=[{"wallet": WALLET, "users": ["owner"]}]), "automated tier needs none"),
    (two_tier(rules=[{"wallet": WALLET}, {"wallet": WALLET, "max_amount": 5}]), "surge tier is gated"),
])
def test_a_policy_of_another_shape_is_not_edited_as_tiers(policy, why):
    with pytest.raises(NotTwoTier, match=why):
        TwoTierPolicy.from_policy(policy)


def test_the_form_typed_with_letters_is_refused_in_the_firmware_s_words():
    tiers = TwoTierPolicy.from_policy(two_tier())
    form = to_form(tiers) | {"auto_max": "lots"}
    with pytest.raises(HsmPolicyError) as caught:
        check_policy(from_form(form, tiers), network="regtest")
    assert caught.value.reason == texts.MPY_INT_SYNTAX
    form = to_form(tiers) | {"whitelist": f"{SINK}, {MAINNET}"}
    with pytest.raises(WrongNetworkAddress):
        check_policy(from_form(form, tiers), network="regtest")


def test_a_diff_names_each_field_that_changes_and_hides_codes():
    new = two_tier(period=120, boot_to_hsm="123456")
    new["rules"][0]["max_amount"] = 2_000_000
    new["rules"][0]["whitelist"] = [SINK, "bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85"]
    texts_ = [c.text() for c in field_changes(two_tier(), new)]
    assert "period: 60 -> 120" in texts_
    assert "boot_to_hsm: changed" in texts_ and not any("123456" in t for t in texts_)
    assert "rules[1].max_amount: 1000000 -> 2000000" in texts_
    assert any(t.startswith("rules[1].whitelist: +bcrt1qft5p") for t in texts_)
    assert field_changes(two_tier(), two_tier()) == []
    assert masked(new)["boot_to_hsm"] == "…" and masked(new)["period"] == 120
    assert [c.field for c in field_changes(two_tier(), two_tier(rules=two_tier()["rules"][:1]))] == ["rules[2]"]


@given(st.binary(max_size=300) | mutations(json.dumps(two_tier()).encode()) | nestings("[", "]").map(str.encode)
       | odd_text.map(lambda t: json.dumps(two_tier(notes=t)).encode("utf-8", "surrogatepass")))
def test_any_policy_file_is_taken_or_refused_with_a_typed_error(data):
    try:
        policy = parse_policy(data, network="regtest", wallets=[WALLET])
    except CustodyError as exc:
        assert "Traceback" not in str(exc)
        return
    assert isinstance(policy, dict) and len(policy_hash(policy)) == 64


FORM_NAMES = ["period", "auto_max", "auto_velocity", "surge_max", "surge_velocity", "surge_users",
              "surge_min_users", "whitelist", "msg_paths", "share_xpubs", "share_addrs", "notes"]


@given(st.sampled_from(FORM_NAMES), odd_text | st.sampled_from(["²", "1" * 5000, "-1", "1e3", SINK.upper(), "m/1'/*"]))
def test_whatever_is_typed_in_the_editor_is_taken_or_refused_with_a_typed_error(name, typed):
    tiers = TwoTierPolicy.from_policy(two_tier())
    try:
        checked = check_policy(from_form(to_form(tiers) | {name: typed}, tiers), network="regtest", wallets=[WALLET])
    except CustodyError as exc:
        assert str(exc)
        return
    assert len(checked.hash()) == 64
