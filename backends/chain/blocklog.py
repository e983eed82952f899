"""Append-only log of every block the embedded chain connected, fsynced per block.

The kernel keeps new blocks in memory until it is destroyed, so a hard kill loses them; this
log is replayed into the kernel on open (blocks it already has come back as duplicates).
Record: ``length (4 bytes LE) | first 4 bytes of sha256d(block) | block``. A torn last
record (power loss mid-write) is cut off on open. ``flushed`` remembers the offset up to
which a clean close made the kernel persist everything, so replay starts there.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Iterator

from ..fsutil import atomic_write, fsync_dir
from .serialize import sha256d

_HEADER = struct.Struct("<I4s")


class BlockLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._flushed_path = self.path.with_name(self.path.name + ".flushed")
        new = not self.path.exists()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        if new:
            fsync_dir(self.path.parent)
        self._truncate_torn_tail()

    def append(self, raw_block: bytes) -> None:
        record = _HEADER.pack(len(raw_block), sha256d(raw_block)[:4]) + raw_block
        written = os.write(self._fd, record)
        if written != len(record):
            raise OSError(f"short write to {self.path}")
        os.fsync(self._fd)

    def replay(self, start: int = 0) -> Iterator[bytes]:
        """Blocks from byte offset ``start`` (a record boundary) on, in order."""
        yield from (raw for _, raw in self._records(start))

    def flushed(self) -> tuple[int, str | None]:
        """(offset, tip hash) written by the last clean close, or (0, None)."""
        try:
            offset, tip_hash = self._flushed_path.read_text().split()
            return int(offset), tip_hash
        except (FileNotFoundError, ValueError):
            return 0, None

    def flushed_offset(self) -> int:
        return self.flushed()[0]

    def mark_flushed(self, tip_hash_hex: str) -> None:
        size = os.fstat(self._fd).st_size
        atomic_write(self._flushed_path, f"{size} {tip_hash_hex}\n".encode())

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _records(self, start: int) -> Iterator[tuple[int, bytes]]:
        with open(self.path, "rb") as handle:
            handle.seek(start)
            offset = start
            while True:
                header = handle.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    return
                length, check = _HEADER.unpack(header)
                raw = handle.read(length)
                if len(raw) < length or sha256d(raw)[:4] != check:
                    return
                offset += _HEADER.size + length
                yield offset, raw

    def _truncate_torn_tail(self) -> None:
        end = self.flushed_offset()
        for end, _ in self._records(end):
            pass
        if end != os.fstat(self._fd).st_size:
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
            if self.flushed_offset() > end:
                self._flushed_path.unlink(missing_ok=True)
