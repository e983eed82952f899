"""BBQr: Coinkite's format for moving a file through a series of QR codes.

Spec: https://github.com/coinkite/BBQr/blob/master/BBQr.md. Every part is QR-alphanumeric
text starting with an 8-character header::

    B$  Z  P  05  00  <data>
    |   |  |  |   '-- this part's index, 2 base36 digits (0-based)
    |   |  |  '------ total parts, 2 base36 digits (1..1295 = "ZZ")
    |   |  '--------- file type: P PSBT, T transaction, J JSON, C CBOR, U text, B binary, X executable
    |   '------------ encoding: H hex, 2 base32 (RFC 4648, no padding), Z raw deflate (wbits 10) + base32
    '---------------- fixed marker

All parts but the last have the same length, a multiple of the encoding's block (2 hex
digits, 8 base32 characters), so each part decodes to whole bytes on its own and parts
can be collected in any order.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import zlib
from dataclasses import dataclass

from backends.qr.errors import BBQrError, BBQrMalformedPart, PayloadTooLarge
from backends.qr.matrix import alphanumeric_capacity

MARKER = "B$"
HEADER_LENGTH = 8
MAX_PARTS = 36 * 36 - 1
FILE_TYPES = {
    "P": "PSBT",
    "T": "transaction",
    "J": "JSON",
    "C": "CBOR",
    "U": "text",
    "B": "binary",
    "X": "executable",
}
ENCODINGS = {"H": "hex", "2": "base32", "Z": "zlib + base32"}
# Characters per part (except the last) must be a multiple of this, so parts decode alone.
BLOCK_CHARACTERS = {"H": 2, "2": 8, "Z": 8}
DATA_ALPHABET = {"H": re.compile(r"[0-9A-F]*"), "2": re.compile(r"[A-Z2-7]*"), "Z": re.compile(r"[A-Z2-7]*")}
BASE36_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The spec fixes the compression window at 2**10 bytes so embedded receivers know the
# memory they need; we compress with it exactly.
COMPRESSION_WBITS = -10
# Decompression uses the largest raw window: it accepts every compliant stream and costs a
# desktop nothing. The output limit stops a tiny series from inflating into gigabytes.
DECOMPRESSION_WBITS = -15
MAX_JOINED_BYTES = 64 * 1024 * 1024


def to_base36(number: int) -> str:
    if not 0 <= number <= MAX_PARTS:
        raise BBQrError(f"a BBQr series has at most {MAX_PARTS} parts, not {number}")
    high, low = divmod(number, 36)
    return BASE36_DIGITS[high] + BASE36_DIGITS[low]


def from_base36(digits: str) -> int:
    if len(digits) != 2 or any(digit not in BASE36_DIGITS for digit in digits):
        raise BBQrMalformedPart(f"{digits!r} is not two base36 digits (0-9, A-Z)")
    return BASE36_DIGITS.index(digits[0]) * 36 + BASE36_DIGITS.index(digits[1])


# -- payload encoding


def encode_payload(data: bytes, encoding: str) -> tuple[str, str]:
    """(encoding actually used, encoded text). Z falls back to 2 when deflate doesn't shrink."""
    if encoding not in ENCODINGS:
        raise BBQrError(f"unknown BBQr encoding {encoding!r}; use H (hex), 2 (base32) or Z (compressed)")
    if encoding == "H":
        return "H", data.hex().upper()
    if encoding == "Z":
        compressor = zlib.compressobj(9, zlib.DEFLATED, COMPRESSION_WBITS)
        compressed = compressor.compress(data) + compressor.flush()
        if len(compressed) < len(data):
            return "Z", _base32(compressed)
        encoding = "2"
    return encoding, _base32(data)


def _base32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def decode_part_data(encoding: str, text: str) -> bytes:
    """One part's data to bytes (still compressed for Z); raises ValueError when invalid."""
    if not DATA_ALPHABET[encoding].fullmatch(text):
        raise ValueError(f"holds characters outside the {ENCODINGS[encoding]} alphabet")
    if encoding == "H":
        if len(text) % 2:
            raise ValueError("holds an odd number of hex digits")
        return bytes.fromhex(text)
    if len(text) % 8 in (1, 3, 6):
        raise ValueError("is not a whole number of base32 bytes")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as exc:
        raise ValueError(f"is not valid base32 ({exc})") from None


def decompress(data: bytes) -> bytes:
    decompressor = zlib.decompressobj(DECOMPRESSION_WBITS)
    try:
        inflated = decompressor.decompress(data, MAX_JOINED_BYTES)
    except zlib.error as exc:
        raise BBQrMalformedPart(f"the compressed BBQr data is corrupt ({exc})") from None
    if decompressor.unconsumed_tail:
        raise BBQrError(f"the BBQr series inflates to more than {MAX_JOINED_BYTES // (1024 * 1024)} MiB; refusing it")
    if not decompressor.eof:
        raise BBQrMalformedPart("the compressed BBQr data ends early: a part is truncated")
    return inflated


# -- splitting


@dataclass(frozen=True)
class BBQrSeries:
    """The parts of one file, and the QR version every part should be shown at."""

    file_type: str
    encoding: str
    version: int
    parts: list[str]


@dataclass(frozen=True)
class SplitPlan:
    version: int
    count: int
    characters_per_part: int


def plan_split(
    length: int, encoding: str, *, min_version: int, max_version: int, min_split: int, max_split: int
) -> SplitPlan:
    """Fewest parts first, then the smallest QR version that gives that many parts.

    This is Coinkite's choice: a shorter animation scans faster than a lower version, and
    ``max_version`` is how the caller bounds density (a terminal fits far less than a phone
    screen). Parts are then evened out so the last one is not a hard-to-scan runt.
    """
    if not 1 <= min_version <= max_version <= 40:
        raise BBQrError(f"QR versions must satisfy 1 <= min ({min_version}) <= max ({max_version}) <= 40")
    if not 1 <= min_split <= max_split <= MAX_PARTS:
        raise BBQrError(f"part counts must satisfy 1 <= min ({min_split}) <= max ({max_split}) <= {MAX_PARTS}")
    block = BLOCK_CHARACTERS[encoding]
    options = []
    for version in range(min_version, max_version + 1):
        capacity = alphanumeric_capacity(version, "L") - HEADER_LENGTH
        aligned = capacity - capacity % block
        if aligned <= 0:
            continue
        count = 1 if length <= capacity else math.ceil(length / aligned)
        if min_split <= count <= max_split:
            options.append((count, version, aligned))
    if not options:
        raise PayloadTooLarge(
            f"{length} encoded characters do not fit {min_split}–{max_split} QR codes of version {min_version}–{max_version}",
            hint="allow a higher QR version or more parts",
        )
    count, version, aligned = min(options)
    if count == 1:
        return SplitPlan(version, 1, length)
    per_part = min(aligned, math.ceil(math.ceil(length / count) / block) * block)
    return SplitPlan(version, math.ceil(length / per_part), per_part)


def bbqr_series(
    data: bytes,
    file_type: str,
    *,
    encoding: str = "Z",
    min_version: int = 5,
    max_version: int = 40,
    min_split: int = 1,
    max_split: int = MAX_PARTS,
) -> BBQrSeries:
    """Split ``data`` into BBQr parts; see :func:`plan_split` for how the size is chosen."""
    if file_type not in FILE_TYPES:
        raise BBQrError(f"unknown BBQr file type {file_type!r}; use one of {', '.join(FILE_TYPES)}")
    encoding, text = encode_payload(bytes(data), encoding)
    plan = plan_split(
        len(text), encoding, min_version=min_version, max_version=max_version, min_split=min_split, max_split=max_split
    )
    header = f"{MARKER}{encoding}{file_type}{to_base36(plan.count)}"
    step = max(plan.characters_per_part, 1)
    parts = [f"{header}{to_base36(index)}{text[index * step:(index + 1) * step]}" for index in range(plan.count)]
    return BBQrSeries(file_type=file_type, encoding=encoding, version=plan.version, parts=parts)


def bbqr_split(
    data: bytes,
    file_type: str,
    *,
    encoding: str = "Z",
    min_version: int = 5,
    max_version: int = 40,
    min_split: int = 1,
    max_split: int = MAX_PARTS,
) -> list[str]:
    """The text of each QR code in the series, in order."""
    return bbqr_series(
        data,
        file_type,
        encoding=encoding,
        min_version=min_version,
        max_version=max_version,
        min_split=min_split,
        max_split=max_split,
    ).parts


# -- reading one part


@dataclass(frozen=True)
class BBQrPart:
    encoding: str
    file_type: str
    total: int
    index: int
    data: str

    @property
    def series_header(self) -> str:
        """The six header characters every part of one series shares."""
        return f"{MARKER}{self.encoding}{self.file_type}{to_base36(self.total)}"


def is_bbqr(text: str) -> bool:
    return isinstance(text, str) and text.strip().startswith(MARKER)


def parse_part(text: str) -> BBQrPart:
    """Read a scanned code's header; the data is checked when the series is assembled."""
    if not isinstance(text, str):
        raise BBQrMalformedPart("a BBQr part is text, not bytes")
    text = text.strip()
    if len(text) < HEADER_LENGTH or not text.startswith(MARKER):
        raise BBQrMalformedPart("this code is not a BBQr part (no B$ header)", hint="scan the animated QR the wallet shows")
    encoding, file_type = text[2], text[3]
    if encoding not in ENCODINGS:
        raise BBQrMalformedPart(f"BBQr encoding {encoding!r} is not supported (H, 2 or Z)")
    if file_type not in FILE_TYPES:
        raise BBQrMalformedPart(f"BBQr file type {file_type!r} is unknown")
    total, index = from_base36(text[4:6]), from_base36(text[6:8])
    if total < 1:
        raise BBQrMalformedPart("a BBQr header announces zero parts")
    if index >= total:
        raise BBQrMalformedPart(f"BBQr part index {index} is beyond the announced {total} parts")
    return BBQrPart(encoding=encoding, file_type=file_type, total=total, index=index, data=text[HEADER_LENGTH:])
