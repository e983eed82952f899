"""The reserve's coins as a virtual table: 100,000 rows, a screenful materialised.

The stock DataTable builds every row up front and freezes for tens of seconds at this
size. This widget draws lines (Textual's Line API): the scroll range is the row count,
and each visible line is read from a small cache of fixed-size chunks that worker
threads fill with one primary-key range read each (``backends.mint.coin_pages``). A line
whose chunk has not arrived yet is drawn as a dim placeholder for the moment it takes;
the chunks either side of the window are fetched ahead, so paging lands on rows that are
already there.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from backends.amounts import btc_digits

log = logging.getLogger("custody_tui.screens")

CHUNK_ROWS = 64
CACHED_CHUNKS = 48  # about 3,000 rows: far more than any terminal shows, far less than 100k
HEADER = f"{'#':>7}  {'outpoint':<22} {'BTC':>14} {'conf':>6}  state"
STATE_STYLE = {"spendable": "", "held": "yellow", "waiting": "dim"}


def short_outpoint(outpoint: str) -> str:
    txid, _, vout = outpoint.rpartition(":")
    return f"{txid[:8]}…{txid[-6:]}:{vout}"


def row_text(row) -> str:
    conf = f"{row.confirmations:,}" if row.confirmations < 1_000_000 else "1M+"
    return (f"{row.position:>7,}  {short_outpoint(row.outpoint):<22} {btc_digits(row.amount_sat):>14} "
            f"{conf:>6}  {row.state}")


class CoinTable(ScrollView, can_focus=True):
    """Rows of a ``CoinPages`` source; the cursor row is the one the operator points at."""

    BINDINGS = [
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home", "to_edge(0)", "first", show=False),
        Binding("end", "to_edge(1)", "last", show=False),
        Binding("enter", "choose", "show coin", show=False),
    ]
    COMPONENT_CLASSES = {"coin-table--cursor", "coin-table--loading"}
    DEFAULT_CSS = """
    CoinTable { height: 1fr; overflow-x: hidden; }
    CoinTable > .coin-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    CoinTable:blur > .coin-table--cursor { background: $block-cursor-blurred-background; }
    CoinTable > .coin-table--loading { color: $text-muted; }
    """

    cursor = reactive(0, always_update=True)

    class PageShown(Message):
        """Every row of the window has been drawn from real data (benchmarks wait on it)."""

        def __init__(self, first: int) -> None:
            super().__init__()
            self.first = first

    class Chosen(Message):
        """Enter on a coin: the screen shows it in full."""

        def __init__(self, coin) -> None:
            super().__init__()
            self.coin = coin

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source: Any = None
        self.rows = 0
        self.largest_first = True
        self._chunks: OrderedDict[int, list] = OrderedDict()
        self._asked: set[int] = set()
        self._generation = 0  # bumped on every new reading: late chunks of an old one are dropped

    # -- data -----------------------------------------------------------------------

    def show_reading(self, source: Any, rows: int, *, largest_first: bool | None = None) -> None:
        """Point the table at a reading of ``rows`` coins; the cursor stays where it was."""
        if largest_first is not None:
            self.largest_first = largest_first
        self.source, self.rows = source, rows
        self._generation += 1
        self._chunks.clear()
        self._asked.clear()
        self.virtual_size = Size(self.size.width or 80, rows)
        self.cursor = min(self.cursor, max(rows - 1, 0))
        self.refresh()

    def row_at(self, index: int):
        chunk = self._chunks.get(index // CHUNK_ROWS)
        if chunk is None or index % CHUNK_ROWS >= len(chunk):
            return None
        return chunk[index % CHUNK_ROWS]

    def selected(self):
        return self.row_at(self.cursor) if self.rows else None

    def window_loaded(self) -> bool:
        first = int(self.scroll_y)
        last = min(first + self.size.height, self.rows)
        return all(self.row_at(i) is not None for i in range(first, last))

    def _want(self, chunk: int) -> None:
        if chunk in self._chunks or chunk in self._asked or self.source is None:
            return
        if chunk < 0 or chunk * CHUNK_ROWS >= self.rows:
            return
        self._asked.add(chunk)
        self._fetch(chunk, self._generation, self.source, self.largest_first)

    @work(thread=True, exit_on_error=False, group="coin-pages")
    def _fetch(self, chunk: int, generation: int, source: Any, largest_first: bool) -> None:
        import sqlite3

        from backends.errors import CustodyError

        try:
            rows = source.page(chunk * CHUNK_ROWS, CHUNK_ROWS, largest_first=largest_first)
        except (CustodyError, sqlite3.Error) as exc:  # the cache closed or busy: asked again on next paint
            log.warning("reading reserve coins %d..: %s", chunk * CHUNK_ROWS, exc)
            self.app.call_from_thread(self._asked.discard, chunk)
            return
        self.app.call_from_thread(self._arrived, chunk, generation, rows)

    def _arrived(self, chunk: int, generation: int, rows: list) -> None:
        if generation != self._generation:
            return
        self._asked.discard(chunk)
        self._chunks[chunk] = rows
        while len(self._chunks) > CACHED_CHUNKS:
            self._chunks.popitem(last=False)
        self.refresh()
        if self.window_loaded():
            self.post_message(self.PageShown(int(self.scroll_y)))

    def _prefetch(self, first: int, height: int) -> None:
        low, high = first // CHUNK_ROWS, (first + max(height, 1) - 1) // CHUNK_ROWS
        for chunk in range(low, high + 1):
            self._want(chunk)
        self._want(high + 1)
        self._want(low - 1)

    # -- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        if y == 0:
            self._prefetch(int(self.scroll_y), self.size.height)
        if index >= self.rows:
            return Strip.blank(width, self.rich_style)
        row = self.row_at(index)
        if row is None:
            text, style = f"{index + 1:>7,}  …", self.get_component_rich_style("coin-table--loading")
        else:
            text = row_text(row)
            style = self.rich_style + Style.parse(STATE_STYLE[row.state]) if STATE_STYLE[row.state] else self.rich_style
        if index == self.cursor:
            style = style + self.get_component_rich_style("coin-table--cursor")
        return Strip([Segment(text[:width].ljust(width), style)], width)

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.rows)

    # -- keys ------------------------------------------------------------------------

    def watch_cursor(self, cursor: int) -> None:
        top, height = int(self.scroll_y), max(self.size.height, 1)
        if cursor < top:
            self.scroll_to(y=cursor, animate=False, immediate=True)
        elif cursor >= top + height:
            self.scroll_to(y=cursor - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(self.rows - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        """A page moves the window by its height and the cursor with it, as in a pager."""
        if not self.rows:
            return
        height = max(self.size.height, 1)
        top = max(0, min(self.rows - height, int(self.scroll_y) + direction * height))
        self.scroll_to(y=top, animate=False, immediate=True)
        self.cursor = max(0, min(self.rows - 1, self.cursor + direction * height))

    def action_to_edge(self, end: int) -> None:
        if self.rows:
            self.cursor = self.rows - 1 if end else 0

    def action_choose(self) -> None:
        if (coin := self.selected()) is not None:
            self.post_message(self.Chosen(coin))
