"""Derivation-path notation as the device cleans and matches it (``utils.py``)."""

from __future__ import annotations

import re

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.errors import HsmRequestError
from backends.outside_input import is_decimal

MAX_PATH_DEPTH = 12
_HARD = 0x80000000


def cleanup_deriv_path(path: str, *, allow_star: bool = False) -> str:
    """Normalise ``path`` to ``m/1h/2/...``: lower case, ``'``/``p`` become ``h``, ``m/`` added.

    A final ``*`` or ``*h`` is kept when ``allow_star``. Raises :class:`HsmRequestError`
    with the device's text for anything it would refuse.
    """
    text = path.strip()
    if not text.isascii() or not text.isprintable():
        raise HsmRequestError(texts.PATH_NOT_ASCII)
    text = text.lower()
    if text == "":
        return "m"
    text = text.replace("p", "h").replace("'", "h")
    pattern = r"(m|m/|)[0-9/h]*" + (r"(\*h|\*|)" if allow_star else "")
    match = re.match(pattern, text)
    if match is None or match.group(0) != text:
        raise HsmRequestError(texts.PATH_BAD_CHARS)
    parts = text.split("/")
    if parts and parts[0] == "m":
        parts = parts[1:]
    if not parts:
        return "m"
    if len(parts) > MAX_PATH_DEPTH:
        raise HsmRequestError(texts.PATH_TOO_DEEP)
    for part in parts:
        _check_component(part, allow_star)
    return "m/" + "/".join(parts)


def _check_component(part: str, allow_star: bool) -> None:
    if not part or part == "h":
        raise HsmRequestError(texts.PATH_EMPTY_COMPONENT)
    if allow_star and "*" in part:
        if part not in ("*", "*h"):
            raise HsmRequestError(texts.PATH_BAD_WILDCARD)
        return
    digits = part[:-1] if part.endswith("h") else part
    index = int(digits) if is_decimal(digits, max_digits=10) else -1
    if not (0 <= index < _HARD and digits == str(index)):
        raise HsmRequestError(texts.PATH_BAD_COMPONENT.format(part=digits))


def match_deriv_path(patterns: list[str], path: str) -> bool:
    """Whether cleaned ``path`` is allowed by cleaned ``patterns``.

    A pattern allows everything (``any``), the same path, or any last component of the
    same hardness (a final ``*`` or ``*h``).
    """
    if "any" in patterns:
        return True
    if path in ("*", "any"):
        return False
    for pattern in patterns:
        if pattern == path:
            return True
        if pattern.endswith("/*") or pattern.endswith("/*h"):
            # the wildcard's hardness must match the last component's
            if pattern[-1] == "h" and path[-1] != "h":
                continue
            if pattern[-1] == "*" and path[-1] == "h":
                continue
            if pattern.split("/")[:-1] == path.split("/")[:-1]:
                return True
    return False
