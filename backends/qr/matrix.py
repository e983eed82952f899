"""A payload as a QR module matrix (True = dark), using qrcode's encoder without Pillow."""

from __future__ import annotations

import re
from collections.abc import Sequence

import qrcode
from qrcode import constants, exceptions, util

from backends.qr.errors import PayloadTooLarge, QrError

Matrix = list[list[bool]]

ECC_LEVELS = {
    "L": constants.ERROR_CORRECT_L,
    "M": constants.ERROR_CORRECT_M,
    "Q": constants.ERROR_CORRECT_Q,
    "H": constants.ERROR_CORRECT_H,
}
ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]*")
# The quiet zone the QR standard asks for; images for print and other screens use it.
STANDARD_QUIET_ZONE = 4


def _ecc_constant(ecc: str) -> int:
    try:
        return ECC_LEVELS[ecc]
    except KeyError:
        raise QrError(f"unknown QR error-correction level {ecc!r}; use one of L, M, Q, H") from None


def alphanumeric_capacity(version: int, ecc: str = "L") -> int:
    """How many alphanumeric characters one code of ``version`` holds (a single segment)."""
    util.check_version(version)
    bits = util.BIT_LIMIT_TABLE[_ecc_constant(ecc)][version]
    available = bits - 4 - util.length_in_bits(util.MODE_ALPHA_NUM, version)
    pairs, remainder = divmod(available, 11)
    return pairs * 2 + (1 if remainder >= 6 else 0)


def qr_matrix(payload: str | bytes, *, ecc: str = "L", border: int = 2, version: int | None = None) -> Matrix:
    """The modules of the smallest QR code holding ``payload`` (at least ``version`` if given).

    Text made only of QR alphanumeric characters (BBQr parts, upper-case bech32) goes in one
    alphanumeric segment, so its capacity is exactly :func:`alphanumeric_capacity`; anything
    else is segmented by qrcode's optimiser. ``border`` light modules surround the code.
    """
    if border < 0:
        raise QrError("the QR quiet zone cannot be negative")
    if version is not None and not 1 <= version <= 40:
        raise QrError(f"QR version must be 1 to 40, not {version}")
    code = qrcode.QRCode(version=version, error_correction=_ecc_constant(ecc), border=border)
    if isinstance(payload, str) and ALPHANUMERIC.fullmatch(payload):
        code.add_data(util.QRData(payload.encode("ascii"), mode=util.MODE_ALPHA_NUM))
    else:
        code.add_data(payload, optimize=20)
    try:
        code.make(fit=True)
    except (exceptions.DataOverflowError, ValueError):
        # qrcode 8 signals "beyond version 40" with either, depending on where it notices
        raise PayloadTooLarge(
            f"{len(payload)} {'characters' if isinstance(payload, str) else 'bytes'} do not fit one QR code at error correction {ecc}",
            hint="send it as an animated BBQr series instead",
        ) from None
    return [[bool(module) for module in row] for row in code.get_matrix()]


def check_matrix(matrix: Sequence[Sequence[bool]]) -> Matrix:
    """``matrix`` as a list of bool rows, refusing empty or ragged input."""
    rows = [[bool(module) for module in row] for row in matrix]
    if not rows or not rows[0]:
        raise QrError("a QR matrix needs at least one module")
    if any(len(row) != len(rows[0]) for row in rows):
        raise QrError("a QR matrix must be rectangular: its rows have different lengths")
    return rows


def as_matrix(payload_or_matrix: str | bytes | Sequence[Sequence[bool]], *, ecc: str = "L") -> Matrix:
    """A matrix as given (its own quiet zone), or a payload encoded with the standard one."""
    if isinstance(payload_or_matrix, (str, bytes)):
        return qr_matrix(payload_or_matrix, ecc=ecc, border=STANDARD_QUIET_ZONE)
    return check_matrix(payload_or_matrix)
