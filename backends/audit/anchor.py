"""The head anchor: a small file next to the database naming the last entry.

A hash chain alone cannot show that its newest entries were deleted: the shorter chain is
still internally valid. The anchor records the last seq and hash after every append, so
a log shorter than its anchor is reported as truncated. It is written atomically (temp
file, fsync, rename) so a crash leaves the old or the new anchor, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from backends.fsutil import atomic_write
from backends.outside_input import load_json

ANCHOR_FORMAT = "custody-tui-audit-anchor/1"


@dataclass(frozen=True)
class HeadAnchor:
    seq: int
    hash: str


class AnchorUnreadable(Exception):
    """The anchor file exists but does not hold a valid anchor (internal; verify reports it)."""


def anchor_path_for(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".head")


def write_anchor(path: Path, anchor: HeadAnchor) -> None:
    document = {"format": ANCHOR_FORMAT, "seq": anchor.seq, "hash": anchor.hash}
    atomic_write(path, (json.dumps(document, sort_keys=True) + "\n").encode("utf-8"), mode=0o600)


def read_anchor(path: Path) -> HeadAnchor | None:
    """The recorded head, or None when no anchor file exists yet."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorUnreadable(f"cannot read {path.name}: {exc.__class__.__name__}") from exc
    try:
        document = load_json(raw, max_bytes=4096, what="head anchor")
        seq, head_hash = document["seq"], document["hash"]
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorUnreadable(f"{path.name} is not a valid head anchor") from exc
    if document.get("format") != ANCHOR_FORMAT or not isinstance(seq, int) or not isinstance(head_hash, str):
        raise AnchorUnreadable(f"{path.name} is not a valid head anchor")
    return HeadAnchor(seq=seq, hash=head_hash)
