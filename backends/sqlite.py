"""Opening a private SQLite database in WAL mode, the way every ledger here does.

The file is created at mode 0600 before SQLite opens it (so there is no moment at the
umask's mode, and the -wal and -shm files SQLite adds take their mode from it), the
connection is in autocommit mode (transactions are opened explicitly), and the schema
version is checked so an older release never misreads a newer file.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from backends.errors import CustodyError


def open_wal_database(
    path: Path, schema: str, version: int, *, what: str, error: type[CustodyError],
    synchronous: str = "FULL", hint: str | None = None,
) -> sqlite3.Connection:
    created = not path.exists()
    if created:
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        _enter_wal(connection, timeout=30.0)
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.executescript(schema)
        found = connection.execute("PRAGMA user_version").fetchone()[0]
        if found == 0:
            connection.execute(f"PRAGMA user_version={version}")
        elif found != version:
            connection.close()
            raise error(
                f"{what} {path} has schema version {found}; this custody-tui reads version {version}",
                hint="open it with the custody-tui release that wrote it",
            )
    except sqlite3.DatabaseError as exc:
        raise error(f"cannot open {what} {path}: {exc}", hint=hint) from exc
    if created:
        os.chmod(path, 0o600)
    return connection


def _enter_wal(connection: sqlite3.Connection, *, timeout: float) -> None:
    """``PRAGMA journal_mode=WAL``, waiting out another connection doing the same: on a new
    file SQLite answers "database is locked" at once instead of calling the busy handler,
    so two openers of a fresh database (two workers, two processes) would fail one."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


@contextlib.contextmanager
def immediate_transaction(
    db: sqlite3.Connection, *, busy: Callable[[sqlite3.OperationalError], CustodyError] | None = None,
) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` on an autocommit connection; any exception rolls
    everything back. IMMEDIATE takes the write lock up front, so two writers never both
    read a state that only one of them may change. ``busy`` turns a write lock that could
    not be had into the caller's typed error."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if busy is None:
            raise
        raise busy(exc) from exc
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextlib.contextmanager
def unsynced(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Commits made inside skip the fsync (``synchronous=NORMAL`` under WAL): they survive
    the process being killed, not a power cut, and the next synced commit makes them
    durable too. Only for a change whose loss the caller's recovery redoes (a cache, or a
    state the chain or another ledger can give back); the connection's setting is
    restored after. The caller holds whatever lock serialises use of ``db``."""
    (was,) = db.execute("PRAGMA synchronous").fetchone()
    db.execute("PRAGMA synchronous=NORMAL")
    try:
        yield db
    finally:
        db.execute(f"PRAGMA synchronous={int(was)}")
