"""Write a QR code as a small, clean SVG: a white background and one black path.

The path is drawn in module units (``viewBox``) as horizontal runs of dark modules, which
keeps the file small and lets any renderer scale it without seams (``crispEdges``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from backends.fsutil import atomic_write
from backends.qr.errors import QrError
from backends.qr.matrix import Matrix, as_matrix


def _dark_runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start column, length) of each run of dark modules."""
    runs, start = [], None
    for column, dark in enumerate([*row, False]):
        if dark and start is None:
            start = column
        elif not dark and start is not None:
            runs.append((start, column - start))
            start = None
    return runs


def svg_text(matrix: Matrix, *, scale: int = 8) -> str:
    if scale < 1:
        raise QrError("the SVG scale must be at least one unit per module")
    width, height = len(matrix[0]), len(matrix)
    path = "".join(
        f"M{start} {y}h{length}v1h-{length}z" for y, row in enumerate(matrix) for start, length in _dark_runs(row)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width * scale}" height="{height * scale}" '
        f'viewBox="0 0 {width} {height}" shape-rendering="crispEdges">\n'
        f'  <rect width="{width}" height="{height}" fill="#ffffff"/>\n'
        f'  <path fill="#000000" d="{path}"/>\n'
        "</svg>\n"
    )


def export_svg(
    payload_or_matrix: str | bytes | Sequence[Sequence[bool]], path: Path | str, *, scale: int = 8, ecc: str = "L",
    make_parents: bool = True,
) -> Path:
    """Write the code to ``path`` atomically. A payload gets the standard 4-module quiet zone;
    a matrix is drawn as given. A path an operator typed passes ``make_parents=False``."""
    target = Path(path)
    image = svg_text(as_matrix(payload_or_matrix, ecc=ecc), scale=scale).encode("utf-8")
    atomic_write(target, image, mode=0o644, make_parents=make_parents)
    return target
