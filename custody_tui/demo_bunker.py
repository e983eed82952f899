"""The demo rig's bunker: a fleet key, a relay on loopback and two ATM tokens.

``prepare`` puts a deterministic nostr key (``demo-fleet``) in the keystore and issues
two tokens; their one-time pairing URLs go to ``DATA_DIR/bunker-pairing.txt`` (the demo
publishes its secrets; a real bunker shows a URL once). ``start`` runs the relay (rust-
nostr's LocalRelay, rate limit raised) and the bunker. Try it with:

    head -1 DEMO_DIR/bunker-pairing.txt | custody-tui --data-dir DEMO_DIR bunker demo-client -
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

from backends.fsutil import atomic_write

from .demo import Running
from .services import DEMO_PASSPHRASE, Services

log = logging.getLogger(__name__)

DEMO_KEY = "demo-fleet"
DEMO_RELAY = "ws://127.0.0.1:7447"
#: (client, permissions, lifetime) of the two demo ATMs; one expires soon, to show the warning
DEMO_TOKENS = (
    ("atm-lisbon", "sign_event:21000", 30 * 86400),
    ("atm-porto", "sign_event:21000", 2 * 86400),
)


def pairing_file(data_dir: Path) -> Path:
    return data_dir / "bunker-pairing.txt"


def status_file(data_dir: Path) -> Path:
    from backends.bunker.service import STATUS_FILE_NAME

    return data_dir / STATUS_FILE_NAME


def demo_secret() -> bytes:
    return hashlib.sha256(f"custody-tui demo key: {DEMO_KEY}".encode()).digest()


def prepare_bunker(services: Services) -> None:
    """Idempotent: the key and the tokens are each created only when missing."""
    keystore = services.keystore
    if DEMO_KEY not in {entry.label for entry in keystore.entries()}:
        from backends.bunker.nostr import SecretKey

        key = SecretKey(demo_secret())
        keystore.unlock(DEMO_PASSPHRASE, 60)
        try:
            with services.audited("bunker", "key add", key=DEMO_KEY, demo=True):
                keystore.add_secret(DEMO_KEY, "nostr", key.secret_bytes(), {"pubkey": key.public_hex})
        finally:
            keystore.lock()
    store = services.bunker
    if pairing_file(services.data_dir).exists():
        return
    urls = []
    existing = store.tokens()
    if existing:  # killed after issuing, before saving the URLs: re-issue, same tokens
        for token in existing:
            with services.audited("bunker", "token reissue", token=token.id, demo=True):
                urls.append(str(store.reissue(token.id)[1]))
    else:
        pubkey = keystore.entry(DEMO_KEY).public["pubkey"]
        for client, perms, lifetime in DEMO_TOKENS:
            with services.audited("bunker", "token create", key=DEMO_KEY, client=client,
                                  permissions=perms, demo=True) as result:
                token, url = store.create(key_label=DEMO_KEY, signer_pubkey=pubkey, client_name=client,
                                          permissions=perms, lifetime_seconds=lifetime,
                                          relays=services.config.bunker.relay_list())
                result["token"] = token.id
            urls.append(str(url))
    atomic_write(pairing_file(services.data_dir), ("\n".join(urls) + "\n").encode())


class RunningBunker(Running):
    """The relay (when the config names a loopback one) and the bunker on it."""

    def __init__(self, services: Services) -> None:
        from backends.bunker.errors import RelayError
        from backends.bunker.local_relay import LocalRelay

        from .commands.bunker import build_service

        self.relay = None
        first = services.config.bunker.relay_list()[0]
        parts = urlsplit(first)
        if parts.hostname in ("127.0.0.1", "localhost"):
            try:
                self.relay = LocalRelay(parts.hostname, parts.port).start()
            except RelayError as exc:  # another rig holds the port: the bunker still retries it
                log.warning("%s", exc)
        keystore = services.keystore
        keystore.unlock(DEMO_PASSPHRASE, 60)
        try:
            self.service = build_service(services, keystore, status_file=status_file(services.data_dir))
        finally:
            keystore.lock()
        self.service.start()

    def stop(self) -> None:
        self.service.stop()
        if self.relay is not None:
            self.relay.stop()
