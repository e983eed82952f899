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
from backends.sqlitedb import open_private_database

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
    return open_private_database(path, SCHEMA, SCHEMA_VERSION, AuditError, "audit log")


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
    text = record["details"]
    try:
        parsed = load_json(text, max_bytes=MAX_DETAILS_BYTES, what="audit details")
        if isinstance(parsed, dict) and canonical_json(parsed) == text:
            record["details"] = parsed
    except (TypeError, ValueError):
        pass
    return record
