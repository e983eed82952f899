"""Where a post lives on the board, and the names allowed in that place.

Layout of the board branch (one file per post, written once)::

    ceremonies/<shard>/<ceremony>/<phase>/<poster>.json

- ``ceremony``: 32 lowercase hex digits (16 random bytes, :func:`new_ceremony_id`);
- ``shard``: the ceremony id's first two hex digits, so no tree on the way to a ceremony
  holds more than 256 entries plus the ceremonies of one shard; a read or a post touches
  the trees on its own path only, never the whole history;
- ``phase``: 1-32 of ``a-z 0-9 - _``, starting with a letter or digit (``start``,
  ``round1``, ``approve``...);
- ``poster``: the poster's BIP-340 host public key, 64 lowercase hex digits.
"""

from __future__ import annotations

import re
import secrets

from .errors import BoardError

ROOT = "ceremonies"
SUFFIX = ".json"
_CEREMONY = re.compile(r"[0-9a-f]{32}")
_PHASE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_POSTER = re.compile(r"[0-9a-f]{64}")


def new_ceremony_id() -> str:
    return secrets.token_hex(16)


def is_ceremony_id(text: str) -> bool:
    return isinstance(text, str) and _CEREMONY.fullmatch(text) is not None


def is_phase(text: str) -> bool:
    return isinstance(text, str) and _PHASE.fullmatch(text) is not None


def is_poster(text: str) -> bool:
    return isinstance(text, str) and _POSTER.fullmatch(text) is not None


def check_ceremony_id(text: str) -> str:
    if not is_ceremony_id(text):
        raise BoardError("a ceremony id is 32 lowercase hex digits")
    return text


def check_phase(text: str) -> str:
    if not is_phase(text):
        raise BoardError("a phase name is 1-32 of a-z, 0-9, '-' and '_', starting with a letter or digit")
    return text


def ceremony_parts(ceremony: str) -> list[str]:
    """The tree path of a ceremony, as its components."""
    return [ROOT, ceremony[:2], ceremony]


def post_parts(ceremony: str, phase: str, poster_hex: str) -> list[str]:
    return [*ceremony_parts(ceremony), phase, poster_hex + SUFFIX]


def post_path(ceremony: str, phase: str, poster_hex: str) -> str:
    return "/".join(post_parts(ceremony, phase, poster_hex))
