"""Fetching from a board on a local path without starting git: copy the posts' objects.

A ``git fetch`` from a local path starts four processes (fetch, upload-pack, pack-objects,
unpack-objects); a node waiting on a round of fifteen posts would fetch up to fifteen
times. What it needs from each new post is seven small objects: the commit, the trees on
the post's path, the post file. When the board's branch moved forward along single-parent
commits whose objects are loose files (what every push of fewer than
``receive.unpackLimit`` objects leaves), this module reads them there, checks each one's
hash, copies the ones a commit changed relative to its parent, children before the
commit that names them, and moves ``refs/board/remote/<branch>`` like ``git fetch``
would. Anything else (a first fetch, a merge, a packed or oversized object, a history
rewritten under the node) answers False and the caller runs ``git fetch``.
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

from git.objects.fun import tree_entries_from_data
from gitdb import IStream
from gitdb.db.loose import LooseObjectDB
from gitdb.exc import ODBError

from .objects import BoardObjects

#: new commits copied this way at most (a node that was away for longer lets git fetch)
MAX_COMMITS = 256
#: the largest object copied this way (a post is at most 256 KiB; trees are far smaller)
MAX_OBJECT_BYTES = 512 * 1024
#: folders nested at most this deep are copied this way (a post sits five deep)
MAX_DEPTH = 16
_TREE = 0o040000
_GITLINK = 0o160000
_SHA1_HEX = 40


class _NotHere(Exception):
    """An object this copy cannot take: leave the fetch to git."""


def fetch_local(board_objects: Path, odb: BoardObjects, known: str | None, tip: str) -> bool:
    """Copy into ``odb`` what ``known..tip`` on the board adds; True when it did (and
    every object of ``tip`` is then in ``odb``), False when git fetch must do it."""
    if known is None or len(tip) != _SHA1_HEX or len(known) != _SHA1_HEX:
        return False  # the first fetch (history comes as a pack), or a SHA-256 board
    source = LooseObjectDB(str(board_objects))
    try:
        chain: list[tuple[bytes, bytes, bytes]] = []
        sha = bytes.fromhex(tip)
        stop = bytes.fromhex(known)
        while sha != stop:
            if len(chain) >= MAX_COMMITS:
                return False
            data = _read(source, sha, b"commit")
            tree, parents = _commit_links(data)
            if len(parents) != 1:
                return False
            chain.append((sha, data, tree))
            sha = parents[0]
        old_tree = _commit_links(_own(odb, stop, b"commit"))[0]
        for sha, data, tree in reversed(chain):
            _copy_tree(source, odb, tree, old_tree)
            _write(odb, b"commit", data, sha)
            old_tree = tree
    except _NotHere:
        return False
    return True


def _read(source: LooseObjectDB, sha: bytes, kind: bytes) -> bytes:
    """A loose object of the board, its size bounded and its hash checked."""
    try:
        info = source.info(sha)
        if info.type != kind or info.size > MAX_OBJECT_BYTES:
            raise _NotHere
        data = source.stream(sha).read()
    except (ODBError, OSError, ValueError):
        raise _NotHere from None  # packed on the board, or not readable here
    if len(data) != info.size or hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).digest() != sha:
        raise _NotHere  # not the object its name says: git fetch will refuse it loudly
    return data


def _own(odb: BoardObjects, sha: bytes, kind: bytes) -> bytes:
    try:
        stream = odb.stream(sha)
        if stream.type != kind:
            raise _NotHere
        return stream.read()
    except (ODBError, OSError, ValueError):
        raise _NotHere from None


def _write(odb: BoardObjects, kind: bytes, data: bytes, sha: bytes) -> None:
    if odb.has_object(sha):  # a loose file already (this node's own post, say)
        return
    stored = odb.store(IStream(kind, len(data), BytesIO(data)))
    if stored.binsha != sha:  # cannot happen for data whose hash _read checked
        raise _NotHere


def _commit_links(data: bytes) -> tuple[bytes, list[bytes]]:
    tree, parents = None, []
    for line in data.split(b"\n\n", 1)[0].split(b"\n"):
        key, _, value = line.partition(b" ")
        if key in (b"tree", b"parent"):
            try:
                sha = bytes.fromhex(value.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise _NotHere from None
            if len(sha) != 20:
                raise _NotHere
            if key == b"tree":
                tree = sha
            else:
                parents.append(sha)
    if tree is None:
        raise _NotHere
    return tree, parents


def _entries(data: bytes) -> dict[str, tuple[bytes, int]]:
    try:
        return {name: (sha, mode) for sha, mode, name in tree_entries_from_data(data)}
    except (ValueError, IndexError, UnicodeDecodeError):
        raise _NotHere from None


def _copy_tree(source: LooseObjectDB, odb: BoardObjects, tree: bytes, old: bytes | None, depth: int = 0) -> None:
    """Copy ``tree``, descending only where it differs from ``old`` (a tree this node
    has, with everything under it)."""
    if tree == old:
        return
    if depth > MAX_DEPTH:
        raise _NotHere  # deeper than any board layout: not this copy's business
    data = _read(source, tree, b"tree")
    before = _entries(_own(odb, old, b"tree")) if old is not None else {}
    for name, (sha, mode) in _entries(data).items():
        if before.get(name) == (sha, mode) or mode == _GITLINK:
            continue
        if mode == _TREE:
            previous = before.get(name)
            _copy_tree(source, odb, sha, previous[0] if previous and previous[1] == _TREE else None, depth + 1)
        else:
            _write(odb, b"blob", _read(source, sha, b"blob"), sha)
    _write(odb, b"tree", data, tree)
