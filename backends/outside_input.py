"""Limits every parser of outside input applies before and while it parses.

Outside input is anything a stranger can shape: a file on disk, a QR code, a board post,
a device's or a node's answer, a command-line argument. Python's own readers fail on such
input in ways that are not ``ValueError``: ``json``, ``tomllib`` and ``copy.deepcopy``
recurse (``RecursionError``), ``int()`` refuses more than 4,300 digits and accepts ``'²'``
only through ``isdigit()``, JSON escapes yield lone surrogates that cannot be encoded
later, and ``tomllib`` is quadratic on long dotted keys. The helpers here refuse all of
that up front, each with a :class:`OutsideInputRefused` (a ``ValueError``, so the parsers'
existing ``except ValueError`` turns it into their own typed error with their own words).

The limits are generous for every honest input the project reads:

- size: the caller's cap in bytes, checked before any parsing;
- nesting: :data:`MAX_DEPTH` levels of arrays/objects/tables;
- numbers: ASCII digits only, at most :data:`MAX_DIGITS` of them; TOML integers in 64 bits;
- text: every string must encode as UTF-8 (no lone surrogates).
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from typing import Any

#: nesting of arrays, objects and tables; our deepest honest document has 4 levels
MAX_DEPTH = 32
#: digits in a number written as text; 2**64 has 20, a satoshi amount at most 16
MAX_DIGITS = 20
#: CPython's own limit on ``int(str)`` (``sys.get_int_max_str_digits``; 0 means none)
_INT_MAX_STR_DIGITS = sys.get_int_max_str_digits() or 10**9
#: cap for a TOML document (the config is about 2 KiB; tomllib is quadratic on dotted keys)
MAX_TOML_BYTES = 64 * 1024


class OutsideInputRefused(ValueError):
    """Outside input broke one of the limits; the message says which, without echoing it."""


# -- numbers ---------------------------------------------------------------------------------


def parse_decimal(text: str, *, max_digits: int = MAX_DIGITS, what: str = "number") -> int:
    """``text`` as a non-negative integer: ASCII digits only, at most ``max_digits`` of them.

    ``str.isdigit`` accepts '²' and other Unicode digits that ``int`` then refuses, and
    ``int`` refuses more than 4,300 digits with a ValueError of its own; this does neither.
    """
    if not (text.isascii() and text.isdigit()):
        raise OutsideInputRefused(f"{what} must be written with the digits 0-9")
    max_digits = min(max_digits, _INT_MAX_STR_DIGITS)
    if len(text) > max_digits:
        raise OutsideInputRefused(f"{what} has more than {max_digits} digits")
    return int(text)


def is_decimal(text: str, *, max_digits: int = MAX_DIGITS) -> bool:
    """Whether :func:`parse_decimal` would accept ``text``."""
    return text.isascii() and text.isdigit() and len(text) <= min(max_digits, _INT_MAX_STR_DIGITS)


# -- text ------------------------------------------------------------------------------------


def excerpt(text: str, limit: int = 40) -> str:
    """Outside text as an error message quotes it: at most ``limit`` characters."""
    return text if len(text) <= limit else text[:limit] + "…"


def require_encodable(text: str, *, what: str = "text") -> str:
    """``text`` unchanged if it encodes as UTF-8; a lone surrogate (from a JSON ``\\udc80``
    escape or a surrogate-escaped file name) is refused here, not later when hashing."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise OutsideInputRefused(f"{what} holds a character that is not valid Unicode") from None
    return text


def _as_text(data: bytes | str, max_bytes: int, what: str) -> str:
    if len(data) > max_bytes:  # a str has at least as many bytes as characters
        raise OutsideInputRefused(f"{what} is larger than {max_bytes} bytes")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise OutsideInputRefused(f"{what} is not UTF-8 text") from None


# -- nesting ---------------------------------------------------------------------------------

# Strings (and TOML comments) are cut out before brackets are counted: a bracket inside a
# string nests nothing. These patterns have disjoint alternatives, so they run in linear time.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_TOML_SKIP = re.compile(
    r'"""(?:[^\\]|\\.)*?"""|\'\'\'.*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*', re.S
)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _require_shallow(text: str, skip: re.Pattern[str], max_depth: int, what: str) -> None:
    """Refuse text whose brackets nest deeper than ``max_depth``, before a recursive parser
    sees it. Counting ignores bracket kinds: a mismatch is the parser's to report."""
    depth = 0
    for bracket in _NOT_BRACKET.sub("", skip.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                raise OutsideInputRefused(f"{what} nests deeper than {max_depth} levels")
        else:
            depth -= 1


def require_plain(value: Any, *, max_depth: int = MAX_DEPTH, what: str = "document") -> Any:
    """``value`` unchanged if its lists and dicts nest at most ``max_depth`` deep and every
    string in it encodes; for documents that arrive already decoded (``copy.deepcopy`` and
    every recursive walk of a deeper one would raise ``RecursionError``)."""
    _check_values(value, max_depth, what)
    return value


def _check_values(value: Any, max_depth: int, what: str, *, int64: bool = False) -> None:
    """Walk a parsed document without recursion: depth (after the pre-count), text and,
    when asked, integers within 64 bits."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            require_encodable(item, what=what)
        elif int64 and isinstance(item, int) and not -(2**63) <= item < 2**63:
            raise OutsideInputRefused(f"{what} has an integer outside the 64-bit range")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise OutsideInputRefused(f"{what} nests deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, sub in item.items():
                    require_encodable(key, what=what)
                    stack.append((sub, depth + 1))
            else:
                stack.extend((sub, depth + 1) for sub in item)


def _refuse_constant(name: str) -> Any:
    raise OutsideInputRefused(f"{name} is not a JSON number")


def load_json(
    data: bytes | str,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    what: str = "JSON document",
    **json_options: Any,
) -> Any:
    """Parse outside JSON within limits: size, nesting, numbers, text.

    Raises :class:`OutsideInputRefused` or ``json.JSONDecodeError`` (both ``ValueError``)
    and nothing else (an integer of more than 4,300 digits is json's own ValueError).
    ``NaN``/``Infinity`` are refused: they are not JSON.
    """
    text = _as_text(data, max_bytes, what)
    _require_shallow(text, _JSON_STRING, max_depth, what)
    json_options.setdefault("parse_constant", _refuse_constant)
    value = json.loads(text, **json_options)
    _check_values(value, max_depth, what)
    return value


def load_toml(
    data: bytes | str,
    *,
    max_bytes: int = MAX_TOML_BYTES,
    max_depth: int = MAX_DEPTH,
    what: str = "TOML document",
) -> dict[str, Any]:
    """Parse outside TOML within limits; raises only ``ValueError`` (``TOMLDecodeError`` or
    :class:`OutsideInputRefused`)."""
    text = _as_text(data, max_bytes, what)
    _require_shallow(text, _TOML_SKIP, max_depth, what)
    # tomllib takes time quadratic in a dotted key's parts: no honest key has many dots
    for line in text.splitlines():
        if line.count(".") > 256:
            raise OutsideInputRefused(f"{what} has a line with more than 256 dots")
    value = tomllib.loads(text)  # a too-long integer raises ValueError inside tomllib
    # TOML integers are 64-bit (the spec asks readers to refuse others); tomllib does not
    _check_values(value, max_depth, what, int64=True)
    return value
