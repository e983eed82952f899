from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from backends.qr import QrError, export_png, export_svg, qr_matrix

SVG = "{http://www.w3.org/2000/svg}"


def read_png(path: Path) -> tuple[int, int, list[list[int]]]:
    """A minimal PNG reader for 1-bit greyscale, checking every CRC: (width, height, pixels)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        offset += 12 + length
    assert [kind for kind, _ in chunks][0] == b"IHDR" and chunks[-1] == (b"IEND", b"")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (1, 0, 0, 0, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = (width + 7) // 8
    assert len(raw) == height * (stride + 1)
    pixels = []
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        assert line[0] == 0, "only filter type 0 is expected"
        bits = "".join(f"{byte:08b}" for byte in line[1:])
        pixels.append([int(bit) for bit in bits[:width]])
    return width, height, pixels


def scaled(matrix: list[list[bool]], scale: int) -> list[list[int]]:
    """Expected pixels: 0 (black) for dark modules, 1 (white) for light ones."""
    return [[0 if dark else 1 for dark in row for _ in range(scale)] for row in matrix for _ in range(scale)]


@pytest.mark.parametrize("scale", [1, 3, 8])
def test_png_decodes_to_the_scaled_matrix(tmp_path: Path, scale: int) -> None:
    matrix = qr_matrix("bitcoin:bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", border=2)
    target = export_png(matrix, tmp_path / "out" / "address.png", scale=scale)
    width, height, pixels = read_png(target)
    assert (width, height) == (len(matrix) * scale, len(matrix) * scale)
    assert pixels == scaled(matrix, scale)
    assert [path.name for path in target.parent.iterdir()] == ["address.png"]


def test_png_of_a_payload_has_the_standard_quiet_zone(tmp_path: Path) -> None:
    width, _, pixels = read_png(export_png("HELLO", tmp_path / "hello.png", scale=2))
    assert pixels == scaled(qr_matrix("HELLO", border=4), 2)
    assert width == (21 + 8) * 2


def test_png_handles_widths_that_are_not_a_multiple_of_eight(tmp_path: Path) -> None:
    matrix = [[True, False, True], [False, True, False]]
    _, _, pixels = read_png(export_png(matrix, tmp_path / "tiny.png", scale=1))
    assert pixels == [[0, 1, 0], [1, 0, 1]]


def svg_dark_modules(root: ET.Element) -> set[tuple[int, int]]:
    path = root.find(f"{SVG}path")
    assert path is not None and path.get("fill") == "#000000"
    dark = set()
    for x, y, run in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\3z", path.get("d")):
        dark.update((int(x) + offset, int(y)) for offset in range(int(run)))
    assert re.sub(r"M(\d+) (\d+)h(\d+)v1h-\3z", "", path.get("d")) == ""
    return dark


def test_svg_is_well_formed_with_a_white_background_and_every_dark_module(tmp_path: Path) -> None:
    payload = "B$ZP0100" + "A" * 300
    target = export_svg(payload, tmp_path / "part.svg", scale=4)
    root = ET.parse(target).getroot()
    matrix = qr_matrix(payload, border=4)
    size = len(matrix)
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {size} {size}"
    assert (root.get("width"), root.get("height")) == (str(size * 4), str(size * 4))
    background = root.find(f"{SVG}rect")
    assert background.get("fill") == "#ffffff" and background.get("width") == str(size)
    dark = svg_dark_modules(root)
    assert len(dark) == sum(map(sum, matrix))
    assert dark == {(x, y) for y, row in enumerate(matrix) for x, module in enumerate(row) if module}
    # the quiet zone stays clear
    assert all(4 <= x < size - 4 and 4 <= y < size - 4 for x, y in dark)


def test_images_refuse_a_bad_scale_or_ragged_matrix(tmp_path: Path) -> None:
    with pytest.raises(QrError):
        export_png("HELLO", tmp_path / "a.png", scale=0)
    with pytest.raises(QrError):
        export_svg([[True], [True, False]], tmp_path / "a.svg")
    assert not list(tmp_path.iterdir())
