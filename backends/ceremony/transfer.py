"""Carrying a ceremony's messages by hand: export to a file, import from one.

A bundle is the canonical JSON of::

    {"custody_tui_ceremony_bundle": 1, "ceremony": <id>,
     "posts": [{"seq": <board position or null>, "post": <the post file, as text>}, ...]}

Each post is the board's own signed file, so an offline node verifies every post against
its roster exactly as it would on the board, and an online courier that imports an
offline node's bundle publishes posts signed by the offline node's host key (the courier
signs nothing). ``seq`` is the post's position on the board as the exporter knows it
(null for a post not yet on the board); an offline node takes the locked signer set from
those positions. A bundle is outside input: bounded before parsing, every field checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backends.audit.entry import canonical_json
from backends.board import BoardError
from backends.board import layout as board_layout
from backends.board.post import MAX_POST_BYTES
from backends.outside_input import load_json

from .errors import MessageRefused

if TYPE_CHECKING:
    from .node import Node, NodeEvent

MAGIC = "custody_tui_ceremony_bundle"
VERSION = 1
MAX_POSTS = 1024
MAX_BUNDLE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Bundle:
    ceremony: str
    posts: tuple[tuple[int | None, bytes], ...]


def encode_bundle(bundle: Bundle) -> bytes:
    return canonical_json({
        MAGIC: VERSION, "ceremony": bundle.ceremony,
        "posts": [{"seq": seq, "post": data.decode("utf-8")} for seq, data in bundle.posts],
    }).encode("utf-8")


def parse_bundle(data: bytes) -> Bundle:
    """The bundle in ``data``, or MessageRefused saying what is wrong with the file."""
    try:
        obj = load_json(data, max_bytes=MAX_BUNDLE_BYTES, max_depth=8, what="ceremony file")
    except ValueError as exc:
        raise MessageRefused(f"not a ceremony file: {exc}") from None
    if not isinstance(obj, dict) or set(obj) != {MAGIC, "ceremony", "posts"} or obj[MAGIC] != VERSION:
        raise MessageRefused("not a ceremony file (custody-tui bundle version 1)")
    cid, posts = obj["ceremony"], obj["posts"]
    if not board_layout.is_ceremony_id(cid):
        raise MessageRefused("the file's ceremony id is not 32 lowercase hex digits")
    if not isinstance(posts, list) or len(posts) > MAX_POSTS:
        raise MessageRefused(f"the file's posts are not a list of at most {MAX_POSTS}")
    out: list[tuple[int | None, bytes]] = []
    for i, item in enumerate(posts):
        if not isinstance(item, dict) or set(item) != {"seq", "post"}:
            raise MessageRefused(f"post {i} of the file is not {{seq, post}}")
        seq, text = item["seq"], item["post"]
        if seq is not None and (type(seq) is not int or not 0 < seq < 2**63):
            raise MessageRefused(f"post {i} of the file has a board position that is not a positive number")
        if not isinstance(text, str) or not text or len(text) > MAX_POST_BYTES:
            raise MessageRefused(f"post {i} of the file is not a post of at most {MAX_POST_BYTES} bytes")
        out.append((seq, text.encode("utf-8")))
    return Bundle(cid, tuple(out))


def export_ceremony(node: Node, cid: str) -> bytes:
    """Every post of ``cid`` in this node's view, with its board position when known. The
    positions of what this node's copy holds from the board are indexed first, so an
    export right after posting (a `dkg start`, an approval) carries them without a sync."""
    row = node.ceremony(cid)
    node.index()
    view = node.board.read_ceremony(row.id)
    order: dict[tuple[str, str], int] = {}
    for phase in {post.phase for post in view.posts}:
        for poster, seq in node.store.order(row.id, phase).items():
            order[(phase, poster)] = seq
    posts = []
    for post in view.posts:
        data = node.board.raw_post(row.id, post.phase, post.poster)
        if data is not None:
            posts.append((order.get((post.phase, post.poster.hex())), data))
    posts.sort(key=lambda item: (item[0] is None, item[0] or 0))
    return encode_bundle(Bundle(row.id, tuple(posts)))


def import_bundle(node: Node, data: bytes, **sync_args: Any) -> list[NodeEvent]:
    """Verify and take in every post of a bundle: an online node (a courier) posts them to
    the board; an offline node adds them to its own view. Then the node advances."""
    bundle = parse_bundle(data)
    refused = []
    added = 0
    for seq, raw in bundle.posts:
        try:
            post = node.board.put_signed(raw, sync=False)
        except BoardError as exc:  # a forged, unknown or malformed post: named, skipped
            refused.append(str(exc))
            continue
        if post.ceremony != bundle.ceremony:
            refused.append(f"a post of ceremony {post.ceremony[:12]} in the file of ceremony {bundle.ceremony[:12]}")
            continue
        added += 1
        if seq is not None and not node.online:
            node.store.set_order(post.ceremony, post.phase, post.poster.hex(), seq)
    if added and not node.online and node.store.ceremony(bundle.ceremony) is None:
        # an offline node finds the ceremony in the file itself, whether or not its posts
        # carry board positions yet (they matter only for the order of signing approvals)
        node.discover(bundle.ceremony)
    events = node.sync(**sync_args)
    from .node import NodeEvent

    return [NodeEvent(bundle.ceremony, "refused", text) for text in refused] + \
        [NodeEvent(bundle.ceremony, "info", f"imported {added} post(s)")] + events
