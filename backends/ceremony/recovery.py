"""Bringing a node back after its data dir was lost or restored from an older copy.

``recover`` re-reads the node's own history from the board: every post the node made is
written back into its outbox (with the board's counter, and the node's counter moved past
the highest), shares of finalized DKGs are restored from the host secret and the recovery
data on the board (ChillDKG's recovery), and every secret nonce the data dir holds for a
ceremony the node already approved on the board is destroyed: the old copy cannot know
whether the lost copy signed with it, so it never will. Those ceremonies end ``aborted``
for this node unless its partial signature is already on the board.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backends.audit.entry import canonical_json

from . import dkg, signing
from .node import NodeEvent

if TYPE_CHECKING:
    from .node import Node


def recover(node: Node) -> list[NodeEvent]:
    if node.online:
        node.board.sync()
        node._index()
    ceremonies = [r[0] for r in node.store.db.execute(
        "SELECT ceremony FROM board_order GROUP BY ceremony ORDER BY MIN(seq)")]
    for cid in ceremonies:
        view = node.board.read_ceremony(cid)
        mine = [post for post in view.posts if post.poster == node.poster_key]
        _adopt_posts(node, cid, mine)
        if node.store.ceremony(cid) is None:
            for post in view.phase("start"):
                dkg.discover(node, cid, post)
            for post in view.phase("request"):
                signing.discover(node, cid, post)
        node.store.mark_seen(cid)
        row = node.store.ceremony(cid)
        if row is None:
            continue
        phases = {post.phase for post in mine}
        if row.kind == "dkg":
            _recover_dkg(node, row, view, phases)
        elif "decision" in phases:
            node.forget(signing.nonce_label(cid))
            if "psig" in phases:
                node.store.set_state(cid, "signed", "recovered from the board")
            elif row.state not in ("complete", "declined"):
                node.store.set_state(cid, "aborted", "recovered: the nonces of the approval were destroyed unused")
                node.emit(cid, "state", "nonces destroyed; this node will not sign this request")
    node.emit("", "info", f"recovered: post counter now {node.store.counter()}")
    return node._take_events()


def _adopt_posts(node: Node, cid: str, mine) -> None:
    with node.store.transaction() as db:
        for post in mine:
            counter = post.body.get("counter")
            if type(counter) is not int:
                continue
            known = node.store.queued(cid, post.phase)
            if known is not None and known.get("counter") == counter:
                db.execute("UPDATE outbox SET posted = 1 WHERE ceremony = ? AND phase = ?", (cid, post.phase))
                continue
            db.execute("DELETE FROM outbox WHERE (ceremony = ? AND phase = ?) OR (counter = ? AND posted = 0)",
                       (cid, post.phase, counter))
            db.execute("INSERT OR REPLACE INTO outbox (ceremony, phase, counter, body, posted) VALUES (?, ?, ?, ?, 1)",
                       (cid, post.phase, counter, canonical_json(post.body)))
            if counter > node.store.counter():
                node.store.set("counter", str(counter), db)


def _recover_dkg(node: Node, row, view, phases: set[str]) -> None:
    if "thresh_pk" in row.info and node.secret(dkg.share_label(row.id)) is not None:
        return
    if dkg.recover_share(node, row, view):
        node.emit(row.id, "result", "share restored from the host secret and the recovery data on the board")
        return
    if not phases:
        return
    if node.secret(dkg.random_label(row.id)) is not None:
        node.store.set_state(row.id, "round2" if "round2" in phases else "round1", "resumed after recovery")
    else:
        node.store.set_state(row.id, "failed", "this node lost its DKG randomness before the DKG finished")
