"""Token rules without a relay: pairing, binding, every-request checks, operator actions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.bunker.errors import InvalidPermission, InvalidTokenRequest, TokenNotFound
from backends.bunker.nostr import SecretKey
from backends.bunker.tokens import TokenStore, parse_lifetime

from ..outside import huge_numbers, odd_text, refused_or_parsed, within

SIGNER = SecretKey.generate().public_hex
ATM = SecretKey.generate().public_hex
THIEF = SecretKey.generate().public_hex
RELAYS = ("ws://127.0.0.1:1",)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> TokenStore:
    store = TokenStore(tmp_path / "bunker.sqlite3", clock)
    yield store
    store.close()


def _create(store: TokenStore, **overrides):
    args = dict(key_label="fleet", signer_pubkey=SIGNER, client_name="atm-1",
                permissions="sign_event:21000", lifetime_seconds=30 * 86400, relays=RELAYS)
    args.update(overrides)
    return store.create(**args)


def test_first_device_binds_and_a_second_device_with_the_same_secret_is_refused(store) -> None:
    token, url = _create(store)
    assert len(url.secret) == 64 and url.secret not in repr(url)
    assert store.connect(SIGNER, ATM, url.secret).reason == "paired"
    refused = store.connect(SIGNER, THIEF, url.secret)
    assert not refused.allowed
    assert store.authorize(SIGNER, THIEF, "sign_event", 21000).allowed is False
    # the bound ATM reboots and connects again with the same URL: still paired
    assert store.connect(SIGNER, ATM, url.secret).reason == "reconnected"
    assert store.token(token.id).client_pubkey == ATM


def test_scope_is_checked_per_kind(store) -> None:
    _, url = _create(store)
    store.connect(SIGNER, ATM, url.secret)
    assert store.authorize(SIGNER, ATM, "sign_event", 21000).allowed
    decision = store.authorize(SIGNER, ATM, "sign_event", 1)
    assert not decision.allowed and "kind 1" in decision.reason
    assert not store.authorize(SIGNER, ATM, "nip44_decrypt").allowed
    assert store.authorize(SIGNER, ATM, "ping").allowed


def test_expiry_is_checked_on_every_request_not_only_at_pairing(store, clock) -> None:
    token, url = _create(store, lifetime_seconds=3600)
    store.connect(SIGNER, ATM, url.secret)
    assert store.authorize(SIGNER, ATM, "sign_event", 21000).allowed
    clock.now += 3600
    assert store.authorize(SIGNER, ATM, "sign_event", 21000).reason == "this token has expired"
    assert store.token(token.id).state(store.now()) == "expired"


def test_use_count_is_enforced(store) -> None:
    token, url = _create(store, max_uses=2)
    store.connect(SIGNER, ATM, url.secret)
    assert [store.authorize(SIGNER, ATM, "sign_event", 21000).allowed for _ in range(3)] == [True, True, False]
    assert store.token(token.id).state(store.now()) == "used up"


def test_revoke_before_and_after_pairing(store) -> None:
    unpaired, url1 = _create(store)
    store.revoke(unpaired.id)
    assert not store.connect(SIGNER, ATM, url1.secret).allowed
    paired, url2 = _create(store, client_name="atm-2")
    store.connect(SIGNER, THIEF, url2.secret)
    store.revoke(paired.id)
    assert store.authorize(SIGNER, THIEF, "sign_event", 21000).reason == "this token was revoked"


def test_reissue_unbinds_the_old_device_and_pairs_a_new_one(store) -> None:
    token, old = _create(store)
    store.connect(SIGNER, THIEF, old.secret)
    store.revoke(token.id)
    info, new = store.reissue(token.id)
    assert info.state(store.now()) == "unpaired" and new.secret != old.secret
    assert not store.connect(SIGNER, THIEF, old.secret).allowed
    assert not store.authorize(SIGNER, THIEF, "sign_event", 21000).allowed
    assert store.connect(SIGNER, ATM, new.secret).allowed
    assert store.authorize(SIGNER, ATM, "sign_event", 21000).allowed


def test_rotate_moves_the_binding_to_a_new_device_key(store) -> None:
    token, url = _create(store)
    store.connect(SIGNER, ATM, url.secret)
    store.rotate(token.id, THIEF)
    assert not store.authorize(SIGNER, ATM, "sign_event", 21000).allowed
    assert store.authorize(SIGNER, THIEF, "sign_event", 21000).allowed


def test_revoke_all_and_expiry_warnings(store, clock) -> None:
    a, _ = _create(store, lifetime_seconds=86400)
    _create(store, client_name="atm-2")
    assert [t.id for t in store.expiring()] == [a.id]
    assert store.revoke_all() == 2
    assert store.expiring() == []


def test_request_log_records_allowed_and_refused_with_reasons(store) -> None:
    token, url = _create(store)
    store.connect(SIGNER, ATM, url.secret)
    store.authorize(SIGNER, ATM, "sign_event", 21000)
    store.authorize(SIGNER, ATM, "sign_event", 1)
    log = store.request_log(token.id)
    assert [(r.method, r.kind, r.allowed) for r in log] == [
        ("sign_event", 1, False), ("sign_event", 21000, True), ("connect", None, True)]


def test_replayed_event_is_claimed_once(store) -> None:
    assert store.claim_event("ab" * 32) is True
    assert store.claim_event("ab" * 32) is False


def test_state_survives_reopening(tmp_path, clock) -> None:
    store = TokenStore(tmp_path / "t.sqlite3", clock)
    token, url = _create(store)
    store.connect(SIGNER, ATM, url.secret)
    store.close()
    reopened = TokenStore(tmp_path / "t.sqlite3", clock)
    assert reopened.token(token.id).client_pubkey == ATM
    reopened.close()


@pytest.mark.parametrize("overrides, error", [
    ({"permissions": "sign_event:abc"}, InvalidPermission),
    ({"permissions": "delete_everything"}, InvalidPermission),
    ({"permissions": ""}, InvalidPermission),
    ({"client_name": " "}, InvalidTokenRequest),
    ({"lifetime_seconds": 0}, InvalidTokenRequest),
    ({"max_uses": 0}, InvalidTokenRequest),
    ({"max_uses": 10**20}, InvalidTokenRequest),  # more than the store's 64-bit integer
])
def test_bad_token_requests_are_refused_and_store_nothing(store, overrides, error) -> None:
    with pytest.raises(error):
        _create(store, **overrides)
    assert store.tokens() == []
    with pytest.raises(TokenNotFound):
        store.revoke("nope")


@settings(max_examples=150)
@given(st.one_of(
    odd_text,
    huge_numbers.map(lambda n: n + "d"),
    st.tuples(st.integers(0, 10**30), st.sampled_from("mhdwsy")).map(lambda t: f"{t[0]}{t[1]}"),
))
def test_a_lifetime_is_seconds_or_a_typed_refusal(text):
    """The CLI's --expires and the create dialog: 4,300+ digits or '٣d' once raised
    int()'s own ValueError (a traceback)."""
    with within():
        seconds = refused_or_parsed(parse_lifetime, text, InvalidTokenRequest)
    if seconds is not None:
        assert text.strip()[:-1].isascii() and seconds == int(text.strip()[:-1]) * {
            "m": 60, "h": 3600, "d": 86400, "w": 604800}[text.strip()[-1]]


def test_the_request_log_is_bounded_against_a_flood_of_strangers(store, monkeypatch) -> None:
    """Anyone can publish requests to the bunker's key; each refused one was a row kept
    forever (a disk-filling flood on a public relay). Strangers' rows keep the newest
    STRANGER_LOG_ROWS, all rows the newest REQUEST_LOG_ROWS; a paired device's recent log
    stays whole."""
    import backends.bunker.tokens as tokens

    monkeypatch.setattr(tokens, "STRANGER_LOG_ROWS", 20)
    monkeypatch.setattr(tokens, "REQUEST_LOG_ROWS", 60)
    monkeypatch.setattr(tokens, "PRUNE_EVERY", 10)
    token, url = _create(store)
    store.connect(SIGNER, ATM, url.secret)
    for n in range(300):
        store.claim_event(f"{n:064x}")  # every request is claimed first; that prunes
        assert not store.connect(SIGNER, SecretKey.generate().public_hex, None).allowed  # strangers
        store.log_stranger(THIEF, "admin:get_keys", "not an admin key")
        if n % 10 == 0:
            store.authorize(SIGNER, ATM, "sign_event", 21000)
    assert len(store.stranger_log(limit=10_000)) <= 20 + 2 * 10  # at most PRUNE_EVERY requests' worth above
    store.prune()
    strangers = store.stranger_log(limit=10_000)
    assert len(strangers) <= 20 and strangers[0].method == "admin:get_keys"  # the newest kept
    assert len(store.request_log(token.id, limit=10_000)) == 1 + 30
    total = store._db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    assert total <= 60
