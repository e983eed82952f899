"""Operator-signed admin requests: the right key signs, stale and replayed requests are refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.keystore import EntryKind
from backends.mint.errors import OperatorAuthError
from backends.mint.operators import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_request
from backends.mint.service import Mint
from tests.mint.racing import race

NOW = 1_800_000_000
BODY = b'{"batch_id": "abc"}'
PATH = "/redemptions/approve_broadcast"


@pytest.fixture
def mint(tmp_path, keystore):
    opened = Mint(tmp_path / "data", keystore, clock=lambda: NOW)
    yield opened
    opened.close()


@pytest.fixture
def secret(mint):
    return mint.create_operator_key("op-alice")


def _headers(secret, *, key_id="op-alice", method="POST", path=PATH, body=BODY, at=NOW):
    return {KEY_HEADER: key_id, **sign_request(secret, method, path, body, at)}


def test_a_signed_request_names_its_operator_and_its_key_lives_in_the_keystore(mint, secret, keystore):
    assert mint.authenticate("POST", PATH, BODY, _headers(secret)) == "op-alice"
    entry = keystore.entry("mint-operator-op-alice")
    assert entry.kind is EntryKind.HMAC and entry.public["mint_operator"] == "op-alice"


def test_a_replayed_request_is_refused(mint, secret):
    headers = _headers(secret)
    mint.authenticate("POST", PATH, BODY, headers)
    with pytest.raises(OperatorAuthError, match="replay"):
        mint.authenticate("POST", PATH, BODY, headers)


@pytest.mark.parametrize("skew", [-301, 301, -10_000])
def test_a_stale_or_future_timestamp_is_refused(mint, secret, skew):
    with pytest.raises(OperatorAuthError, match="from the mint's clock"):
        mint.authenticate("POST", PATH, BODY, _headers(secret, at=NOW + skew))


def test_a_request_within_the_window_is_accepted(mint, secret):
    assert mint.authenticate("POST", PATH, BODY, _headers(secret, at=NOW - 299)) == "op-alice"


@pytest.mark.parametrize("change", ["body", "path", "method", "key"])
def test_a_signature_over_anything_else_is_refused(mint, secret, change):
    other = mint.create_operator_key("op-bob")
    headers = _headers(other if change == "key" else secret)
    body, path, method = BODY, PATH, "POST"
    if change == "body":
        body = b'{"batch_id": "abd"}'
    elif change == "path":
        path = "/reserves/consolidate"
    elif change == "method":
        method = "GET"
    with pytest.raises(OperatorAuthError, match="does not match") as err:
        mint.authenticate(method, path, body, headers)
    assert secret.hex() not in str(err.value) and other.hex() not in str(err.value)


def test_unknown_keys_and_missing_headers_are_refused(mint, secret):
    with pytest.raises(OperatorAuthError, match="no operator key 'op-eve'"):
        mint.authenticate("POST", PATH, BODY, _headers(secret, key_id="op-eve"))
    with pytest.raises(OperatorAuthError, match=SIGNATURE_HEADER):
        mint.authenticate("POST", PATH, BODY, {KEY_HEADER: "op-alice", TIMESTAMP_HEADER: str(NOW)})


def test_two_identical_requests_racing_are_accepted_once(mint, secret, keystore):
    headers = _headers(secret)
    mints = [Mint(mint.ledger.path.parent, keystore, clock=lambda: NOW) for _ in range(4)]
    outcomes = race(mints, lambda other: other.authenticate("POST", PATH, BODY, headers), OperatorAuthError)
    assert outcomes == ["ok"] + ["refused"] * 3


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(
    st.sampled_from([KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, "x-finalis-operator-key", "Other"]),
    st.one_of(st.text(max_size=80), st.integers(), st.none()),
))
def test_malformed_headers_are_typed_refusals(mint, secret, headers):
    with pytest.raises(OperatorAuthError):
        mint.authenticate("POST", PATH, BODY, headers)
