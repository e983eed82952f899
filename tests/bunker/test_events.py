"""NIP-01 events: ids, BIP-340 signatures, and refusal of anything altered."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.bunker.errors import InvalidEvent, InvalidKey
from backends.bunker.nostr import SecretKey, check_pubkey_hex, event_id, parse_event, sign_event


def test_event_id_is_sha256_of_the_canonical_array() -> None:
    # the NIP-01 serialisation keeps non-ASCII as UTF-8 (ensure_ascii=False)
    pubkey = "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    import hashlib

    canonical = '[0,"%s",1,1,[["p","x"]],"é"]' % pubkey
    assert event_id(pubkey, 1, 1, [["p", "x"]], "é") == hashlib.sha256(canonical.encode()).hexdigest()


def test_signed_event_verifies_and_round_trips_through_json() -> None:
    key = SecretKey.generate()
    event = sign_event(key, 21000, "hello", [["p", key.public_hex]], 1_700_000_000)
    assert parse_event(json.loads(json.dumps(event.to_dict()))) == event
    assert "secret" not in repr(key) and key.public_hex in repr(key)


@pytest.mark.parametrize("field", ["content", "kind", "created_at", "sig", "pubkey"])
def test_altered_event_is_refused(field: str) -> None:
    key = SecretKey.generate()
    data = sign_event(key, 1, "x", [], 100).to_dict()
    data[field] = {"content": "y", "kind": 2, "created_at": 101,
                   "sig": "00" * 64, "pubkey": SecretKey.generate().public_hex}[field]
    with pytest.raises(InvalidEvent):
        parse_event(data)


@given(st.dictionaries(st.sampled_from(["id", "pubkey", "created_at", "kind", "tags", "content", "sig"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=130),
                                 st.lists(st.lists(st.text(max_size=3), max_size=2), max_size=2))))
def test_malformed_events_raise_only_invalid_event(data: dict) -> None:
    with pytest.raises(InvalidEvent):
        parse_event(data)


def test_bad_keys_are_refused() -> None:
    with pytest.raises(InvalidKey):
        SecretKey(bytes(32))
    with pytest.raises(InvalidKey):
        check_pubkey_hex("ff" * 32)
    with pytest.raises(InvalidKey):
        check_pubkey_hex("AB" * 32)


@pytest.mark.parametrize("payload", ["", "abc", "YWJj?iv=", "AAAAAAAAAAAAAAAAAAAAAA==?iv=AAAA",
                                     "AAAAAAAAAAAAAAAAAAAAAA==?iv=AAAAAAAAAAAAAAAAAAAAAA=="])
def test_nip04_bad_payloads_are_refused(payload: str) -> None:
    from backends.bunker import nip04
    from backends.bunker.errors import DecryptionFailed

    with pytest.raises(DecryptionFailed):
        nip04.decrypt(payload, bytes(range(32)))


@pytest.mark.parametrize("url", ["ws://127.0.0.1:99999", "ws://[bad"])
def test_a_relay_url_that_cannot_be_opened_is_retried_not_raised(url) -> None:
    """One such URL raised ValueError out of its link, which ended BunkerService.run for
    every relay; now it is a disconnected link that says why."""
    import asyncio

    from backends.bunker.relay import RelayLink

    async def scenario() -> tuple[bool, list[str]]:
        statuses: list[str] = []
        link = RelayLink(url, lambda: [{}], lambda event: None, lambda _, status: statuses.append(status))
        task = asyncio.create_task(link.run())
        await asyncio.sleep(0.3)
        alive = not task.done()
        task.cancel()
        return alive, statuses

    alive, statuses = asyncio.run(scenario())
    assert alive and statuses and statuses[0].startswith("disconnected")
