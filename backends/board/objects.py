"""The node's object database: loose objects read and written in this process, small
objects kept once read.

GitPython's default database asks a ``git cat-file`` process for every object header and
every object read, and starts a ``git hash-object`` for every object it writes: a
round trip per tree on the way to each post, thousands per ceremony among fifteen nodes.
Almost everything a node reads is loose (its own posts, and what ``git fetch`` unpacks:
fewer than ``fetch.unpackLimit`` objects arrive as loose files), so those are inflated
here with zlib; only objects git has packed (a first clone of a long history, or after
``git gc``) still go through the one long-lived ``cat-file`` process per node.

An object is named by the hash of its content, so one read once is the same bytes
forever: trees and posts read again on every pass over a ceremony come from memory.
Reading here trusts nothing git would not: ``git fetch`` checked every object's hash
when it wrote it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zlib
from collections import OrderedDict
from io import BytesIO

from git.db import GitCmdObjectDB
from gitdb import IStream, OInfo, OStream
from gitdb.db.loose import LooseObjectDB
from gitdb.exc import BadObject

#: objects larger than this are never kept (a post is at most 256 KiB)
KEEP_OBJECT_BYTES = 256 * 1024
#: bytes of objects kept per node process
KEEP_TOTAL_BYTES = 32 * 1024 * 1024


class BoardObjects(GitCmdObjectDB):
    """Loose objects in this process; packed ones through git; small ones kept."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._kept: OrderedDict[bytes, tuple[bytes, bytes]] = OrderedDict()
        self._kept_bytes = 0

    def info(self, binsha: bytes) -> OInfo:
        kept = self._kept.get(binsha)
        if kept is not None:
            return OInfo(binsha, kept[0], len(kept[1]))
        try:
            return LooseObjectDB.info(self, binsha)
        except (BadObject, OSError):  # packed (or packed since this process looked)
            return super().info(binsha)

    def stream(self, binsha: bytes) -> OStream:
        kept = self._kept.get(binsha)
        if kept is None:
            try:
                found = LooseObjectDB.stream(self, binsha)
            except (BadObject, OSError):
                found = super().stream(binsha)
            if found.size > KEEP_OBJECT_BYTES:
                return found
            kept = (found.type, found.read())
            self._keep(binsha, kept)
        else:
            self._kept.move_to_end(binsha)
        return OStream(binsha, kept[0], len(kept[1]), BytesIO(kept[1]))

    def _keep(self, binsha: bytes, kept: tuple[bytes, bytes]) -> None:
        self._kept[binsha] = kept
        self._kept_bytes += len(kept[1])
        while self._kept_bytes > KEEP_TOTAL_BYTES:
            _, dropped = self._kept.popitem(last=False)
            self._kept_bytes -= len(dropped[1])

    def store(self, istream: IStream) -> IStream:
        """Write a loose object as git does: zlib of ``<type> <size>\\0<data>`` to a
        temporary file renamed into ``objects/xx/``; an object already there is not
        written again (posts and copied trees often are)."""
        if istream.binsha is not None:
            return LooseObjectDB.store(self, istream)
        data = istream.read()
        kind = istream.type if isinstance(istream.type, bytes) else istream.type.encode("ascii")
        raw = b"%s %d\0" % (kind, len(data)) + data
        binsha = hashlib.sha1(raw).digest()
        hexsha = binsha.hex()
        folder = os.path.join(self.root_path(), hexsha[:2])
        target = os.path.join(folder, hexsha[2:])
        if not os.path.exists(target):
            os.makedirs(folder, exist_ok=True)
            fd, temporary = tempfile.mkstemp(prefix="tmp_obj_", dir=folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(zlib.compress(raw, 1))
                os.chmod(temporary, 0o444)
                os.replace(temporary, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        istream.binsha = binsha
        return istream
