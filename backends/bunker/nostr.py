"""NIP-01 events: x-only keys, event ids and BIP-340 signatures (coincurve, libsecp256k1)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from coincurve import PrivateKey, PublicKeyXOnly

from backends.bunker.errors import InvalidEvent, InvalidKey

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX64 = frozenset("0123456789abcdef")
MAX_TAGS = 2000
MAX_CONTENT_CHARS = 256 * 1024


class SecretKey:
    """A 32-byte secp256k1 secret key. Never printed: repr shows only the public key."""

    __slots__ = ("_private", "public_hex")

    def __init__(self, secret: bytes | bytearray) -> None:
        if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < SECP256K1_ORDER:
            raise InvalidKey("a nostr secret key is 32 bytes in 1..n-1 of secp256k1")
        self._private = PrivateKey(bytes(secret))
        self.public_hex = PublicKeyXOnly.from_secret(bytes(secret)).format().hex()

    @classmethod
    def generate(cls) -> SecretKey:
        while True:
            candidate = secrets.token_bytes(32)
            if 0 < int.from_bytes(candidate, "big") < SECP256K1_ORDER:
                return cls(candidate)

    def __repr__(self) -> str:
        return f"SecretKey(public={self.public_hex})"

    def secret_bytes(self) -> bytes:
        return self._private.secret

    def sign_schnorr(self, message32: bytes) -> bytes:
        # aux randomness from the OS (coincurve draws it when none is given), BIP-340 §Default Signing
        return self._private.sign_schnorr(message32)


def check_pubkey_hex(value: Any, what: str = "public key") -> str:
    """A lowercase 64-hex x-only key that lies on the curve."""
    if not isinstance(value, str) or len(value) != 64 or not _HEX64.issuperset(value):
        raise InvalidKey(f"{what} must be 64 lowercase hex characters")
    try:
        PublicKeyXOnly(bytes.fromhex(value))
    except ValueError:
        raise InvalidKey(f"{what} is not a point on secp256k1") from None
    return value


def serialize_for_id(pubkey: str, created_at: int, kind: int, tags: list, content: str) -> bytes:
    """NIP-01: the canonical array whose sha256 is the event id."""
    return json.dumps(
        [0, pubkey, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False
    ).encode()


def event_id(pubkey: str, created_at: int, kind: int, tags: list, content: str) -> str:
    return hashlib.sha256(serialize_for_id(pubkey, created_at, kind, tags, content)).hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    pubkey: str
    created_at: int
    kind: int
    tags: list
    content: str
    sig: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "pubkey": self.pubkey, "created_at": self.created_at,
            "kind": self.kind, "tags": self.tags, "content": self.content, "sig": self.sig,
        }

    def first_tag(self, name: str) -> str | None:
        for tag in self.tags:
            if len(tag) >= 2 and tag[0] == name:
                return tag[1]
        return None


def sign_event(key: SecretKey, kind: int, content: str, tags: list, created_at: int) -> Event:
    check_template(kind, content, tags, created_at)
    digest = event_id(key.public_hex, created_at, kind, tags, content)
    sig = key.sign_schnorr(bytes.fromhex(digest)).hex()
    return Event(digest, key.public_hex, created_at, kind, tags, content, sig)


def check_template(kind: Any, content: Any, tags: Any, created_at: Any) -> None:
    """The types NIP-01 requires of an unsigned event (bool is not an int here)."""
    if type(kind) is not int or not 0 <= kind <= 65535:
        raise InvalidEvent("kind must be an integer 0..65535")
    if type(created_at) is not int or not 0 <= created_at < 2**40:
        raise InvalidEvent("created_at must be a non-negative integer of seconds")
    if not isinstance(content, str) or len(content) > MAX_CONTENT_CHARS:
        raise InvalidEvent(f"content must be a string of at most {MAX_CONTENT_CHARS} characters")
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise InvalidEvent(f"tags must be a list of at most {MAX_TAGS} tags")
    for tag in tags:
        if not isinstance(tag, list) or not all(isinstance(item, str) for item in tag):
            raise InvalidEvent("every tag must be a list of strings")


def parse_event(data: Any) -> Event:
    """An event from the wire, with its id and signature verified (NIP-01)."""
    if not isinstance(data, dict):
        raise InvalidEvent("an event must be a JSON object")
    try:
        fields = {name: data[name] for name in ("id", "pubkey", "created_at", "kind", "tags", "content", "sig")}
    except KeyError as exc:
        raise InvalidEvent(f"event has no {exc.args[0]!r}") from None
    check_template(fields["kind"], fields["content"], fields["tags"], fields["created_at"])
    for name, length in (("id", 64), ("pubkey", 64), ("sig", 128)):
        value = fields[name]
        if not isinstance(value, str) or len(value) != length or not _HEX64.issuperset(value):
            raise InvalidEvent(f"event {name} must be {length} lowercase hex characters")
    event = Event(**fields)
    expected = event_id(event.pubkey, event.created_at, event.kind, event.tags, event.content)
    if expected != event.id:
        raise InvalidEvent("event id does not match its content")
    try:
        valid = PublicKeyXOnly(bytes.fromhex(event.pubkey)).verify(
            bytes.fromhex(event.sig), bytes.fromhex(event.id)
        )
    except ValueError:
        valid = False
    if not valid:
        raise InvalidEvent("event signature is not valid")
    return event
