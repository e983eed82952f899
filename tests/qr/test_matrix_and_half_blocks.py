from __future__ import annotations

import random
import subprocess
import sys

import pytest

from backends.qr import (
    PayloadTooLarge,
    QrError,
    alphanumeric_capacity,
    half_block_lines,
    matrix_from_half_blocks,
    qr_matrix,
)

PAYLOADS = [
    "hello",
    "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ",
    "bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq?amount=0.0105&label=refill",
    b"\x00\xffbinary\x80payload" * 20,
    "B$ZP0100" + "A" * 900,
]


def side(version: int, border: int) -> int:
    return 4 * version + 17 + 2 * border


@pytest.mark.parametrize(
    ("version", "characters"),
    [(1, 25), (11, 468), (23, 1588), (27, 2132), (33, 3009), (40, 4296)],
)
def test_alphanumeric_capacity_matches_the_bbqr_spec_table(version: int, characters: int) -> None:
    assert alphanumeric_capacity(version) == characters


@pytest.mark.parametrize("version", [1, 9, 10, 26, 27, 39])
def test_the_smallest_version_that_holds_the_payload_is_chosen(version: int) -> None:
    exact = "A" * alphanumeric_capacity(version)
    assert len(qr_matrix(exact, border=0)) == side(version, 0)
    assert len(qr_matrix(exact + "A", border=0)) == side(version + 1, 0)


def test_a_payload_larger_than_one_code_is_refused_with_a_hint() -> None:
    with pytest.raises(PayloadTooLarge, match="do not fit one QR code") as caught:
        qr_matrix("A" * 4297)
    assert "BBQr" in caught.value.hint
    with pytest.raises(PayloadTooLarge):
        qr_matrix(b"\x01" * 3000)


def test_a_minimum_version_and_border_are_honoured() -> None:
    assert len(qr_matrix("hello", version=5, border=3)) == side(5, 3)
    matrix = qr_matrix("hello", border=2)
    assert not any(matrix[0]) and not any(row[0] or row[1] or row[-1] for row in matrix)


def test_an_unknown_error_correction_level_is_refused() -> None:
    with pytest.raises(QrError, match="error-correction"):
        qr_matrix("hello", ecc="X")


def test_glyphs_ink_the_dark_modules_for_dark_on_light_rendering() -> None:
    matrix = [[True, True, False, False], [True, False, True, False]]
    assert half_block_lines(matrix) == ["█▀▄ "]


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: repr(p)[:20])
@pytest.mark.parametrize("border", [0, 1, 2, 4])
def test_half_block_rendering_decodes_back_to_the_exact_qr_matrix(payload, border: int) -> None:
    matrix = qr_matrix(payload, border=border)
    lines = half_block_lines(matrix)
    assert len(lines) == (len(matrix) + 1) // 2
    assert all(len(line) == len(matrix) for line in lines)
    assert matrix_from_half_blocks(lines) == matrix


@pytest.mark.parametrize(("rows", "columns"), [(1, 1), (2, 3), (7, 4), (8, 8), (21, 21), (30, 17)])
def test_half_block_rendering_round_trips_odd_and_even_row_counts(rows: int, columns: int) -> None:
    rng = random.Random(rows * 100 + columns)
    matrix = [[rng.random() < 0.5 for _ in range(columns)] for _ in range(rows)]
    lines = half_block_lines(matrix)
    assert matrix_from_half_blocks(lines, rows=rows) == matrix


def test_foreign_characters_in_half_block_text_are_refused() -> None:
    with pytest.raises(QrError, match="not a half-block glyph"):
        matrix_from_half_blocks(["█x"], rows=2)
    with pytest.raises(QrError):
        half_block_lines([[True], [True, False]])


def test_the_qr_backend_never_imports_textual_or_rich() -> None:
    code = "import sys, backends.qr; assert not {'textual', 'rich', 'PIL'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
