"""Bunker keys live in the keystore as ``nostr`` entries; their pubkey is public metadata."""

from __future__ import annotations

from backends.bunker.errors import InvalidTokenRequest
from backends.bunker.nostr import SecretKey


def create_key(keystore, label: str):
    """A fresh nostr key in the keystore (needs it unlocked); its pubkey stays readable."""
    key = SecretKey.generate()
    return keystore.add_secret(label, "nostr", key.secret_bytes(), {"pubkey": key.public_hex})


def key_pubkey(keystore, label: str) -> str:
    """The pubkey of a bunker key, readable while the keystore is locked."""
    from backends.keystore import EntryNotFound

    try:
        info = keystore.entry(label)
    except EntryNotFound:
        raise InvalidTokenRequest(f"no key {label!r} in the keystore",
                                  hint=f"create one with: custody-tui bunker key add {label}") from None
    if info.kind.value != "nostr":
        raise InvalidTokenRequest(f"{label!r} is a {info.kind.value} entry, not a nostr key")
    pubkey = info.public.get("pubkey")
    if not isinstance(pubkey, str):
        # an imported key without public metadata: derive it (needs the keystore unlocked)
        pubkey = SecretKey(keystore.get_secret(label)).public_hex
    return pubkey


def load_keys(keystore, labels: tuple[str, ...] = ()) -> dict[str, SecretKey]:
    """The signing keys the bunker serves (all nostr entries when ``labels`` is empty)."""
    wanted = labels or tuple(e.label for e in keystore.entries() if e.kind.value == "nostr")
    keys = {}
    for label in wanted:
        key_pubkey(keystore, label)  # the same clear error for a missing or wrong entry
        keys[label] = SecretKey(keystore.get_secret(label))
    return keys


def issue_token(store, keystore, *, key_label: str, client_name: str, permissions, lifetime_seconds: int,
                relays: tuple[str, ...], max_uses: int | None = None):
    """A new token for a keystore key: its pubkey comes from public metadata (no unlock)."""
    return store.create(key_label=key_label, signer_pubkey=key_pubkey(keystore, key_label),
                        client_name=client_name, permissions=permissions,
                        lifetime_seconds=lifetime_seconds, relays=relays, max_uses=max_uses)
