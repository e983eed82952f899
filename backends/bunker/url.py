"""The ``bunker://`` pairing URL (NIP-46): remote-signer pubkey, relays and a secret."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from backends.bunker.errors import InvalidBunkerUrl, InvalidKey
from backends.bunker.nostr import check_pubkey_hex


@dataclass(frozen=True, slots=True)
class BunkerUrl:
    signer_pubkey: str
    relays: tuple[str, ...]
    secret: str | None = None

    def __str__(self) -> str:
        query = [f"relay={quote(relay, safe='')}" for relay in self.relays]
        if self.secret:
            query.append(f"secret={self.secret}")
        return f"bunker://{self.signer_pubkey}?{'&'.join(query)}"

    def __repr__(self) -> str:  # the secret is a credential until redeemed
        return f"BunkerUrl({self.signer_pubkey}, relays={self.relays!r}, secret={'set' if self.secret else 'none'})"


def parse_bunker_url(text: str) -> BunkerUrl:
    parts = urlsplit(text.strip())
    if parts.scheme != "bunker":
        raise InvalidBunkerUrl("a pairing URL starts with bunker://")
    try:
        pubkey = check_pubkey_hex(parts.netloc, "the bunker URL's public key")
    except InvalidKey as exc:
        raise InvalidBunkerUrl(str(exc)) from None
    query = parse_qs(parts.query)
    relays = tuple(query.get("relay", []))
    if not relays or not all(r.startswith(("ws://", "wss://")) for r in relays):
        raise InvalidBunkerUrl("a bunker URL needs at least one relay=ws:// or wss:// address")
    secrets = query.get("secret", [])
    return BunkerUrl(pubkey, relays, secrets[0] if secrets else None)
