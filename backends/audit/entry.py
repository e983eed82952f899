"""One audit entry and the exact bytes its hash commits to.

Canonical serialization (format version 1), the one place it is defined:

    canonical = JSON of the object
        {"action", "actor", "area", "details", "outcome", "prev_hash", "seq", "timestamp"}
    with keys sorted at every level, separators "," and ":" (no whitespace),
    non-ASCII characters kept as UTF-8 (ensure_ascii=False), NaN/Infinity refused;
    hash = lowercase hex SHA-256 of the UTF-8 bytes of ``canonical``.

``seq`` is inside the hash so an entry cannot be moved to another position without its
hash changing; ``prev_hash`` is inside it so each entry commits to the whole history
before it. The genesis entry (seq 1) links to 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

GENESIS_HASH = "0" * 64
#: "started" is written before an irreversible action, so a crash mid-way leaves a trace
OUTCOMES = ("started", "ok", "refused", "error")
HASHED_FIELDS = ("seq", "timestamp", "actor", "area", "action", "details", "outcome", "prev_hash")


def canonical_json(value: Any) -> str:
    """The one JSON spelling used for hashing and storage of details."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_bytes(record: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: every field except the hash itself."""
    return canonical_json({name: record[name] for name in HASHED_FIELDS}).encode("utf-8")


def entry_hash(record: dict[str, Any]) -> str:
    """SHA-256 (hex) over :func:`canonical_bytes` of ``record``."""
    return hashlib.sha256(canonical_bytes(record)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """A recorded operator action, exactly as it is hashed and stored."""

    seq: int
    timestamp: str
    actor: str
    area: str
    action: str
    details: dict[str, Any] = field(hash=False)
    outcome: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "actor": self.actor,
            "area": self.area,
            "action": self.action,
            "details": self.details,
            "outcome": self.outcome,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> AuditEntry:
        return cls(**{name: record[name] for name in (*HASHED_FIELDS, "hash")})
