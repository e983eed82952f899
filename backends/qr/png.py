"""Write a QR code as a PNG with the standard library alone (no Pillow).

1-bit greyscale (colour type 0, bit depth 1): a 0 bit is black, a 1 bit white. Every
scanline uses filter type 0 and the whole image is one zlib-compressed IDAT chunk.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

from backends.fsutil import atomic_write
from backends.qr.errors import QrError
from backends.qr.matrix import Matrix, as_matrix

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _scanline(row: list[bool], scale: int) -> bytes:
    bits = "".join(("0" if dark else "1") * scale for dark in row)
    bits += "1" * (-len(bits) % 8)  # padding bits of the last byte are ignored by readers
    return b"\x00" + int(bits, 2).to_bytes(len(bits) // 8, "big")


def png_bytes(matrix: Matrix, *, scale: int = 8) -> bytes:
    if scale < 1:
        raise QrError("the PNG scale must be at least one pixel per module")
    width, height = len(matrix[0]) * scale, len(matrix) * scale
    image = b"".join(_scanline(row, scale) * scale for row in matrix)
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(image, 9)) + _chunk(b"IEND", b"")


def export_png(
    payload_or_matrix: str | bytes | Sequence[Sequence[bool]], path: Path | str, *, scale: int = 8, ecc: str = "L",
    make_parents: bool = True,
) -> Path:
    """Write the code to ``path`` atomically. A payload gets the standard 4-module quiet zone;
    a matrix is drawn as given. A path an operator typed passes ``make_parents=False``."""
    target = Path(path)
    image = png_bytes(as_matrix(payload_or_matrix, ecc=ecc), scale=scale)
    atomic_write(target, image, mode=0o644, make_parents=make_parents)
    return target
