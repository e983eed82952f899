"""A real relay on loopback and a running bunker for the end-to-end bunker tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backends.bunker.admin import AdminRpc
from backends.bunker.local_relay import LocalRelay
from backends.bunker.nostr import SecretKey
from backends.bunker.service import BunkerService
from backends.bunker.signer import RemoteSigner
from backends.bunker.tokens import TokenStore


class Clock:
    """Wall-clock seconds that a test can move forward (expiry without waiting)."""

    def __init__(self) -> None:
        import time

        self.offset = 0.0
        self._time = time.time

    def __call__(self) -> float:
        return self._time() + self.offset


@dataclass
class Bunker:
    relay: str
    store: TokenStore
    key: SecretKey
    admin_key: SecretKey
    admin: SecretKey
    clock: Clock
    service: BunkerService
    audit: list

    def token(self, **overrides):
        args = dict(key_label="fleet", signer_pubkey=self.key.public_hex, client_name="atm-1",
                    permissions="sign_event:21000", lifetime_seconds=30 * 86400, relays=(self.relay,))
        args.update(overrides)
        return self.store.create(**args)


@pytest.fixture(scope="module")
def relay_url():
    with LocalRelay() as relay:
        yield relay.url


@pytest.fixture
def bunker(tmp_path, relay_url):
    import contextlib

    clock = Clock()
    store = TokenStore(tmp_path / "bunker.sqlite3", clock)
    key, admin_key, admin = SecretKey.generate(), SecretKey.generate(), SecretKey.generate()
    audit: list = []

    @contextlib.contextmanager
    def audited(area, action, **details):
        extra: dict = {}
        yield extra
        audit.append((area, action, {**details, **extra}))

    rpc = AdminRpc((relay_url,), audited)
    signer = RemoteSigner({"fleet": key}, store, admin=rpc, admin_key=admin_key,
                          admin_pubkeys=frozenset({admin.public_hex}))
    rpc.signer = signer
    service = BunkerService(signer, (relay_url,)).start()
    assert service.status[relay_url] == "connected"
    yield Bunker(relay_url, store, key, admin_key, admin, clock, service, audit)
    service.stop()
    store.close()
