"""A QR code drawn with half-block characters, animated through BBQr parts when the
payload does not fit one code.

The code is always black on white, whatever the theme: a dark theme that inverted it
would make it unscannable on many phones.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from backends.qr import PayloadTooLarge, bbqr_split, half_block_lines, qr_matrix


class QRCodeView(Static):
    DEFAULT_CSS = """
    QRCodeView { width: auto; height: auto; color: black; background: white; }
    """

    #: which BBQr part is on screen
    part_index: reactive[int] = reactive(0)

    def __init__(
        self,
        payload: str | bytes,
        *,
        file_type: str = "U",
        frame_seconds: float = 0.8,
        animate: bool = True,
        parts: list[str] | None = None,
        **kwargs,
    ) -> None:
        """``parts``: BBQr parts made by the caller (sized for the terminal), shown as given."""
        super().__init__(**kwargs)
        self.parts = list(parts) if parts else self.encode(payload, file_type)
        self.frame_seconds = frame_seconds
        self.animate = animate

    @staticmethod
    def encode(payload: str | bytes, file_type: str) -> list[str | bytes]:
        """One code if the payload fits, otherwise BBQr parts."""
        try:
            qr_matrix(payload)
            return [payload]
        except PayloadTooLarge:
            data = payload.encode() if isinstance(payload, str) else payload
            return list(bbqr_split(data, file_type))

    @property
    def is_multipart(self) -> bool:
        return len(self.parts) > 1

    @property
    def cells(self) -> tuple[int, int]:
        """(columns, rows) the code takes on screen: the largest part, with its caption."""
        sizes = [half_block_lines(qr_matrix(part)) for part in self.parts]
        return max(len(lines[0]) for lines in sizes), max(len(lines) for lines in sizes) + self.is_multipart

    def on_mount(self) -> None:
        self.render_part()
        if self.is_multipart and self.animate:
            self.set_interval(self.frame_seconds, self.next_part)

    def next_part(self) -> None:
        self.part_index = (self.part_index + 1) % len(self.parts)

    def watch_part_index(self) -> None:
        self.render_part()

    def render_part(self) -> None:
        lines = half_block_lines(qr_matrix(self.parts[self.part_index]))
        text = Text("\n".join(lines), no_wrap=True, style="black on white")
        if self.is_multipart:
            text.append(f"\npart {self.part_index + 1} of {len(self.parts)}", style="black on white")
        self.update(text)
