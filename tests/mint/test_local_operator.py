"""Admin requests signed at the operator's console: the same signature scheme as the HTTP
API, verified by the mint, so a replay or an unknown key is refused the same way."""

from __future__ import annotations

import pytest

from backends.mint.errors import OperatorAuthError
from backends.mint.local_operator import operator_key_ids, request_body, sign_as_operator
from backends.mint.operators import KEY_HEADER, sign_request
from backends.mint.service import Mint

NOW = 1_800_000_000
PATH = "/redemptions/approve_broadcast"


@pytest.fixture
def mint(tmp_path, keystore):
    opened = Mint(tmp_path / "data", keystore, clock=lambda: NOW)
    yield opened
    opened.close()


def test_the_console_signs_what_the_http_api_would_verify(mint, keystore):
    secret = mint.create_operator_key("op-alice")
    keystore.add_secret("not-an-operator", "hmac", bytes(32), public={"mint_operator": "op-mallory"})
    assert operator_key_ids(keystore) == ["op-alice"]  # an entry claiming another label is not one
    assert sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b1"}, now=NOW) == "op-alice"
    # the body it signed is the JSON body an HTTP client sends: the same request over HTTP replays it
    body = request_body({"batch_id": "b1"})
    headers = {KEY_HEADER: "op-alice", **sign_request(secret, "POST", PATH, body, NOW)}
    with pytest.raises(OperatorAuthError, match="replay"):
        mint.authenticate("POST", PATH, body, headers)


def test_the_same_action_twice_in_one_second_is_a_replay(mint, keystore):
    mint.create_operator_key("op-alice")
    sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b1"}, now=NOW)
    with pytest.raises(OperatorAuthError, match="replay"):
        sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b1"}, now=NOW)
    # another action, or a second later, is a new request
    assert sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {"batch_id": "b2"}, now=NOW) == "op-alice"


def test_a_key_this_keystore_does_not_hold_is_refused_with_what_to_do(mint, keystore):
    with pytest.raises(OperatorAuthError) as refused:
        sign_as_operator(mint, keystore, "op-bob", "POST", PATH, {}, now=NOW)
    assert "mint operator create" in refused.value.hint


def test_a_console_clock_far_from_the_mints_is_stale(mint, keystore):
    mint.create_operator_key("op-alice")
    with pytest.raises(OperatorAuthError, match="from the mint's clock"):
        sign_as_operator(mint, keystore, "op-alice", "POST", PATH, {}, now=NOW - 3600)
