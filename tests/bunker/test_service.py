"""The bunker end to end over a real relay on loopback, with our NIP-46 client as the ATM."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.bunker.client import BunkerClient
from backends.bunker.errors import RemoteSignerError
from backends.bunker.nostr import SecretKey
from backends.bunker.signer import KIND_ADMIN
from backends.bunker.url import parse_bunker_url


async def test_atm_pairs_and_gets_kind_21000_signed_and_kind_1_refused(bunker) -> None:
    _, url = bunker.token()
    async with BunkerClient(parse_bunker_url(str(url))) as atm:
        assert await atm.connect() == "ack"
        assert await atm.get_public_key() == bunker.key.public_hex
        signed = await atm.sign_event(21000, "cash out 50000 sat", [["t", "atm"]])
        assert signed["pubkey"] == bunker.key.public_hex and signed["kind"] == 21000
        with pytest.raises(RemoteSignerError, match="sign_event of kind 1 is not allowed"):
            await atm.sign_event(1, "gm")
        assert await atm.request("ping", []) == "pong"


async def test_template_pubkey_is_ignored(bunker) -> None:
    _, url = bunker.token()
    async with BunkerClient(url) as atm:
        await atm.connect()
        template = {"kind": 21000, "content": "", "tags": [], "created_at": 1,
                    "pubkey": SecretKey.generate().public_hex}
        signed = json.loads(await atm.request("sign_event", [json.dumps(template)]))
        assert signed["pubkey"] == bunker.key.public_hex


async def test_revoke_expiry_and_use_count_cut_a_paired_atm_off(bunker) -> None:
    revoked, url1 = bunker.token()
    expiring, url2 = bunker.token(client_name="atm-2", lifetime_seconds=3600)
    counted, url3 = bunker.token(client_name="atm-3", max_uses=1)
    async with BunkerClient(url1) as a, BunkerClient(url2) as b, BunkerClient(url3) as c:
        for atm in (a, b, c):
            await atm.connect()
            await atm.sign_event(21000, "ok")
        bunker.store.revoke(revoked.id)
        with pytest.raises(RemoteSignerError, match="revoked"):
            await a.sign_event(21000, "after revoke")
        bunker.clock.offset = 3600
        with pytest.raises(RemoteSignerError, match="expired"):
            await b.sign_event(21000, "after expiry")
        with pytest.raises(RemoteSignerError, match="no uses left"):
            await c.sign_event(21000, "second use")


async def test_second_device_with_a_redeemed_secret_is_refused_and_reboot_reconnects(bunker) -> None:
    token, url = bunker.token()
    atm_key = SecretKey.generate()
    async with BunkerClient(url, atm_key) as atm:
        await atm.connect()
    async with BunkerClient(url) as thief:
        with pytest.raises(RemoteSignerError, match="redeemed by another device"):
            await thief.connect()
        with pytest.raises(RemoteSignerError, match="not paired"):
            await thief.sign_event(21000, "x")
    async with BunkerClient(url, atm_key) as rebooted:  # same device key, same URL
        assert await rebooted.connect() == "ack"
        await rebooted.sign_event(21000, "after reboot")
    assert bunker.store.token(token.id).client_pubkey == atm_key.public_hex


async def test_bad_mac_is_ignored_and_the_next_request_is_answered(bunker) -> None:
    _, url = bunker.token()
    async with BunkerClient(url) as atm:
        await atm.connect()
        good = __import__("backends.bunker.nip44", fromlist=["x"]).encrypt(
            json.dumps({"id": "x", "method": "ping", "params": []}), atm._conversation)
        raw = bytearray(__import__("base64").b64decode(good))
        raw[-1] ^= 1
        await atm.send_raw(__import__("base64").b64encode(bytes(raw)).decode())
        await atm.send_raw("not even base64")
        assert await atm.request("ping", []) == "pong"


request_bodies = st.one_of(
    st.text(max_size=40),
    st.dictionaries(st.sampled_from(["id", "method", "params"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=20),
                              st.lists(st.one_of(st.text(max_size=20), st.integers()), max_size=3)),
                    max_size=3).map(json.dumps),
    st.builds(lambda m, p: json.dumps({"id": "r", "method": m, "params": p}),
              st.sampled_from(["sign_event", "nip44_encrypt", "nip44_decrypt", "connect", "x"]),
              st.lists(st.text(max_size=30), max_size=3)),
)


def test_malformed_requests_never_stop_the_service(bunker) -> None:
    _, url = bunker.token()
    atm_key = SecretKey.generate()  # one ATM across examples: it stays paired
    from backends.bunker import nip44

    async def scenario(bodies) -> None:
        async with BunkerClient(url, atm_key, timeout=5) as atm:
            await atm.connect()
            for body in bodies:
                await atm.send_raw(nip44.encrypt(body, atm._conversation) if body else "x")
            assert await atm.request("ping", []) == "pong"
            await atm.sign_event(21000, "still signing")

    @settings(max_examples=8, suppress_health_check=list(HealthCheck))
    @given(st.lists(request_bodies, min_size=1, max_size=6))
    def run(bodies) -> None:
        asyncio.run(scenario(bodies))

    run()


async def test_admin_rpc_serves_admins_and_refuses_strangers(bunker) -> None:
    admin_url = parse_bunker_url(f"bunker://{bunker.admin_key.public_hex}?relay={bunker.relay}")
    async with BunkerClient(admin_url, bunker.admin, kind=KIND_ADMIN) as admin:
        assert await admin.request("ping", []) == "pong"
        keys = json.loads(await admin.request("get_keys", []))
        assert keys[0]["name"] == "fleet" and keys[0]["npub"].startswith("npub1")
        pairing = await admin.request("create_new_token", ["fleet", "atm-lisbon", "sign_event:21000", "720"])
        tokens = json.loads(await admin.request("get_key_tokens", ["fleet"]))
        assert [t["client_name"] for t in tokens] == ["atm-lisbon"]
        async with BunkerClient(parse_bunker_url(pairing)) as atm:
            await atm.connect()
            await atm.sign_event(21000, "paired by the admin")
            assert json.loads(await admin.request("revoke_user", [atm.key.public_hex])) == ["ok"]
            with pytest.raises(RemoteSignerError, match="revoked"):
                await atm.sign_event(21000, "after admin revoke")
    assert [a[1] for a in bunker.audit] == ["token create", "token revoke"]
    async with BunkerClient(admin_url, SecretKey.generate(), kind=KIND_ADMIN) as stranger:
        with pytest.raises(RemoteSignerError, match="not an admin"):
            await stranger.request("create_new_token", ["fleet", "evil", "sign_event", "1"])
    assert len(bunker.store.tokens()) == 1
    assert bunker.store.stranger_log()[0].method == "admin:create_new_token"


async def test_a_deeply_nested_template_gets_an_error_answer_not_silence(bunker) -> None:
    """json.loads recursed on it (RecursionError): the request was dropped unanswered and
    the device waited out its timeout; nesting is capped like every outside JSON."""
    _, url = bunker.token()
    async with BunkerClient(url, timeout=5) as atm:
        await atm.connect()
        with pytest.raises(RemoteSignerError, match="refused sign_event: the event template"):
            await atm.request("sign_event", ["[" * 20_000 + "]" * 20_000])
        assert await atm.request("ping", []) == "pong"
