"""The SQLite file behind the audit log: schema, connection and the writer lock.

SQLite runs in WAL mode so readers (the audit screen, a verification) never block the
appender. Appends take ``BEGIN IMMEDIATE`` so two writers cannot both read the same head
and fork the chain; an advisory file lock additionally spans the commit *and* the anchor
write, so across processes the anchor is always written in the same order as the rows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from backends.audit.entry import canonical_json
from backends.audit.errors import AuditError
from backends.outside_input import load_json

SCHEMA_VERSION = 1
#: stored details larger than this are kept as raw text (the hash check then reports the row)
MAX_DETAILS_BYTES = 1024 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq       INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    actor     TEXT NOT NULL,
    area      TEXT NOT NULL,
    action    TEXT NOT NULL,
    details   TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_area ON entries (area, seq);
"""
COLUMNS = ("seq", "timestamp", "actor", "area", "action", "details", "outcome", "prev_hash", "hash")


def open_database(path: Path) -> sqlite3.Connection:
    from backends.sqlite import open_wal_database

    return open_wal_database(
        path, SCHEMA, SCHEMA_VERSION, what="audit log", error=AuditError,
        hint="check the file is an audit database and not in use by another program",
    )


@contextlib.contextmanager
def file_lock(lock_path: Path, *, exclusive: bool) -> Iterator[None]:
    """Advisory lock shared by every process that opens the same audit log."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def row_to_record(row: tuple[Any, ...]) -> dict[str, Any]:
    """A stored row as the record the hash covers.

    Details are parsed back from their stored canonical JSON. If the stored text is not
    canonical (reformatted or not JSON at all) the raw text is kept, so the hash check
    fails and the row is reported rather than silently normalised.
    """
    record = dict(zip(COLUMNS, row))
    for name in COLUMNS[1:]:
        # SQLite keeps any type in a TEXT column: a blob or a number written there by
        # hand becomes text that no longer hashes, so the row is reported, not a crash
        record[name] = text_value(record[name])
    text = record["details"]
    try:
        parsed = load_json(text, max_bytes=MAX_DETAILS_BYTES, what="audit details")
        if isinstance(parsed, dict) and canonical_json(parsed) == text:
            record["details"] = parsed
    except (TypeError, ValueError):
        pass
    return record


def text_value(value: Any) -> str:
    """A stored TEXT column's value as text, whatever type SQLite actually holds."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "x'" + value.hex() + "'"
    return repr(value)
