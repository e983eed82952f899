"""JSON as the firmware's ``ujson.dumps`` writes a plain dict (``hsts``): its keys come in
the order of MicroPython's dict hash table, not in insertion order. (The saved policy, and
so ``policy_hash``, is an ordered dict on the device: insertion order, no help needed.)

The table is MicroPython's ``py/map.c``: open addressing with linear probing, a key's slot starts at its
hash modulo the table size, the table grows (re-inserting in slot order) only when an
insertion finds it full, through the sizes below. A string's hash is djb2 (``h * 33 ^ byte``
from 5381) cut to 16 bits, never 0 (``qstr_compute_hash``, two hash bytes on the Coldcard's
unix and Mk4 builds). Checked against the official simulator's ``hsts`` orders (tests).
"""

from __future__ import annotations

import json
from typing import Any

#: py/map.c hash_allocation_sizes
_TABLE_SIZES = (0, 2, 4, 6, 8, 10, 12, 17, 23, 29, 37, 47, 59, 73, 97, 127, 167, 223, 293, 389, 521)


def string_hash(key: str) -> int:
    value = 5381
    for byte in key.encode():
        value = ((value << 5) + value) ^ byte
    return (value & 0xFFFF) or 1


def _place(table: list, key: str) -> bool:
    start = pos = string_hash(key) % len(table)
    while table[pos] is not None:
        if table[pos] == key:
            return True
        pos = (pos + 1) % len(table)
        if pos == start:
            return False  # full
    table[pos] = key
    return True


def _grown(table: list) -> list:
    size = next(s for s in _TABLE_SIZES if s >= len(table) + 1)
    bigger: list = [None] * size
    for key in table:
        if key is not None:
            _place(bigger, key)
    return bigger


def key_order(keys) -> list[str]:
    """The order MicroPython iterates a dict whose string keys were set in ``keys`` order."""
    table: list = []
    for key in keys:
        if not table:
            table = _grown(table)
        while not _place(table, key):
            table = _grown(table)
    return [key for key in table if key is not None]


def reordered(value: Any) -> Any:
    """``value`` with every dict rebuilt in MicroPython's iteration order (recursively)."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in key_order(value)}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


def dumps(value: Any) -> str:
    """``ujson.dumps``: MicroPython key order, ``", "`` and ``": "`` separators."""
    return json.dumps(reordered(value), ensure_ascii=False)
