from __future__ import annotations

import base64
import hashlib
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.qr import (
    MAX_PARTS,
    BBQrCollector,
    BBQrConflictingParts,
    BBQrError,
    BBQrMalformedPart,
    BBQrMissingParts,
    BBQrMixedParts,
    PayloadTooLarge,
    bbqr_join,
    bbqr_series,
    bbqr_split,
    parse_part,
    qr_matrix,
)


def incompressible(size: int) -> bytes:
    blocks = (hashlib.sha256(index.to_bytes(4, "big")).digest() for index in range(size // 32 + 1))
    return b"".join(blocks)[:size]


PSBT_LIKE = b"psbt\xff" + b"\x01\x00\x00\x00" * 600


def test_a_small_compressible_psbt_is_one_zlib_part_with_the_spec_header() -> None:
    parts = bbqr_split(PSBT_LIKE, "P")
    assert len(parts) == 1 and parts[0][:8] == "B$ZP0100"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -10)
    expected = base64.b32encode(compressor.compress(PSBT_LIKE) + compressor.flush()).decode().rstrip("=")
    assert parts[0][8:] == expected


@pytest.mark.parametrize(
    ("data", "file_type", "encoding", "expected"),
    [
        (b"\x01\x02", "B", "H", "B$HB01000102"),
        (b"hello", "U", "2", "B$2U0100NBSWY3DP"),
        (b"", "J", "2", "B$2J0100"),
        (b"", "T", "H", "B$HT0100"),
    ],
)
def test_single_part_headers_follow_the_spec(data, file_type, encoding, expected) -> None:
    assert bbqr_split(data, file_type, encoding=encoding) == [expected]
    assert bbqr_join([expected]) == (file_type, data)


def test_zlib_falls_back_to_base32_when_it_does_not_shrink_the_data() -> None:
    series = bbqr_series(incompressible(500), "T", encoding="Z")
    assert series.encoding == "2" and series.parts[0].startswith("B$2T")


@pytest.mark.parametrize("encoding", ["H", "2", "Z"])
def test_a_long_series_counts_parts_in_two_base36_digits(encoding: str) -> None:
    data = incompressible(3000)
    series = bbqr_series(data, "P", encoding=encoding, min_version=1, max_version=2)
    total = len(series.parts)
    assert 36 < total <= MAX_PARTS
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for index, part in enumerate(series.parts):
        assert part[4:6] == digits[total // 36] + digits[total % 36]
        assert part[6:8] == digits[index // 36] + digits[index % 36]
    assert bbqr_join(series.parts) == ("P", data)


@pytest.mark.parametrize("encoding", ["H", "2", "Z"])
@pytest.mark.parametrize("size", [1, 100, 1500, 9000])
@pytest.mark.parametrize("max_version", [3, 12, 40])
def test_parts_are_even_block_aligned_and_fit_the_series_version(encoding, size, max_version) -> None:
    series = bbqr_series(incompressible(size), "B", encoding=encoding, min_version=1, max_version=max_version)
    block = 2 if series.encoding == "H" else 8
    bodies = [part[8:] for part in series.parts]
    assert len({len(body) for body in bodies[:-1]}) <= 1
    if len(bodies) > 1:
        assert len(bodies[0]) % block == 0 and 0 < len(bodies[-1]) <= len(bodies[0])
        # evened out: the last part is at most one block per part shorter than the others
        assert len(bodies[0]) - len(bodies[-1]) <= block * len(bodies)
    for part in {series.parts[0], series.parts[-1]}:  # the others are as long as the first
        assert len(qr_matrix(part, border=0, version=series.version)) == 4 * series.version + 17
    assert series.version <= max_version


def test_the_fewest_parts_win_then_the_smallest_version() -> None:
    series = bbqr_series(incompressible(1000), "P", encoding="H", min_version=1)
    # 2000 hex digits + header fit one version-27 code (2132) but not version 26 (1990)
    assert (len(series.parts), series.version) == (1, 27)
    capped = bbqr_series(incompressible(1000), "P", encoding="H", min_version=1, max_version=10)
    # version 10 holds 395 characters: 386 hex digits after the header, so 2000 need 6 codes
    assert capped.version == 10 and len(capped.parts) == 6


@settings(max_examples=60, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=2500), st.text(max_size=1500).map(str.encode)),
    encoding=st.sampled_from(["H", "2", "Z"]),
    file_type=st.sampled_from(list("PTJCUBX")),
    max_version=st.integers(min_value=1, max_value=10),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_join_of_shuffled_split_returns_the_original_bytes(data, encoding, file_type, max_version, seed) -> None:
    parts = bbqr_split(data, file_type, encoding=encoding, min_version=1, max_version=max_version)
    random.Random(seed).shuffle(parts)
    assert bbqr_join(parts) == (file_type, data)


def _several_parts() -> list[str]:
    parts = bbqr_split(incompressible(60), "P", encoding="H", min_version=1, max_version=1)
    assert len(parts) == 8
    return parts


def test_missing_parts_are_named_by_index() -> None:
    parts = bbqr_split(incompressible(200), "P", encoding="H", min_version=1, max_version=1)
    with pytest.raises(BBQrMissingParts, match=r"indices 1, 3\b") as caught:
        bbqr_join([part for index, part in enumerate(parts) if index not in (1, 3)])
    assert caught.value.missing == (1, 3) and caught.value.total == len(parts)


def test_a_part_scanned_twice_is_accepted_once() -> None:
    parts = _several_parts()
    assert bbqr_join(parts + parts[:2]) == bbqr_join(parts)


def test_the_same_index_with_different_data_is_refused() -> None:
    parts = _several_parts()
    forged = parts[1][:8] + ("0" * len(parts[1][8:]))
    with pytest.raises(BBQrConflictingParts, match="part 1"):
        bbqr_join([parts[0], parts[1], forged])


@pytest.mark.parametrize(
    "intruder",
    [
        lambda parts: parts[1].replace("B$HP", "B$HT", 1),  # another file type
        lambda parts: parts[1].replace("B$HP", "B$2P", 1),  # another encoding
        lambda parts: parts[1][:4] + "ZZ" + parts[1][6:],  # another part count
    ],
    ids=["file-type", "encoding", "total"],
)
def test_parts_of_different_series_are_refused(intruder) -> None:
    parts = _several_parts()
    with pytest.raises(BBQrMixedParts, match="another series"):
        bbqr_join([parts[0], intruder(parts)])


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hello", "not a BBQr part"),
        ("B$HP01", "not a BBQr part"),
        ("B$QP0100", "encoding 'Q'"),
        ("B$HW0100", "file type 'W'"),
        ("B$HP0a00", "base36"),
        ("B$HP0!00", "base36"),
        ("B$HP0000", "zero parts"),
        ("B$HP0202AB", "beyond"),
        ("B$HP0100ABC", "odd number of hex digits"),
        ("B$HP0100GG", "outside the hex alphabet"),
        ("B$2P0100ABCDEFGHI", "whole number of base32 bytes"),
        ("B$2P0100AB18", "outside the base32 alphabet"),
    ],
)
def test_malformed_parts_are_refused_with_the_reason(text: str, fragment: str) -> None:
    with pytest.raises(BBQrMalformedPart, match=fragment):
        bbqr_join([text])


def test_corrupt_or_truncated_compressed_data_is_refused() -> None:
    with pytest.raises(BBQrMalformedPart, match="corrupt"):
        bbqr_join(["B$ZP0100" + base64.b32encode(b"\xff\xff\xff\xff\xff").decode()])
    compressor = zlib.compressobj(9, zlib.DEFLATED, -10)
    stream = compressor.compress(PSBT_LIKE) + compressor.flush()
    with pytest.raises(BBQrMalformedPart, match="ends early"):
        bbqr_join(["B$ZP0100" + base64.b32encode(stream[:-5]).decode().rstrip("=")])


def test_nothing_to_join_and_unknown_split_options_are_refused() -> None:
    with pytest.raises(BBQrError, match="no BBQr parts"):
        bbqr_join([])
    with pytest.raises(BBQrError, match="file type"):
        bbqr_split(b"x", "Q")
    with pytest.raises(BBQrError, match="encoding"):
        bbqr_split(b"x", "P", encoding="B")
    with pytest.raises(PayloadTooLarge, match="do not fit"):
        bbqr_split(incompressible(5000), "P", max_version=10, max_split=2)


def test_the_collector_reports_progress_while_scanning_in_any_order() -> None:
    parts = bbqr_split(incompressible(200), "P", encoding="2", min_version=1, max_version=1)
    order = list(reversed(range(len(parts))))
    collector = BBQrCollector()
    assert not collector.done
    progress = collector.add(parts[order[0]])
    assert (progress.received, progress.total, progress.file_type) == (1, len(parts), "P")
    assert progress.describe() == f"PSBT: 1 of {len(parts)} parts"
    with pytest.raises(BBQrMissingParts):
        collector.result()
    for index in order[1:]:
        progress = collector.add(parts[index])
    assert progress.done and progress.fraction == 1.0 and collector.done
    assert collector.result() == ("P", incompressible(200))
    collector.reset()
    assert not collector.started
    assert collector.add(" B$2U0100NBSWY3DP\n").done
    assert collector.result() == ("U", b"hello")


def test_a_part_header_reads_back() -> None:
    part = parse_part("B$ZP2S0Z" + "AAAAAAAA")
    assert (part.encoding, part.file_type, part.total, part.index, part.data) == ("Z", "P", 100, 35, "AAAAAAAA")
