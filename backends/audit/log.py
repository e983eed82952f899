"""The append-only audit log an operator's every action is recorded in."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from backends.audit.anchor import AnchorUnreadable, HeadAnchor, anchor_path_for, read_anchor, write_anchor
from backends.audit.entry import GENESIS_HASH, OUTCOMES, AuditEntry, canonical_json, entry_hash
from backends.audit.errors import AuditDetailsError, AuditError
from backends.audit.export import export_document
from backends.audit.redaction import redact
from backends.audit.storage import COLUMNS, file_lock, open_database, row_to_record, text_value
from backends.audit.verify import ChainStatus, verify_chain
from backends.fsutil import atomic_write, ensure_private_dir

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("the audit clock returned a time without a time zone; it must return UTC")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _required_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AuditError(f"an audit entry needs a non-empty {name}")
    return value


def _committed_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details exactly as they will be hashed: redacted, then round-tripped through JSON."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise AuditDetailsError(f"audit details must be a mapping of names to values, not {type(details).__name__}")
    try:
        # default=str keeps amounts (Decimal), paths and times readable instead of failing
        # the operator's action because its record had an unusual type.
        text = json.dumps(redact(dict(details)), sort_keys=True, default=str, allow_nan=False)
    except ValueError as exc:
        raise AuditDetailsError(f"audit details cannot be recorded: {exc}") from exc
    return json.loads(text)


_HASH = re.compile(r"[0-9a-f]{64}")
#: an anchored seq beyond this is garbage, not a head to continue from (SQLite's limit is 2**63-1)
_MAX_SEQ = 2**62


def _anchor_mismatch(anchor_path: Path, head: tuple[int, str] | None) -> tuple[dict[str, Any], HeadAnchor | None] | None:
    """None when the anchor names the stored head (or neither exists). Otherwise what was
    found, as the details of an ``audit/anchor-mismatch`` entry, and the anchored head to
    continue from when it is at or past the stored one (so a cut tail stays a gap and a
    rewritten head stays a broken link); None there means: continue from the stored head
    (the anchor is behind, as after a crash between commit and anchor write, or missing)."""
    head_seq, head_hash = head if head else (0, GENESIS_HASH)
    try:
        anchor = read_anchor(anchor_path)
    except AnchorUnreadable as exc:
        return {"found": f"the head anchor was unreadable ({exc})", "head_seq": head_seq, "head_hash": head_hash}, None
    if anchor is None:
        if head is None:
            return None
        return {"found": "the head anchor was missing", "head_seq": head_seq, "head_hash": head_hash}, None
    if (anchor.seq, anchor.hash) == (head_seq, head_hash):
        return None
    details = {"anchor_seq": anchor.seq, "anchor_hash": anchor.hash, "head_seq": head_seq, "head_hash": head_hash}
    if not 0 <= anchor.seq < _MAX_SEQ or not _HASH.fullmatch(anchor.hash):
        return {"found": "the head anchor held an impossible head", **details}, None
    if anchor.seq > head_seq:
        found = f"the log ended at #{head_seq} but the head anchor recorded #{anchor.seq}: entries were removed"
        return {"found": found, **details}, anchor
    if anchor.seq == head_seq:
        found = f"entry #{head_seq} is not the one the head anchor recorded: the entry or the anchor was rewritten"
        return {"found": found, **details}, anchor
    found = (f"the head anchor recorded #{anchor.seq} but the log holds #{head_seq}: an append was "
             "interrupted before updating it, or entries were added outside custody-tui")
    return {"found": found, **details}, None


class AuditLog:
    """An append-only, hash-chained log in a SQLite file, with a head anchor beside it.

    Safe to share between threads, and to open from several processes at once.
    """

    def __init__(self, path: Path | str, *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        ensure_private_dir(self.path.parent)
        self.anchor_path = anchor_path_for(self.path)
        self._lock_path = self.path.with_name(self.path.name + ".lock")
        self._clock = clock
        self._lock = threading.Lock()
        self._db = open_database(self.path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing

    def append(
        self,
        area: str,
        action: str,
        *,
        actor: str,
        details: Mapping[str, Any] | None = None,
        outcome: str = "ok",
    ) -> AuditEntry:
        """Record one action and return the entry as hashed and stored."""
        _required_text("area", area)
        _required_text("action", action)
        _required_text("actor", actor)
        if outcome not in OUTCOMES:
            raise AuditError(f"audit outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        committed = _committed_details(details)
        with self._lock, file_lock(self._lock_path, exclusive=True):
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                timestamp = format_timestamp(self._clock())  # under the lock: in seq order
                head = db.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
                if head is not None:
                    head = (head[0], text_value(head[1]))
                seq, prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
                mismatch = _anchor_mismatch(self.anchor_path, head)
                if mismatch is not None:
                    # Re-anchoring on the stored head would erase the evidence (a cut tail
                    # or a rewritten head would verify as intact): record what was found,
                    # and go on from the anchored head when it is ahead of the rows.
                    found, resume = mismatch
                    if resume is not None:
                        seq, prev_hash = resume.seq + 1, resume.hash
                    note = self._insert(db, seq, prev_hash, timestamp, "custody-tui", "audit", "anchor-mismatch",
                                        found, "error")
                    seq, prev_hash = seq + 1, note["hash"]
                record = self._insert(db, seq, prev_hash, timestamp, actor, area, action, committed, outcome)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            # After the commit and still under the file lock: a crash here leaves the
            # anchor one entry behind (reported, never hidden), never ahead of the rows.
            write_anchor(self.anchor_path, HeadAnchor(seq=seq, hash=record["hash"]))
        return AuditEntry.from_dict(record)

    @staticmethod
    def _insert(db, seq: int, prev_hash: str, timestamp: str, actor: str, area: str, action: str,
                details: dict[str, Any], outcome: str) -> dict[str, Any]:
        record = {
            "seq": seq,
            "timestamp": timestamp,
            "actor": actor,
            "area": area,
            "action": action,
            "details": details,
            "outcome": outcome,
            "prev_hash": prev_hash,
        }
        record["hash"] = entry_hash(record)
        stored = {**record, "details": canonical_json(details)}
        db.execute(
            f"INSERT INTO entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
            [stored[name] for name in COLUMNS],
        )
        return record

    # -- reading

    def _filters(self, area: str | None, text: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if area is not None:
            clauses.append("area = ?")
            params.append(area)
        if text:
            clauses.append("instr(lower(actor || ' ' || area || ' ' || action || ' ' || outcome || ' ' || details), lower(?)) > 0")
            params.append(text)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def entries(
        self,
        *,
        area: str | None = None,
        text: str | None = None,
        limit: int | None = 200,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        """A page of entries, optionally of one area and containing ``text`` (case-insensitive)."""
        where, params = self._filters(area, text)
        order = "DESC" if newest_first else "ASC"
        query = f"SELECT {', '.join(COLUMNS)} FROM entries{where} ORDER BY seq {order} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(query, [*params, -1 if limit is None else limit, offset]).fetchall()
        return [AuditEntry.from_dict(row_to_record(row)) for row in rows]

    def count(self, *, area: str | None = None, text: str | None = None) -> int:
        where, params = self._filters(area, text)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM entries{where}", params).fetchone()[0]

    def _snapshot(self) -> tuple[list[dict[str, Any]], HeadAnchor | None, str | None]:
        """All rows and the anchor, read together so no append falls between them."""
        with self._lock, file_lock(self._lock_path, exclusive=False):
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM entries ORDER BY seq").fetchall()
            try:
                anchor, anchor_error = read_anchor(self.anchor_path), None
            except AnchorUnreadable as exc:
                anchor, anchor_error = None, str(exc)
        return [row_to_record(row) for row in rows], anchor, anchor_error

    def verify(self) -> ChainStatus:
        """Recompute every hash and link, and compare the head with the anchor."""
        records, anchor, anchor_error = self._snapshot()
        return verify_chain(records, anchor=anchor, anchor_error=anchor_error)

    # -- exporting

    def export_dicts(self) -> list[dict[str, Any]]:
        """Every entry as stored, oldest first."""
        records, _, _ = self._snapshot()
        return records

    def export(self) -> tuple[dict[str, Any], ChainStatus]:
        """Every entry and the verification result, as the export document."""
        records, anchor, anchor_error = self._snapshot()
        status = verify_chain(records, anchor=anchor, anchor_error=anchor_error)
        return export_document(records, status, anchor, exported_at=format_timestamp(self._clock())), status

    def export_json(self, path: Path | str, *, replace: bool = False) -> ChainStatus:
        """Write every entry and the verification result to ``path`` (atomically). An
        existing file is replaced only when asked: the name may be someone else's file."""
        document, status = self.export()
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        try:
            atomic_write(Path(path), text.encode("utf-8"), mode=0o600, make_parents=False,
                         exclusive=not replace)
        except FileExistsError:
            raise AuditError(f"{path} already exists; nothing was written",
                             hint="choose another file name, or replace it on purpose") from None
        return status
