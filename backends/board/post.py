"""A post: canonical JSON signed by its poster's host key, and its checks on read.

A post file is the UTF-8 canonical JSON (sorted keys, no spaces, see
``backends.audit.entry.canonical_json``) of::

    {"board": 1, "ceremony": <id>, "phase": <phase>, "poster": <host key hex>,
     "body": {...}, "sig": <128 hex>}

``sig`` is BIP-340 by the poster's host key over
``tagged_hash("custody-tui/board/post/v1", canonical JSON of the post without "sig")``:
the tag keeps a post signature from being valid for anything else the host key signs,
and ceremony and phase are inside the signed bytes, so a post copied to another
ceremony or phase fails. A file whose bytes are not the canonical spelling of what it
parses to is refused, so one post has exactly one file.

Outside input: every read is bounded (size, nesting, integers within 64 bits, no floats,
valid Unicode) before the signature is checked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backends.audit.entry import canonical_json
from backends.mpc.bip340 import pubkey_gen, schnorr_sign, schnorr_verify
from backends.mpc.errors import MpcError
from backends.mpc.secp import tagged_hash
from backends.outside_input import OutsideInputRefused, load_json

from . import layout
from .errors import BadSignature, BoardError, MalformedPost, PostRejected, UnknownPoster

VERSION = 1
SIG_TAG = "custody-tui/board/post/v1"
#: the largest post file read; a ChillDKG round for 15 participants is a few KiB
MAX_POST_BYTES = 256 * 1024
#: nesting of a whole post (the body sits one level down)
MAX_POST_DEPTH = 16
_FIELDS = frozenset({"board", "ceremony", "phase", "poster", "body", "sig"})
_SIG = re.compile(r"[0-9a-f]{128}")
# the board is readable by anyone with access to it: a body never names a secret
_SECRET_NAME = re.compile(r"secret|seckey|privkey|private|mnemonic|passphrase|seed", re.I)

#: who may post: host public key (32 bytes, x-only) -> name shown to operators
Roster = Mapping[bytes, str]


@dataclass(frozen=True)
class Post:
    ceremony: str
    phase: str
    poster: bytes
    poster_name: str
    body: dict[str, Any]


def poster_label(poster_hex: str, roster: Roster | None = None) -> str:
    """How messages name a poster: the roster name and the key's first 16 hex digits."""
    short = poster_hex[:16]
    name = None
    if roster is not None and layout.is_poster(poster_hex):
        name = roster.get(bytes.fromhex(poster_hex))
    return f"{name} ({short}…)" if name else f"{short}…"


def _signed_bytes(unsigned: dict[str, Any]) -> bytes:
    return tagged_hash(SIG_TAG, canonical_json(unsigned).encode("utf-8"))


def _refuse_float(text: str) -> Any:
    raise OutsideInputRefused("a post holds no fractional numbers")


def _bounded_int(text: str) -> int:
    digits = text[1:] if text.startswith("-") else text
    if len(digits) > 20:
        raise OutsideInputRefused("a post holds no integer of more than 20 digits")
    value = int(text)
    if not -(2**63) <= value < 2**64:
        raise OutsideInputRefused("a post holds no integer outside 64 bits")
    return value


def _check_no_secret_names(body: dict[str, Any]) -> None:
    stack: list[Any] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if _SECRET_NAME.search(key):
                    raise BoardError(f"a post body may not carry a field named {key!r}: the board holds no secret")
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def make_post(ceremony: str, phase: str, body: dict[str, Any], host_seckey: bytes) -> tuple[str, bytes]:
    """The board path and file bytes of a new post signed by ``host_seckey``."""
    layout.check_ceremony_id(ceremony)
    layout.check_phase(phase)
    if not isinstance(body, dict):
        raise BoardError("a post body is a JSON object")
    _check_no_secret_names(body)
    try:
        poster = pubkey_gen(host_seckey).hex()
        unsigned = {"board": VERSION, "ceremony": ceremony, "phase": phase, "poster": poster, "body": body}
        sig = schnorr_sign(_signed_bytes(unsigned), host_seckey, os.urandom(32))
    except MpcError as exc:
        raise BoardError(f"cannot sign the post: {exc}") from None
    except (TypeError, ValueError) as exc:  # NaN, bytes, objects: not JSON
        raise BoardError(f"the post body is not plain JSON: {type(exc).__name__}") from None
    data = canonical_json({**unsigned, "sig": sig.hex()}).encode("utf-8")
    if len(data) > MAX_POST_BYTES:
        raise BoardError(f"the post is {len(data)} bytes; a post is at most {MAX_POST_BYTES}")
    # what we write must read back: the reader's limits (no floats, depth) apply to us too
    try:
        parse_post(data, ceremony=ceremony, phase=phase, poster_hex=poster, roster={bytes.fromhex(poster): "self"})
    except PostRejected as exc:
        raise BoardError(f"the post would be refused by its readers: {exc}") from None
    return layout.post_path(ceremony, phase, poster), data


def parse_post(data: bytes, *, ceremony: str, phase: str, poster_hex: str, roster: Roster) -> Post:
    """The verified post in ``data`` found at (ceremony, phase, poster), or a typed refusal
    naming the poster. The roster is checked before any parsing: an unknown poster's file
    is not even read as JSON."""
    path = layout.post_path(ceremony, phase, poster_hex) if layout.is_poster(poster_hex) else \
        "/".join([*layout.ceremony_parts(ceremony), phase, poster_hex])
    label = poster_label(poster_hex, roster)
    if not layout.is_poster(poster_hex):
        raise MalformedPost(f"{path}: a post's file name is its poster's 64-hex host key", path=path, poster=label)
    poster = bytes.fromhex(poster_hex)
    if poster not in roster:
        raise UnknownPoster(f"post by unknown poster {label} in ceremony {ceremony} phase {phase}: "
                            "the key is not on this node's roster", path=path, poster=label)
    try:
        obj = load_json(data, max_bytes=MAX_POST_BYTES, max_depth=MAX_POST_DEPTH, what="post",
                        parse_float=_refuse_float, parse_int=_bounded_int)
    except ValueError as exc:
        raise MalformedPost(f"post by {label} in ceremony {ceremony} phase {phase} is refused: {exc}",
                            path=path, poster=label) from None
    def malformed(why: str) -> MalformedPost:
        return MalformedPost(f"post by {label} in ceremony {ceremony} phase {phase} is refused: {why}",
                             path=path, poster=label)
    if not isinstance(obj, dict) or set(obj) != _FIELDS:
        raise malformed("not a post (wrong fields)")
    if obj["board"] != VERSION or type(obj["board"]) is not int:
        raise malformed("unknown post version")
    if (obj["ceremony"], obj["phase"], obj["poster"]) != (ceremony, phase, poster_hex):
        raise malformed("its ceremony, phase or poster differs from its place on the board")
    if not isinstance(obj["body"], dict):
        raise malformed("its body is not an object")
    if not isinstance(obj["sig"], str) or not _SIG.fullmatch(obj["sig"]):
        raise malformed("its signature is not 64 bytes of lowercase hex")
    if canonical_json(obj).encode("utf-8") != data:
        raise malformed("the file is not in canonical form (edited by hand or by a tool)")
    unsigned = {name: value for name, value in obj.items() if name != "sig"}
    if not schnorr_verify(_signed_bytes(unsigned), poster, bytes.fromhex(obj["sig"])):
        raise BadSignature(f"post by {label} in ceremony {ceremony} phase {phase}: the signature does not verify "
                           "under the poster's host key (forged or altered)", path=path, poster=label)
    return Post(ceremony=ceremony, phase=phase, poster=poster, poster_name=roster[poster], body=obj["body"])
