"""Carrying a ceremony file across an air gap as QR codes: BBQr parts of the bundle.

The payload is exactly the file ``transfer.export_ceremony`` writes (canonical JSON, BBQr
file type ``J``, compressed), so a scanned series and a carried file are checked by the
same parser and carry the same signed posts. Parts are outside input: a part that is
not BBQr, belongs to another series, is damaged or is missing is refused before any post
is looked at, and a joined payload that is not a ceremony file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from backends.qr import BBQrError, bbqr_join, bbqr_split

from . import transfer
from .errors import MessageRefused

if TYPE_CHECKING:
    from .node import Node, NodeEvent

#: BBQr file type of a ceremony file (JSON)
FILE_TYPE = "J"
MAX_PART_LINES = 4096


def bundle_parts(data: bytes, *, max_version: int = 40) -> list[str]:
    """The BBQr parts of a ceremony file (refused if ``data`` is not one)."""
    transfer.parse_bundle(data)
    return bbqr_split(data, FILE_TYPE, max_version=max_version)


def export_parts(node: Node, cid: str, *, max_version: int = 40) -> list[str]:
    return bundle_parts(transfer.export_ceremony(node, cid), max_version=max_version)


def parts_of_text(text: str) -> list[str]:
    """The parts in a scanner's output: one per line (or separated by spaces), blank
    lines and ``#`` comments ignored."""
    lines = [line.strip() for line in text.splitlines()]
    parts = [word for line in lines if line and not line.startswith("#") for word in line.split()]
    if len(parts) > MAX_PART_LINES:
        raise MessageRefused(f"more than {MAX_PART_LINES} QR parts: this is not one ceremony file")
    return parts


def bundle_from_parts(parts: Iterable[str]) -> bytes:
    """Join scanned parts (any order) into a ceremony file; MessageRefused says what is wrong."""
    try:
        file_type, data = bbqr_join(parts)
    except BBQrError as exc:
        raise MessageRefused(f"the scanned QR parts cannot be joined: {exc}",
                             hint=exc.hint or "scan every part of one animated code") from None
    if file_type != FILE_TYPE:
        raise MessageRefused(f"the scanned QR series is not a ceremony file (BBQr type {file_type!r}, not 'J')")
    if len(data) > transfer.MAX_BUNDLE_BYTES:
        raise MessageRefused("the scanned QR series is larger than a ceremony file can be")
    transfer.parse_bundle(data)
    return data


def import_parts(node: Node, parts: Iterable[str], **sync_args: Any) -> list[NodeEvent]:
    """Take in a ceremony file scanned as QR parts, as ``transfer.import_bundle`` does."""
    return transfer.import_bundle(node, bundle_from_parts(parts), **sync_args)


def read_transfer(data: bytes) -> bytes:
    """A ceremony file from what an operator brings: the file itself, or a text file of
    the QR parts a scanner read (recognised by the BBQr header)."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return data
    parts = parts_of_text(text)
    if parts and parts[0].startswith("B$"):
        return bundle_from_parts(parts)
    return data
