"""Assemble a BBQr series from parts scanned in any order, one at a time or all at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backends.qr.bbqr import FILE_TYPES, BBQrPart, decode_part_data, decompress, parse_part
from backends.qr.errors import BBQrConflictingParts, BBQrError, BBQrMalformedPart, BBQrMissingParts, BBQrMixedParts


@dataclass(frozen=True)
class BBQrProgress:
    received: int
    total: int
    file_type: str
    missing: tuple[int, ...]

    @property
    def done(self) -> bool:
        return not self.missing

    @property
    def fraction(self) -> float:
        return self.received / self.total

    def describe(self) -> str:
        return f"{FILE_TYPES[self.file_type]}: {self.received} of {self.total} parts"


class BBQrCollector:
    """Collects the parts of one series; ``add`` each scan, then take ``result()``.

    Each part's data is decoded when it arrives, so a damaged or foreign code is refused
    at once, naming the part, rather than after the whole series has been scanned.
    """

    def __init__(self) -> None:
        self._first: BBQrPart | None = None
        self._parts: dict[int, BBQrPart] = {}
        self._decoded: dict[int, bytes] = {}

    def reset(self) -> None:
        """Forget every part, to scan another series."""
        self._first = None
        self._parts.clear()
        self._decoded.clear()

    @property
    def started(self) -> bool:
        return self._first is not None

    def add(self, text: str) -> BBQrProgress:
        part = parse_part(text)
        first = self._first
        if first is not None and part.series_header != first.series_header:
            raise BBQrMixedParts(
                f"part {part.index} belongs to another series ({part.series_header}… after {first.series_header}…)",
                hint="scan one animated QR at a time; reset to start over",
            )
        known = self._parts.get(part.index)
        if known is not None:
            if known.data != part.data:
                raise BBQrConflictingParts(
                    f"part {part.index} of {part.total} arrived twice with different contents: two series are mixed",
                    hint="reset and scan one animated QR at a time",
                )
            return self.progress
        try:
            self._decoded[part.index] = decode_part_data(part.encoding, part.data)
        except ValueError as exc:
            raise BBQrMalformedPart(f"BBQr part {part.index} of {part.total} {exc}") from None
        self._first = first or part
        self._parts[part.index] = part
        return self.progress

    @property
    def progress(self) -> BBQrProgress:
        if self._first is None:
            raise BBQrError("no BBQr part has been scanned yet")
        total = self._first.total
        missing = tuple(index for index in range(total) if index not in self._parts)
        return BBQrProgress(received=len(self._parts), total=total, file_type=self._first.file_type, missing=missing)

    @property
    def done(self) -> bool:
        return self.started and self.progress.done

    def result(self) -> tuple[str, bytes]:
        """(file type code, the original bytes) once every part is in."""
        progress = self.progress
        if progress.missing:
            raise BBQrMissingParts(progress.missing, progress.total)
        joined = b"".join(self._decoded[index] for index in range(progress.total))
        if self._first.encoding == "Z":
            joined = decompress(joined)
        return progress.file_type, joined


def bbqr_join(parts: Iterable[str]) -> tuple[str, bytes]:
    """(file type code, bytes) from every part of one series, in any order."""
    collector = BBQrCollector()
    for part in parts:
        collector.add(part)
    if not collector.started:
        raise BBQrError("no BBQr parts were given")
    return collector.result()
