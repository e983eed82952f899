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
        connection.execute("PRAGMA journal_mode=WAL")
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
