"""Bad input to the HSM policy parser, the user table and the client's status reader
(issue 14's reproductions, then property tests): the device's typed error, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.coldcard.client import _status_reply
from backends.coldcard.errors import DeviceError
from backends.coldcard.hsm import HsmError, HsmPolicy, HsmPolicyError
from backends.coldcard.hsm.users import UserStore

from ...outside import huge_numbers, mutations, nestings, odd_text, refused_or_parsed, snapshot

PARSE_FAIL = "HSM Policy invalid: hsm_ux.py:112: JSON parse fail"
VALID = json.dumps({
    "rules": [{"max_amount": 100000, "per_period": 500000, "users": ["alice"], "min_users": 1,
               "whitelist": ["mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"], "local_conf": False}],
    "period": 60, "msg_paths": ["m/84h/1h/0h/*"], "notes": "treasury", "allow_sl": 1,
    "set_sl": "0123456789abcdef-locker",
}).encode()


def _wrapped(levels: int):
    value: list = []
    for _ in range(levels):
        value = [value]
    return value


def test_deep_nesting_is_a_parse_failure():
    with pytest.raises(HsmPolicyError, match="JSON parse fail"):
        HsmPolicy.from_text(b"[" * 5000)
    with pytest.raises(HsmPolicyError, match="JSON parse fail"):
        HsmPolicy.from_json({"rules": _wrapped(600)})  # copy.deepcopy recursed


def test_a_path_of_4301_digits_is_an_invalid_path():
    with pytest.raises(HsmPolicyError, match="invalid path"):
        HsmPolicy.from_json({"msg_paths": ["m/" + "1" * 4301]})
    with pytest.raises(HsmPolicyError, match="invalid path"):
        HsmPolicy.from_json({"msg_paths": ["m/²"]})


@pytest.mark.parametrize("field", ["notes", "set_sl"])
def test_lone_surrogates_are_refused_before_the_policy_is_hashed(field):
    text = json.dumps({field: "\udc80" + "x" * 20, "allow_sl": 1}).encode()  # the \udc80 escape
    with pytest.raises(HsmPolicyError, match="JSON parse fail"):
        HsmPolicy.from_text(text)
    with pytest.raises(HsmPolicyError, match="JSON parse fail"):
        HsmPolicy.from_json({field: "\udc80" + "x" * 20, "allow_sl": 1})


def test_an_empty_unknown_key_is_named():
    with pytest.raises(HsmPolicyError) as caught:
        HsmPolicy.from_json({"rules": [], "": 1})
    assert str(caught.value).endswith('Unknown item: ""')
    with pytest.raises(HsmPolicyError) as caught:
        HsmPolicy.from_json({"\n": 1, "bogus": 2})
    assert str(caught.value).endswith('Unknown item: "\\n", bogus')


@settings(max_examples=200)
@given(st.binary(max_size=300) | mutations(VALID) | nestings().map(str.encode) | nestings("{\"rules\":", "}").map(str.encode)
       | odd_text.map(lambda t: json.dumps({"notes": t, "msg_paths": [f"m/{t}"]}).encode())
       | huge_numbers.map(lambda n: VALID.replace(b"100000", n.encode()).replace(b"84h", n.encode())))
def test_policy_text_gives_a_policy_or_the_devices_error(data):
    policy = refused_or_parsed(lambda d: HsmPolicy.from_text(d, users=["alice"], wallets=[]), data, HsmPolicyError)
    if policy is not None:
        assert HsmPolicy.from_text(json.dumps(policy.to_json()), users=["alice"]).hash() == policy.hash()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | mutations(b'{"alice": [1, "JBSWY3DPEHPK3PXP", 0]}') | nestings().map(str.encode))
def test_a_damaged_user_table_is_a_typed_error_and_is_left_alone(tmp_path, data):
    (tmp_path / UserStore.FILENAME).write_bytes(data)
    before = snapshot(tmp_path)
    refused_or_parsed(UserStore, tmp_path, HsmError)
    assert snapshot(tmp_path) == before


@settings(max_examples=100)
@given(st.binary(max_size=200) | mutations(b'{"active": true, "approvals": 3, "last_refusal": null}') | nestings().map(str.encode))
def test_a_devices_status_answer_is_a_dict_or_a_device_error(data):
    status = refused_or_parsed(_status_reply, data, DeviceError)
    assert status is None or isinstance(status, dict)


@pytest.mark.parametrize("secret", ["not base32!", "A", "\udc80", "é" * 16])
def test_a_user_table_whose_secret_is_not_base32_is_refused_when_loaded(tmp_path, secret):
    table = {"alice": [1, secret, 0]}
    (tmp_path / UserStore.FILENAME).write_text(json.dumps(table))
    with pytest.raises(HsmError, match="unreadable"):
        UserStore(tmp_path)
