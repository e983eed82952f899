"""A request event captured off a relay and published again later is never acted on twice."""

from __future__ import annotations

import json

from backends.bunker import nip44
from backends.bunker.admin import AdminRpc
from backends.bunker.nostr import SecretKey, sign_event
from backends.bunker.signer import KIND_ADMIN, RemoteSigner
from backends.bunker.tokens import SEEN_RETENTION_SECONDS, TokenStore

from .conftest import Clock


def _bunker(path, clock, key, admin_key, admin):
    store = TokenStore(path, clock)
    rpc = AdminRpc(("ws://127.0.0.1:1",))
    signer = RemoteSigner({"fleet": key}, store, admin=rpc, admin_key=admin_key,
                          admin_pubkeys=frozenset({admin.public_hex}))
    rpc.signer = signer
    return store, signer


def test_an_old_admin_revoke_replayed_after_the_dedup_window_does_not_revoke_again(tmp_path) -> None:
    clock = Clock()
    key, admin_key, admin = SecretKey.generate(), SecretKey.generate(), SecretKey.generate()
    store, signer = _bunker(tmp_path / "b.sqlite3", clock, key, admin_key, admin)
    token, _ = store.create(key_label="fleet", signer_pubkey=key.public_hex, client_name="atm-1",
                            permissions="sign_event:21000", lifetime_seconds=30 * 86400,
                            relays=("ws://127.0.0.1:1",))
    body = json.dumps({"id": "r1", "method": "revoke_user", "params": [token.id]})
    conversation = nip44.get_conversation_key(admin.secret_bytes(), bytes.fromhex(admin_key.public_hex))
    revoke = sign_event(admin, KIND_ADMIN, nip44.encrypt(body, conversation),
                        [["p", admin_key.public_hex]], int(clock()))
    assert signer.handle(revoke.to_dict()) is not None
    assert store.token(token.id).state(store.now()) == "revoked"
    store.reissue(token.id)  # the operator re-pairs the ATM
    store.close()

    clock.offset = SEEN_RETENTION_SECONDS + 3600  # the bunker restarts days later
    store, signer = _bunker(tmp_path / "b.sqlite3", clock, key, admin_key, admin)
    signer.handle(revoke.to_dict())  # anyone who kept the public event publishes it again
    assert store.token(token.id).state(store.now()) == "unpaired"
    store.close()
