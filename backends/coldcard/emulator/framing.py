"""The 64-byte USB HID report framing, both directions.

Each report is one header byte and 63 payload bytes. The header's low six bits give the
number of valid payload bytes, ``0x40`` marks an encrypted message (read on the last
report only) and ``0x80`` marks the last report of a message. A report with no payload
bytes is a resync request: the partial message is dropped and nothing is answered.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT_SIZE = 64
PAYLOAD_PER_REPORT = 63
LENGTH_MASK = 0x3F
FLAG_ENCRYPTED = 0x40
FLAG_LAST = 0x80

MAX_BLK_LEN = 2048
MAX_MSG_LEN = 4 + 4 + 4 + MAX_BLK_LEN
V3_TAG_LEN = 16


class FramingError(Exception):
    """A malformed exchange; answered with ``fram`` + the reason, the upload state reset."""

    @property
    def reason(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Message:
    """A reassembled request as it came off the wire (still encrypted if ``encrypted``)."""

    body: bytes
    encrypted: bool


class Resync:
    """Marker returned for a zero-length report."""


RESYNC = Resync()


class Reassembler:
    """Collects one sender's reports into messages."""

    def __init__(self) -> None:
        self._parts = bytearray()
        self.limit = MAX_MSG_LEN

    def reset(self) -> None:
        self._parts = bytearray()

    def feed(self, report: bytes) -> Message | Resync | None:
        """Take one report; a complete message, the resync marker, or None (need more)."""
        if len(report) < REPORT_SIZE:
            self.reset()
            raise FramingError("short")
        if len(report) > REPORT_SIZE:
            self.reset()
            raise FramingError("long")
        header = report[0]
        here = report[1 : 1 + (header & LENGTH_MASK)]
        if not here:
            self.reset()
            return RESYNC
        if len(self._parts) + len(here) > self.limit:
            self.reset()
            raise FramingError("xlong")
        self._parts += here
        if not header & FLAG_LAST:
            return None
        body = bytes(self._parts)
        self.reset()
        return Message(body, bool(header & FLAG_ENCRYPTED))


def frame(message: bytes, *, encrypted: bool) -> list[bytes]:
    """Cut a reply into zero-padded 64-byte reports."""
    reports = []
    final_flag = FLAG_LAST | (FLAG_ENCRYPTED if encrypted else 0)
    for offset in range(0, len(message), PAYLOAD_PER_REPORT):
        here = message[offset : offset + PAYLOAD_PER_REPORT]
        header = len(here)
        if offset + len(here) == len(message):
            header |= final_flag
        reports.append(bytes([header]) + here + bytes(PAYLOAD_PER_REPORT - len(here)))
    return reports
