"""Logging: to stderr for CLI commands, to a private file while the app owns the terminal.

Backends log no secrets; the file is 0600 all the same, because it may name labels,
addresses and paths that an operator would not publish.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from backends.fsutil import ensure_private_dir

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_stderr() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def log_to_file(data_dir: Path) -> Path:
    """Send all logging to DATA_DIR/logs/custody-tui.log (the screen is the app's)."""
    path = ensure_private_dir(data_dir / "logs") / "custody-tui.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
