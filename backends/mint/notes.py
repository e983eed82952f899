"""Notes: what a wallet holds after unblinding, and spending each exactly once.

A note is a message the wallet chose (its serial; for Randomized variants the prepared
message with its prefix), its denomination, the set that signed it, and the signature.
The ledger records a spent note by a domain-separated hash of its message, nothing else:
the mint never saw the message at issuance, so the record cannot be tied to a deposit.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .blindrsa import verify
from .errors import InvalidBlindInput, InvalidNote, InvalidSignature, NoteAlreadySpent
from .keysets import MAX_DENOMINATION_SAT, Keyset

NOTE_DOMAIN = b"custody-tui/mint/note/v1\x00"
MAX_MESSAGE_BYTES = 1024
MAX_NOTES_PER_SPEND = 1000


@dataclass(frozen=True, slots=True)
class Note:
    keyset_id: str
    amount_sat: int
    message: bytes
    signature: bytes

    @property
    def note_hash(self) -> str:
        return hashlib.sha256(NOTE_DOMAIN + self.message).hexdigest()

    def __repr__(self) -> str:  # the message is the bearer's secret until it is spent
        return f"Note({self.amount_sat} sat, keyset {self.keyset_id})"

    def to_dict(self) -> dict[str, Any]:
        return {"keyset_id": self.keyset_id, "amount_sat": self.amount_sat,
                "message": self.message.hex(), "signature": self.signature.hex()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Note:
        """Parse a note from JSON; any shape error is InvalidNote naming the field."""
        if not isinstance(data, Mapping):
            raise InvalidNote("a note is an object with keyset_id, amount_sat, message and signature")
        fields = {}
        for name in ("keyset_id", "amount_sat", "message", "signature"):
            if name not in data:
                raise InvalidNote(f"the note has no {name}")
            fields[name] = data[name]
        if not isinstance(fields["keyset_id"], str) or not 0 < len(fields["keyset_id"]) <= 64:
            raise InvalidNote("keyset_id must be the set's id string")
        amount = fields["amount_sat"]
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_DENOMINATION_SAT:
            raise InvalidNote(f"amount_sat must be a whole number of sat from 1 to {MAX_DENOMINATION_SAT}")
        raw = {}
        for name in ("message", "signature"):
            try:
                raw[name] = bytes.fromhex(fields[name])
            except (TypeError, ValueError):
                raise InvalidNote(f"{name} must be hex") from None
        if not 0 < len(raw["message"]) <= MAX_MESSAGE_BYTES:
            raise InvalidNote(f"message must be 1 to {MAX_MESSAGE_BYTES} bytes")
        return cls(fields["keyset_id"], amount, raw["message"], raw["signature"])


def check_notes(notes: Iterable[Note], keysets: Mapping[str, Keyset]) -> list[Note]:
    """Every note well formed, distinct, of a known set and denomination, and validly signed."""
    notes = list(notes)
    if not notes:
        raise InvalidNote("no notes given")
    if len(notes) > MAX_NOTES_PER_SPEND:
        raise InvalidNote(f"at most {MAX_NOTES_PER_SPEND} notes at once")
    hashes = [note.note_hash for note in notes]
    if len(set(hashes)) != len(hashes):
        raise InvalidNote("the same note is given twice")
    for position, note in enumerate(notes, 1):
        keyset = keysets.get(note.keyset_id)
        if keyset is None:
            raise InvalidNote(f"note {position} names keyset {note.keyset_id!r}, which this mint never had")
        public_key = keyset.public_key(note.amount_sat)
        try:
            verify(public_key, note.message, note.signature, keyset.variant)
        except (InvalidSignature, InvalidBlindInput):
            raise InvalidNote(
                f"note {position} ({note.amount_sat} sat) does not carry a valid signature of keyset {note.keyset_id}"
            ) from None
    return notes


def record_spent(db: sqlite3.Connection, notes: list[Note], now: float, redemption_id: str | None) -> None:
    """Mark ``notes`` spent inside the caller's write transaction; all or none.

    The primary key on the note's hash is the once-only rule: a second spend, even by
    another process racing this one, fails here and the caller's transaction rolls back.
    """
    for note in notes:
        try:
            db.execute(
                "INSERT INTO spent_notes(note_hash, keyset_id, amount_sat, spent_at, redemption_id) VALUES (?,?,?,?,?)",
                (note.note_hash, note.keyset_id, note.amount_sat, now, redemption_id),
            )
        except sqlite3.IntegrityError:
            raise NoteAlreadySpent(
                f"note {note.note_hash[:16]} ({note.amount_sat} sat) was already redeemed; nothing was spent"
            ) from None
