"""An outside NIP-46 client (rust-nostr's NostrConnect) against our bunker, and relay loss."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backends.bunker.client import BunkerClient
from backends.bunker.errors import RemoteSignerError
from backends.bunker.local_relay import LocalRelay
from backends.bunker.nostr import SecretKey
from backends.bunker.service import BunkerService
from backends.bunker.signer import RemoteSigner
from backends.bunker.tokens import TokenStore


async def test_nostr_sdk_nostrconnect_pairs_and_signs_kind_21000(bunker) -> None:
    import nostr_sdk as n

    token, url = bunker.token()
    connect = n.NostrConnect(n.NostrConnectUri.parse(str(url)), n.Keys.generate(),
                             timedelta(seconds=10), None)
    assert (await connect.get_public_key_async()).to_hex() == bunker.key.public_hex
    unsigned = n.EventBuilder(n.Kind(21000), "rust-nostr ATM").finalize_unsigned(await connect.get_public_key_async())
    signed = await connect.sign_event_async(unsigned)
    assert signed.verify() and signed.kind().as_u16() == 21000
    assert signed.author().to_hex() == bunker.key.public_hex
    refused = n.EventBuilder(n.Kind(1), "gm").finalize_unsigned(await connect.get_public_key_async())
    with pytest.raises(Exception, match="not allowed"):
        await connect.sign_event_async(refused)
    last = bunker.store.request_log(token.id)[0]
    assert (last.method, last.kind, last.allowed) == ("sign_event", 1, False)


async def test_service_reconnects_after_the_relay_restarts(tmp_path) -> None:
    import asyncio
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    relay = LocalRelay(port=port).start()
    store = TokenStore(tmp_path / "b.sqlite3", time.time)
    key = SecretKey.generate()
    service = BunkerService(RemoteSigner({"fleet": key}, store), (relay.url,)).start()
    _, url = store.create(key_label="fleet", signer_pubkey=key.public_hex, client_name="atm",
                          permissions="sign_event:21000", lifetime_seconds=3600, relays=(relay.url,))
    atm_key = SecretKey.generate()
    try:
        relay.stop()
        deadline = time.monotonic() + 20  # generous: a loaded CI machine schedules late
        while service.status[relay.url] == "connected" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert service.status[relay.url].startswith("disconnected")
        relay = LocalRelay(port=port).start()
        deadline = time.monotonic() + 20
        while service.status[relay.url] != "connected" and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        async with BunkerClient(url, atm_key) as atm:
            assert await atm.connect() == "ack"
            assert (await atm.sign_event(21000, "after relay restart"))["kind"] == 21000
    finally:
        service.stop()
        relay.stop()
        store.close()


async def test_encryption_methods_interoperate_with_nostr_sdk_and_need_their_permission(bunker) -> None:
    import nostr_sdk as n

    from backends.bunker.url import parse_bunker_url

    peer = n.Keys.generate()
    peer_hex = peer.public_key().to_hex()
    signer_pk = n.PublicKey.parse(bunker.key.public_hex)
    _, url = bunker.token(permissions="nip44_encrypt,nip44_decrypt,nip04_encrypt,nip04_decrypt")
    _, narrow = bunker.token(client_name="atm-2")
    async with BunkerClient(parse_bunker_url(str(url))) as client, BunkerClient(narrow) as atm:
        await client.connect()
        for version in ("nip44", "nip04"):
            encrypt = n.nip44_encrypt if version == "nip44" else n.nip04_encrypt
            decrypt = n.nip44_decrypt if version == "nip44" else n.nip04_decrypt
            extra = (n.Nip44Version.V2,) if version == "nip44" else ()
            # the peer encrypts to the bunker key; the bunker decrypts, and the other way round
            sealed = encrypt(peer.secret_key(), signer_pk, "cash box 3 low", *extra)
            assert await client.request(f"{version}_decrypt", [peer_hex, sealed]) == "cash box 3 low"
            ours = await client.request(f"{version}_encrypt", [peer_hex, "refill at 09:00"])
            assert decrypt(peer.secret_key(), signer_pk, ours) == "refill at 09:00"
        await atm.connect()
        with pytest.raises(RemoteSignerError, match="nip04_decrypt is not allowed"):
            await atm.request("nip04_decrypt", [peer_hex, "x?iv=y"])
