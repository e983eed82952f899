"""Three ceremony nodes in an app's data dir, made the way ``ceremony node init`` lays them
out, with deterministic host keys, DKG randomness and ceremony ids (the screen shows ids
and keys, and snapshots must be the same on every run). The DKG is made once per module
and copied into each test's data dir."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import types
from pathlib import Path

import pytest

from backends.board import init_board
from backends.ceremony import Node, dkg, signing
from tests.ceremony.rig import PASSPHRASE, open_keystore

NAMES = ["alice", "bob", "carol"]


def _deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = (f"{n:02x}" * 16 for n in itertools.count(0xa1))
    monkeypatch.setattr("backends.ceremony.node.new_ceremony_id", lambda: next(ids))
    counter = itertools.count()
    monkeypatch.setattr(dkg, "secrets", types.SimpleNamespace(
        token_bytes=lambda n: hashlib.sha256(f"test dkg randomness {next(counter)}".encode()).digest()[:n]))


def make_rig(root: Path, *, request: bool = True) -> None:
    """Nodes alice, bob, carol in ``root/ceremony`` on ``root/board.git``, a completed 2-of-3
    DKG "treasury" and (``request``) bob's request to sign a message, waiting on review."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _deterministic(monkeypatch)
        board = init_board(root / "board.git")
        nodes = {}
        for name in NAMES:
            node_dir = root / "ceremony" / name
            nodes[name] = Node.create(node_dir, name, open_keystore(node_dir), board=str(board),
                                      host_secret=hashlib.sha256(name.encode()).digest())
        try:
            for node in nodes.values():
                for other in nodes.values():
                    if other is not node:
                        node.add_peer(other.name, other.hostpubkey)
            alice, bob, carol = nodes.values()
            cid = dkg.start(alice, "treasury", NAMES, 2)
            for node in (bob, carol):
                node.sync()
                dkg.join(node, cid)
            for _ in range(4):
                for node in nodes.values():
                    node.sync()
            assert {n.ceremony(cid).state for n in nodes.values()} == {"complete"}
            if request:
                signing.request(bob, cid, reason="quarterly proof of reserves", message=b"custody-tui proof")
                for node in nodes.values():
                    node.sync()
        finally:
            for node in nodes.values():
                node.close()


def copy_rig(template: Path, data_dir: Path) -> None:
    """The template's nodes in ``data_dir``, pointed at the copied board."""
    shutil.copytree(template, data_dir, dirs_exist_ok=True)
    for name in NAMES:
        node_dir = data_dir / "ceremony" / name
        node = Node.open(node_dir, open_keystore(node_dir))
        node.store.set("board", str(data_dir / "board.git"))
        node.close()


def unlock_all(app) -> None:
    for name in NAMES:
        app.services.ceremony_nodes.unlock(name, PASSPHRASE)
