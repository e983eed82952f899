"""A branch's head read straight from a git directory's files, without a git process.

Git's files backend keeps a ref as a loose file (``refs/...``, written whole and renamed
into place, so a read never sees half of one) or, once packed, as a line of
``packed-refs``. Anything else (a symbolic ref, a reftable repository, an unreadable
file) is :class:`Unreadable`, and the caller asks git instead.
"""

from __future__ import annotations

import re
from pathlib import Path

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_files_backend(git_dir: Path) -> bool:
    """Whether ``git_dir`` looks like a repository whose refs these reads understand."""
    return (git_dir / "HEAD").is_file() and (git_dir / "objects").is_dir() and (git_dir / "refs").is_dir() \
        and not (git_dir / "reftable").exists()


class Unreadable(Exception):
    """Not a plain ref these reads understand."""


def read_ref(git_dir: Path, name: str) -> str | None:
    """The object id ``name`` (``refs/...``) holds in ``git_dir``, None when there is no
    such ref, :class:`Unreadable` when it is not plainly readable here."""
    try:
        text = (git_dir / name).read_text("ascii", errors="replace").strip()
    except FileNotFoundError:
        text = None
    except OSError:
        raise Unreadable(name) from None
    if text is not None:
        if not _SHA.fullmatch(text):
            raise Unreadable(name)
        return text
    try:
        packed = (git_dir / "packed-refs").read_text("ascii", errors="replace")
    except FileNotFoundError:
        return None
    except OSError:
        raise Unreadable(name) from None
    for line in packed.splitlines():
        sha, _, ref = line.partition(" ")
        if ref == name and _SHA.fullmatch(sha):
            return sha
    return None
