"""``status``: a node's own record of a ceremony set against the board.

For each ceremony: what this node posted (and what it has queued but not yet posted),
what the board holds by phase and poster, mismatches between the two (a post of mine the
board lacks, a post "of mine" on the board this node never made, refused files), and who
the ceremony is waiting on, this node's keyholder first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .store import CeremonyRow

if TYPE_CHECKING:
    from backends.board import CeremonyView

    from .node import Node

_WAITING_ON_ME = {"invited": "join the DKG (`ceremony dkg join`)",
                  "review": "review, then approve or decline (`ceremony sign review|approve|decline`)"}


@dataclass(frozen=True)
class CeremonyStatus:
    id: str
    kind: str
    state: str
    title: str
    note: str
    mine: dict[str, str]  # phase -> "posted" | "queued"
    board: dict[str, list[str]]  # phase -> poster names
    mismatches: list[str] = field(default_factory=list)
    waiting_on_me: str | None = None
    waiting_on: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)  # group key, address; signatures, txid

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def lines(self) -> list[str]:
        out = [f"{self.id}  {self.kind}  {self.state}  {self.title}"]
        if self.note:
            out.append(f"  note: {self.note}")
        out.append("  mine:  " + (", ".join(f"{p} ({s})" for p, s in self.mine.items()) or "nothing yet"))
        for phase, names in self.board.items():
            out.append(f"  board: {phase}: {', '.join(names)}")
        out += [f"  {name}: {value}" for name, value in self.result.items()]
        out += [f"  MISMATCH: {m}" for m in self.mismatches]
        if self.waiting_on_me:
            out.append(f"  waiting on me: {self.waiting_on_me}")
        if self.waiting_on:
            out.append(f"  waiting on: {', '.join(self.waiting_on)}")
        return out


def title_of(row: CeremonyRow) -> str:
    if row.kind == "dkg":
        return f"DKG {row.info.get('name', '?')!r} {row.info.get('t', '?')}-of-{len(row.info.get('hostpubkeys', []))}"
    return f"sign {row.info.get('payload', '?')}: {row.info.get('reason', '')}"


def ceremony_status(node: Node, row: CeremonyRow) -> CeremonyStatus:
    view = node.board.read_ceremony(row.id)
    mine = {phase: ("posted" if body["_posted"] else "queued") for phase, body in node.store.my_posts(row.id).items()}
    board: dict[str, list[str]] = {}
    for post in view.posts:
        board.setdefault(post.phase, []).append(post.poster_name)
    mismatches = [str(refusal) for refusal in view.rejected]
    on_board = {post.phase: post for post in view.posts if post.poster == node.poster_key}
    for phase, body in node.store.my_posts(row.id).items():
        if body["_posted"] and phase not in on_board:
            mismatches.append(f"my {phase} post is not in this node's copy of the board"
                              + ("" if node.online else " (offline: export it again)"))
        elif phase in on_board and on_board[phase].body.get("counter") != body.get("counter"):
            mismatches.append(f"the board's {phase} post by me has counter {on_board[phase].body.get('counter')}, "
                              f"this node recorded {body.get('counter')}")
    for phase, post in on_board.items():
        if phase not in mine:
            mismatches.append(f"the board holds a {phase} post by me that this node never made "
                              "(an older copy of the node's data dir?)")
    return CeremonyStatus(row.id, row.kind, row.state, title_of(row), row.note, mine, board, mismatches,
                          _WAITING_ON_ME.get(row.state), _waiting_on(node, row, view), _result(node, row))


def _result(node: Node, row: CeremonyRow) -> dict[str, Any]:
    if row.kind == "dkg" and "thresh_pk" in row.info:
        group = node.group(row.id)
        return {"group key": group.thresh_pk.hex(), "address": group.address}
    out: dict[str, Any] = {}
    if row.info.get("sigs"):
        out["signatures"] = ", ".join(row.info["sigs"])
    if row.info.get("txid"):
        out["txid"] = row.info["txid"]
    return out


def _waiting_on(node: Node, row: CeremonyRow, view: CeremonyView) -> list[str]:
    if row.kind == "dkg":
        hostpubkeys = [bytes.fromhex(h) for h in row.info.get("hostpubkeys", [])]
        phase = {"invited": "round1", "round1": "round1", "round2": "round2", "finalized": "done"}.get(row.state)
        if phase is None:
            return []
        have = node.posts_by_participant(view, phase, hostpubkeys)
        return [node.name_of(h) for i, h in enumerate(hostpubkeys) if i not in have]
    if row.state in ("complete", "failed", "aborted", "refused", "declined"):
        return []
    try:
        dkg_row = node.ceremony(row.info["dkg"])
    except Exception:  # noqa: BLE001 - a status line must not fail on a missing group
        return []
    hostpubkeys = [bytes.fromhex(h) for h in dkg_row.info["hostpubkeys"]]
    use = node.store.nonce_use(row.id)
    if use is not None:
        signed = node.posts_by_participant(view, "psig", hostpubkeys)
        return [node.name_of(hostpubkeys[i]) for i in use[0] if i not in signed]
    decided = node.posts_by_participant(view, "decision", hostpubkeys)
    return [node.name_of(h) for i, h in enumerate(hostpubkeys) if i not in decided]
