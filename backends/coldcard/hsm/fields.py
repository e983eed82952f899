"""Readers that take one field out of a policy object and check it like ``hsm.py`` does.

Each reader *pops* its field (so leftovers can be reported as unknown), treats ``null``
as absent, and raises :class:`HsmPolicyError` with the firmware's text and raising line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.addresses import BadAddress, cleanup_payment_address
from backends.coldcard.hsm.errors import HsmPolicyError, HsmRequestError
from backends.coldcard.hsm.paths import cleanup_deriv_path

#: every satoshi there will ever be: 21e6 * 1e8
MAX_SATS = 2_100_000_000_000_000


def pop_list(obj: dict, field: str, cleanup: Callable[[Any], Any] | None = None) -> list:
    value = obj.pop(field, None)
    if not value:
        return []
    if not isinstance(value, list):
        raise HsmPolicyError(texts.NEED_LIST.format(field=field), texts.WHERE_NEED_LIST)
    return [cleanup(item) for item in value] if cleanup else list(value)


def pop_deriv_list(obj: dict, field: str, extra: str | None = None) -> list[str]:
    """A list of paths, where ``any`` (and ``extra``, e.g. ``p2sh``) are special values."""

    def cleanup(item: Any) -> str:
        if not isinstance(item, str):
            # MicroPython fails on item.lower() before the path check can word it
            raise HsmPolicyError(
                texts.MPY_NO_LOWER.format(type=type(item).__name__), texts.WHERE_PATH_NOT_TEXT
            )
        if item.lower() == "any" or (extra and item.lower() == extra):
            return item.lower()
        try:
            return cleanup_deriv_path(item, allow_star=True)
        except HsmRequestError:
            raise HsmPolicyError(
                texts.INVALID_PATH.format(field=field, path=item), texts.WHERE_INVALID_PATH
            ) from None

    return pop_list(obj, field, cleanup)


def pop_int(obj: dict, field: str, low: int = 0, high: int = 1000) -> int | None:
    value = obj.pop(field, None)
    if value is None:
        return None
    if int(_number(value, int, field)) != value:
        raise HsmPolicyError(texts.MUST_BE_INTEGER.format(field=field), texts.WHERE_MUST_BE_INTEGER)
    value = int(value)
    if low > high:
        raise HsmPolicyError(
            texts.CANNOT_BE_SPECIFIED.format(field=field), texts.WHERE_CANNOT_BE_SPECIFIED
        )
    if not low <= value <= high:
        raise HsmPolicyError(
            texts.INT_RANGE.format(field=field, low=low, high=high), texts.WHERE_INT_RANGE
        )
    return value


def pop_float(obj: dict, field: str, low: float = 0, high: float = 1_000_000) -> float | None:
    value = obj.pop(field, None)
    if value is None:
        return None
    if float(_number(value, float, field)) != value:
        raise HsmPolicyError(texts.MUST_BE_FLOAT.format(field=field), texts.WHERE_MUST_BE_FLOAT)
    value = float(value)
    if not low <= value <= high:
        # the firmware formats the float bounds with %d
        raise HsmPolicyError(
            texts.INT_RANGE.format(field=field, low=int(low), high=int(high)),
            texts.WHERE_FLOAT_RANGE,
        )
    return value


def _number(value: Any, kind: type, field: str) -> int | float:
    """``int(value)``/``float(value)`` failing with MicroPython's words at the same line."""
    where = texts.WHERE_MUST_BE_INTEGER if kind is int else texts.WHERE_MUST_BE_FLOAT
    if isinstance(value, (bool, int, float)):
        try:
            return kind(value)
        except (OverflowError, ValueError) as exc:  # inf / nan
            raise HsmPolicyError(str(exc), where) from None
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            syntax = texts.MPY_INT_SYNTAX if kind is int else texts.MPY_FLOAT_SYNTAX
            raise HsmPolicyError(syntax, where) from None
    raise HsmPolicyError(
        texts.MPY_CANT_CONVERT.format(type=type(value).__name__, to=kind.__name__), where
    )


def pop_bool(obj: dict, field: str) -> bool:
    """Any truthy value is true (the device accepts 0/1 as well as true/false)."""
    return bool(obj.pop(field, False))


def pop_string(obj: dict, field: str, low: int = 0, high: int = 80) -> str | None:
    value = obj.pop(field, None)
    if value is None:
        return None
    if not isinstance(value, str):
        raise HsmPolicyError(texts.MUST_BE_STRING.format(field=field), texts.WHERE_MUST_BE_STRING)
    if not low <= len(value) <= high:
        raise HsmPolicyError(
            texts.STRING_LENGTH.format(field=field, low=low, high=high), texts.WHERE_STRING_LENGTH
        )
    return value


def pop_dict(obj: dict, field: str) -> dict | None:
    value = obj.pop(field, None)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise HsmPolicyError(texts.MUST_BE_DICT.format(field=field), texts.WHERE_MUST_BE_DICT)
    return value


def pop_addresses(obj: dict, field: str) -> list[str]:
    def cleanup(item: Any) -> str:
        try:
            return cleanup_payment_address(item)
        except BadAddress as exc:
            raise HsmPolicyError(str(exc), texts.WHERE_BAD_ADDRESS) from None

    return pop_list(obj, field, cleanup)


def assert_empty(obj: dict) -> None:
    if obj:
        raise HsmPolicyError(
            texts.UNKNOWN_ITEM.format(items=", ".join(_item_name(k) for k in obj)),
            texts.WHERE_UNKNOWN_ITEM,
        )


def _item_name(key: object) -> str:
    """A key as the device lists it, except one it would show as nothing or as garbage
    (empty, control characters, a comma): that one is quoted, so the message names it."""
    text = str(key)
    if text and text.isprintable() and "," not in text and text.strip() == text:
        return text
    return json.dumps(text)
