"""Byte encodings shared by the backends that speak bitcoin's wire format."""

from __future__ import annotations


def compact_size(n: int) -> bytes:
    """Bitcoin's CompactSize: one byte below 0xFD, else a marker and 2, 4 or 8 bytes."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")
