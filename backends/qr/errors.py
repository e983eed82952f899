"""Failures of QR rendering and BBQr transfer an operator can act on."""

from __future__ import annotations

from backends.errors import CustodyError


class QrError(CustodyError):
    """A QR code could not be made, read or written."""


class PayloadTooLarge(QrError):
    """The payload does not fit the largest QR code (or series) allowed."""


class BBQrError(QrError):
    """A BBQr series could not be split or put back together."""


class BBQrMalformedPart(BBQrError):
    """A scanned code is not a valid BBQr part (header, base36 digits or data encoding)."""


class BBQrMixedParts(BBQrError):
    """Parts from different series (encoding, file type or part count differ) were combined."""


class BBQrConflictingParts(BBQrError):
    """The same part index arrived twice with different contents."""


class BBQrMissingParts(BBQrError):
    """Not every part of the series has been scanned yet."""

    def __init__(self, missing: tuple[int, ...], total: int) -> None:
        self.missing = missing
        self.total = total
        shown = ", ".join(str(index) for index in missing[:20]) + (", …" if len(missing) > 20 else "")
        super().__init__(
            f"{len(missing)} of {total} BBQr parts are missing (indices {shown})",
            hint="keep scanning the animated QR until every part has been seen",
        )
