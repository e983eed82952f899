"""Shared pieces of the bad-input property tests: strategies for hostile input, a time
bound, and a snapshot of the files a refused input must leave alone."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import strategies as st

#: generous: a parser that takes this long on one small input is hanging, not slow
TIME_BOUND_SECONDS = 5.0

# odd Unicode: lone surrogates, controls, NUL, RTL/zero-width marks, non-ASCII digits
ODD_CHARS = "\x00\x07\x1b\x7f\x85\u2028\u200b\u202e\ufeff²٣\U0001f600\udc80\ud800"
odd_text = st.text(alphabet=st.sampled_from(ODD_CHARS) | st.characters(), max_size=40)
huge_numbers = st.integers(4290, 4400).map(lambda n: "1" * n) | st.sampled_from(["²", "٣", "1²", "-0", "0x10"])


def deep(opening: str, closing: str, levels: int, inner: str = "") -> str:
    return opening * levels + inner + closing * levels


def nestings(opening: str = "[", closing: str = "]") -> st.SearchStrategy[str]:
    return st.integers(30, 5000).map(lambda n: deep(opening, closing, n))


def mutations(valid: bytes) -> st.SearchStrategy[bytes]:
    """``valid`` with a bit flipped, truncated, a byte inserted, or a slice repeated."""
    size = max(len(valid), 1)
    flip = st.tuples(st.integers(0, size - 1), st.integers(0, 7)).map(
        lambda t: valid[: t[0]] + bytes([valid[t[0]] ^ (1 << t[1])]) + valid[t[0] + 1 :] if valid else b"\x01"
    )
    cut = st.integers(0, len(valid)).map(lambda n: valid[:n])
    insert = st.tuples(st.integers(0, len(valid)), st.binary(min_size=1, max_size=8)).map(
        lambda t: valid[: t[0]] + t[1] + valid[t[0] :]
    )
    repeat = st.tuples(st.integers(0, len(valid)), st.integers(1, 64), st.integers(2, 200)).map(
        lambda t: valid[: t[0]] + valid[t[0] : t[0] + t[1]] * t[2] + valid[t[0] :]
    )
    return flip | cut | insert | repeat


@contextmanager
def within(seconds: float = TIME_BOUND_SECONDS) -> Iterator[None]:
    """The block finishes within ``seconds`` (a hang guard, not a speed test)."""
    start = time.monotonic()
    yield
    took = time.monotonic() - start
    assert took < seconds, f"took {took:.1f} s on one input"


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` by relative path and content hash."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def refused_or_parsed(parse: Callable, value, errors: type | tuple[type, ...]):
    """``parse(value)`` within the time bound; the typed errors are the only escape."""
    with within():
        try:
            return parse(value)
        except errors as exc:
            assert str(exc), "a typed error carries a message"
            return None
