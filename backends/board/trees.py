"""Git trees edited along one path: a post touches the trees on its own path only.

Posting never checks out a work tree and never reads the whole tree into an index, so
its cost does not grow with the number of past ceremonies (the widest tree on the way
is one shard of them).
"""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from git import Repo
from git.objects import Blob, Tree
from git.objects.fun import tree_to_stream
from gitdb import IStream

from .errors import PostConflict

BLOB_MODE = 0o100644
TREE_MODE = 0o040000


def _store(repo: Repo, kind: bytes, data: bytes) -> bytes:
    # written as a loose object in this process (the board opens its copy with
    # ``objects.BoardObjects``); GitPython's default database would start one
    # `git hash-object` per object, six per post
    return repo.odb.store(IStream(kind, len(data), BytesIO(data))).binsha


def store_blob(repo: Repo, data: bytes) -> bytes:
    return _store(repo, Blob.type, data)


def _store_tree(repo: Repo, entries: dict[str, tuple[bytes, int]]) -> bytes:
    # git orders a tree's entries by name, a subtree's name compared as if it ended in "/"
    ordered = sorted(((sha, mode, name) for name, (sha, mode) in entries.items()),
                     key=lambda e: e[2] + ("/" if e[1] == TREE_MODE else ""))
    stream = BytesIO()
    tree_to_stream(ordered, stream.write)
    data = stream.getvalue()
    return _store(repo, Tree.type, data)


def _entries(tree: Tree | None) -> dict[str, tuple[bytes, int]]:
    if tree is None:
        return {}
    return {item.name: (item.binsha, item.mode) for item in tree}


def put(repo: Repo, tree: Tree | None, parts: list[str], blob: bytes, *, whole: str,
        displace: Callable[[Blob | Tree], bool] | None = None) -> bytes | None:
    """The sha of ``tree`` with ``blob`` at ``parts``; None when that exact blob is already
    there. Something else there is a :class:`PostConflict` (posts are written once), unless
    ``displace`` says it may go (it is not a valid post) or, with ``displace``, it is a file
    where a folder belongs (never a post)."""
    entries = _entries(tree)
    name = parts[0]
    if len(parts) == 1:
        if name in entries:
            sha, mode = entries[name]
            if (sha, mode) == (blob, BLOB_MODE):
                return None
            existing = Tree(repo, sha, mode, name) if mode == TREE_MODE else Blob(repo, sha, mode, name)
            if displace is None or not displace(existing):
                raise PostConflict(f"{whole}: a different post is already on the board there; a post is written once")
        entries[name] = (blob, BLOB_MODE)
        return _store_tree(repo, entries)
    sub = None
    if name in entries:
        sha, mode = entries[name]
        if mode == TREE_MODE:
            sub = Tree(repo, sha, mode, name)
        elif displace is None:
            raise PostConflict(f"{whole}: the board has a file where a folder is expected")
    new_sub = put(repo, sub, parts[1:], blob, whole=whole, displace=displace)
    if new_sub is None:
        return None
    entries[name] = (new_sub, TREE_MODE)
    return _store_tree(repo, entries)


def get(tree: Tree | None, parts: list[str]) -> Tree | Blob | None:
    """The object at ``parts`` under ``tree``, or None; reads only the trees on the way."""
    node: Tree | Blob | None = tree
    for name in parts:
        if not isinstance(node, Tree):
            return None
        found = None
        for item in node:
            if item.name == name:
                found = item
                break
        node = found
        if node is None:
            return None
    return node
