"""What an entry is in public: its kind, its label rules, its fingerprint and its metadata.

Nothing here touches secret material except the two pure encoders at the bottom, which
turn a secret into its fingerprint or payload; they never keep a copy.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, Mapping

from backends.keystore.errors import InvalidLabel, InvalidSecret, KeystoreError

LABEL_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
ENTRY_SUFFIX = ".entry"
SECRET_MAX_BYTES = 1024 * 1024
_PUBLIC_MAX_KEYS = 32
_PUBLIC_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PUBLIC_VALUE_MAX_CHARS = 4096
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_FINGERPRINT_DOMAIN = b"custody-tui/keystore/fingerprint/v1\x00"


class EntryKind(str, Enum):
    """What a stored secret is for."""

    MNEMONIC = "mnemonic"  # BIP-39 words (+ optional BIP-39 passphrase)
    TOTP = "totp"  # RFC 6238 shared secret (raw bytes, not base32)
    HMAC = "hmac"  # a MAC key
    NOSTR = "nostr"  # 32-byte secp256k1 secret key
    RSA = "rsa"  # private key, DER or PEM bytes
    MPC_SHARE = "mpc_share"  # a threshold key share, serialized by backends.mpc
    MPC_HOST = "mpc_host"  # a ceremony node's 32-byte host secret key (signs its board posts)
    MPC_SESSION = "mpc_session"  # one ceremony's one-time secrets: DKG randomness, secret nonces

    @classmethod
    def parse(cls, value: str | EntryKind) -> EntryKind:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(member.value for member in cls)
            raise InvalidSecret(f"unknown entry kind {value!r}; use one of {names}") from None


@dataclass(frozen=True, slots=True)
class EntryInfo:
    """The public face of an entry, readable while the keystore is locked."""

    label: str
    kind: EntryKind
    fingerprint: str
    created_at: datetime
    public: Mapping[str, Any] = field(default_factory=dict)

    @property
    def word_count(self) -> int | None:
        """Number of BIP-39 words, for mnemonic entries."""
        return self.public.get("words") if self.kind is EntryKind.MNEMONIC else None

    def to_public_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``--json`` output."""
        return {
            "label": self.label,
            "kind": self.kind.value,
            "fingerprint": self.fingerprint,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "public": dict(self.public),
        }


@dataclass(frozen=True)
class EntryListing:
    """What listing the keystore found: the readable entries, and an error (naming the
    file and why) for each entry file that could not be read."""

    entries: list[EntryInfo]
    unreadable: list[KeystoreError]


def check_label(label: str) -> str:
    if not isinstance(label, str) or not LABEL_PATTERN.fullmatch(label):
        raise InvalidLabel(
            f"label {label!r} is not allowed: use 1-64 letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return label


def check_public(public: Mapping[str, Any] | None) -> dict[str, Any]:
    """Public metadata is small, flat and JSON-safe; it is stored in the clear."""
    public = dict(public or {})
    if len(public) > _PUBLIC_MAX_KEYS:
        raise InvalidSecret(f"public metadata has {len(public)} keys; at most {_PUBLIC_MAX_KEYS}")
    for key, value in public.items():
        if not isinstance(key, str) or not _PUBLIC_KEY_PATTERN.fullmatch(key):
            raise InvalidSecret(f"public metadata key {key!r} is not a short identifier")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise InvalidSecret(f"public metadata {key!r} must be a string, number or boolean")
        if isinstance(value, str) and len(value) > _PUBLIC_VALUE_MAX_CHARS:
            raise InvalidSecret(f"public metadata {key!r} is longer than {_PUBLIC_VALUE_MAX_CHARS}")
    return public


def check_raw_secret(kind: EntryKind, secret: bytes | bytearray) -> None:
    """Shape checks that never mention the secret's value."""
    if kind is EntryKind.MNEMONIC:
        raise InvalidSecret("store BIP-39 words with import_mnemonic, not add_secret")
    if not isinstance(secret, (bytes, bytearray)):
        raise InvalidSecret(f"a {kind.value} secret must be bytes")
    if not 0 < len(secret) <= SECRET_MAX_BYTES:
        raise InvalidSecret(f"a {kind.value} secret must be 1 byte to 1 MiB long")
    if kind in (EntryKind.NOSTR, EntryKind.MPC_HOST) and (
        len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER
    ):
        raise InvalidSecret(f"a {kind.value} secret key is 32 bytes in 1..n-1 of secp256k1")


def raw_secret_fingerprint(kind: EntryKind, secret: bytes | bytearray) -> str:
    """8 hex of a domain-separated SHA-256: tells entries apart, reveals nothing usable."""
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN + kind.value.encode() + b"\x00" + bytes(secret))
    return digest.hexdigest()[:8]


def build_metadata(
    label: str, kind: EntryKind, fingerprint: str, created_at: datetime, public: dict[str, Any]
) -> dict[str, Any]:
    return {
        "label": label,
        "kind": kind.value,
        "fingerprint": fingerprint,
        "created_at": created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "public": public,
    }


def info_from_metadata(metadata: dict[str, Any]) -> EntryInfo:
    """Raise ValueError/KeyError/TypeError on a malformed dict; callers name the file."""
    created = datetime.strptime(metadata["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    public = metadata.get("public", {})
    if not isinstance(public, dict) or not isinstance(metadata["fingerprint"], str):
        raise TypeError("bad metadata types")
    return EntryInfo(
        label=check_label(metadata["label"]),
        kind=EntryKind(metadata["kind"]),
        fingerprint=metadata["fingerprint"],
        created_at=created,
        public=MappingProxyType(dict(public)),
    )


def encode_mnemonic_payload(mnemonic: str, bip39_passphrase: str) -> bytearray:
    """Words, newline, BIP-39 passphrase (the words never contain a newline)."""
    return bytearray(mnemonic.encode("utf-8") + b"\n" + bip39_passphrase.encode("utf-8"))


def decode_mnemonic_payload(payload: bytearray) -> tuple[str, str]:
    words, _, passphrase = bytes(payload).partition(b"\n")
    return words.decode("utf-8"), passphrase.decode("utf-8")
