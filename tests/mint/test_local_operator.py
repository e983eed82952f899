"""Admin requests signed at the operator's console: the same signature scheme as the HTTP
API, verified by the mint, so a replay or an unknown key is refused the same way."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.mint.errors import OperatorAuthError
from backends.mint.local_operator import operator_key_ids, run_as_operator, sign_as_operator
from backends.mint.operators import KEY_HEADER, SIGNATURE_HEADER, sign_request, verify_recorded
from backends.mint.service import Mint

NOW = 1_800_000_000
PATH = "/redemptions/approve_broadcast"


@pytest.fixture
def mint(tmp_path, keystore):
    opened = Mint(tmp_path / "data", keystore, clock=lambda: NOW)
    yield opened
    opened.close()


def _audited(log):
    import contextlib

    @contextlib.contextmanager
    def audited(area, action, **details):
        result = {}
        yield result
        log.append({**details, **result})

    return audited


def test_the_console_signs_what_the_http_api_would_verify_and_a_replay_of_it_is_refused(mint, keystore):
    secret = mint.create_operator_key("op-alice")
    keystore.add_secret("not-an-operator", "hmac", bytes(32), public={"mint_operator": "op-mallory"})
    assert operator_key_ids(keystore) == ["op-alice"]  # an entry claiming another label is not one
    log = []
    run_as_operator(_audited(log), mint, keystore, "redemption approve", "POST", PATH, {"batch_id": "b1"},
                    lambda operator, result: operator, now=lambda: NOW, via="test")
    [entry] = log
    recorded = entry["signed_request"]
    assert (entry["operator"], recorded["key_id"], recorded["path"]) == ("op-alice", "op-alice", PATH)
    # the body it signed is the JSON body an HTTP client sends (with a nonce the API ignores);
    # the same bytes over HTTP are a replay
    body = recorded["body"].encode()
    assert json.loads(body)["batch_id"] == "b1"
    headers = {KEY_HEADER: "op-alice", **sign_request(secret, "POST", PATH, body, NOW)}
    assert headers[SIGNATURE_HEADER] == recorded["signature"]
    with pytest.raises(OperatorAuthError, match="replay"):
        mint.authenticate("POST", PATH, body, headers)
    assert verify_recorded(keystore, recorded) == "op-alice"


def test_the_same_action_twice_in_one_second_is_two_requests_not_a_replay(mint, keystore):
    mint.create_operator_key("op-alice")
    sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b1"}, now=NOW)
    assert sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b1"}, now=NOW) == "op-alice"


@pytest.mark.parametrize("field, value", [("body", '{"batch_id":"b2"}'), ("path", "/redemptions/update"),
                                          ("timestamp", str(NOW + 1)), ("key_id", "op-bob"),
                                          ("signature", "00" * 32)])
def test_a_recorded_request_altered_in_any_field_fails_to_verify(mint, keystore, field, value):
    mint.create_operator_key("op-alice")
    mint.create_operator_key("op-bob")
    log = []
    run_as_operator(_audited(log), mint, keystore, "redemption approve", "POST", PATH, {"batch_id": "b1"},
                    lambda operator, result: None, now=lambda: NOW, via="test")
    recorded = {**log[0]["signed_request"], field: value}
    with pytest.raises(OperatorAuthError):
        verify_recorded(keystore, recorded)


def test_a_key_this_keystore_does_not_hold_is_refused_with_what_to_do(mint, keystore):
    with pytest.raises(OperatorAuthError) as refused:
        sign_as_operator(mint, keystore, "op-bob", "POST", PATH, {}, now=NOW)
    assert "mint operator create" in refused.value.hint


def test_a_console_clock_far_from_the_mints_is_stale(mint, keystore):
    mint.create_operator_key("op-alice")
    with pytest.raises(OperatorAuthError, match="from the mint's clock"):
        sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {}, now=NOW - 3600)


@given(record=st.one_of(
    st.dictionaries(st.sampled_from(["key_id", "method", "path", "timestamp", "body_sha256", "signature", "body"]),
                    st.one_of(st.text(max_size=70), st.integers(), st.none(), st.just("ab" * 32),
                              st.just("op-alice")), max_size=7),
    st.lists(st.text(max_size=5), max_size=3), st.none()))
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_recorded_request_read_back_is_verified_or_refused_by_name(keystore, record):
    from backends.mint.operators import create_operator_key

    if not operator_key_ids(keystore):
        create_operator_key(keystore, "op-alice")
    with pytest.raises(OperatorAuthError):
        verify_recorded(keystore, record)
