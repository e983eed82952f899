from __future__ import annotations

from pathlib import Path


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file's bytes and mode: equal snapshots mean nothing on disk changed."""
    return {
        path.name: (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(directory.iterdir())
    }
