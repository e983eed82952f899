"""QR modules as terminal text: two module rows per line with half-block characters.

Convention: the widget paints these lines dark-on-light (black foreground on a white
background), so the *inked* part of a glyph is a *dark* module:

    "█"  top dark,  bottom dark        "▀"  top dark,  bottom light
    "▄"  top light, bottom dark        " "  top light, bottom light

With that colouring the quiet zone is background white and the code scans. A matrix with
an odd number of rows gets one light row appended, which reads as extra quiet zone.
Terminal cells are about twice as tall as wide, so two rows per line keep modules square.
"""

from __future__ import annotations

from collections.abc import Sequence

from backends.qr.errors import QrError
from backends.qr.matrix import Matrix, check_matrix

GLYPH_FOR = {
    (True, True): "█",
    (True, False): "▀",
    (False, True): "▄",
    (False, False): " ",
}
MODULES_FOR = {glyph: modules for modules, glyph in GLYPH_FOR.items()}


def half_block_lines(matrix: Sequence[Sequence[bool]]) -> list[str]:
    rows = check_matrix(matrix)
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    return [
        "".join(GLYPH_FOR[top, bottom] for top, bottom in zip(upper, lower))
        for upper, lower in zip(rows[0::2], rows[1::2])
    ]


def matrix_from_half_blocks(lines: Sequence[str], *, rows: int | None = None) -> Matrix:
    """The matrix ``lines`` were rendered from.

    ``rows`` is the module row count; by default the matrix is taken to be square (as QR
    codes are), so a final half-line of padding is dropped when the width is odd.
    """
    if not lines or any(len(line) != len(lines[0]) for line in lines):
        raise QrError("half-block lines must be non-empty and of equal length")
    rows = len(lines[0]) if rows is None else rows
    if rows not in (2 * len(lines), 2 * len(lines) - 1):
        raise QrError(f"{len(lines)} half-block lines cannot hold {rows} module rows")
    matrix: Matrix = []
    for number, line in enumerate(lines, start=1):
        try:
            pairs = [MODULES_FOR[glyph] for glyph in line]
        except KeyError as exc:
            raise QrError(f"line {number} holds {exc.args[0]!r}, which is not a half-block glyph") from None
        matrix.append([top for top, _ in pairs])
        matrix.append([bottom for _, bottom in pairs])
    if rows < len(matrix):
        if any(matrix[-1]):
            raise QrError("the padding half of the last line must be light")
        matrix.pop()
    return matrix
