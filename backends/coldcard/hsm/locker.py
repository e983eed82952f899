"""The storage locker: a 416-byte secure-element slot, a 2-byte length then the text.

It is written when a policy with ``set_sl`` is activated and survives power cycles.
"""

from __future__ import annotations

import struct
from pathlib import Path

from backends.coldcard.hsm.policy import STORAGE_LOCKER_LEN
from backends.fsutil import atomic_write


class StorageLocker:
    FILENAME = "hsm-storage-locker.bin"

    def __init__(self, state_dir: Path | None) -> None:
        #: ``None``: kept in memory only (an engine that must keep nothing: pre-flight)
        self.path = Path(state_dir) / self.FILENAME if state_dir is not None else None
        self._slot: bytes | None = None

    def write(self, text: str) -> None:
        value = text.encode("utf8")
        slot = bytearray(STORAGE_LOCKER_LEN)
        struct.pack_into("<H", slot, 0, len(value))
        slot[2 : 2 + len(value)] = value
        if self.path is None:
            self._slot = bytes(slot)
            return
        atomic_write(self.path, bytes(slot), mode=0o600)

    def read(self) -> bytes | None:
        """The stored bytes, or ``None`` if never written (a blank slot reads as empty)."""
        if self.path is None:
            slot = self._slot
            if slot is None:
                return None
        else:
            try:
                slot = self.path.read_bytes()
            except FileNotFoundError:
                return None
        (length,) = struct.unpack_from("<H", slot, 0)
        return slot[2 : 2 + min(length, STORAGE_LOCKER_LEN - 2)]
