"""A private SQLite ledger file: created at mode 0600, WAL, full sync, a checked schema version.

Shared by every backend that keeps a ledger (the audit log, the mint): one place decides
how such a file is created and opened, so none of them can get the mode or durability wrong.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Callable

from backends.errors import CustodyError


def open_private_database(
    path: Path,
    schema: str,
    schema_version: int,
    error: Callable[..., CustodyError],
    what: str,
) -> sqlite3.Connection:
    """Open (creating if needed) ``path`` in autocommit mode; every transaction is explicit.

    ``what`` names the file for the operator ("audit log", "mint ledger"); failures raise
    ``error(message, hint=...)``.
    """
    created = not path.exists()
    if created:
        # created private before SQLite opens it, so there is no moment at the umask's
        # mode, and the -wal and -shm files SQLite adds take this mode from it
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.executescript(schema)
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            connection.execute(f"PRAGMA user_version={schema_version}")
        elif version != schema_version:
            connection.close()
            raise error(
                f"{what} {path} has schema version {version}; this custody-tui reads version {schema_version}",
                hint="open it with the custody-tui release that wrote it",
            )
    except sqlite3.DatabaseError as exc:
        raise error(
            f"cannot open {what} {path}: {exc}",
            hint=f"check the file is the {what} and not in use by another program",
        ) from exc
    if created:
        os.chmod(path, 0o600)
    return connection
