"""Ceremony nodes for tests: real keystores (fast KDF), real git boards, one data dir each."""

from __future__ import annotations

from pathlib import Path

from backends.board import init_board
from backends.ceremony import Node
from backends.keystore import KdfParams, Keystore

PASSPHRASE = "ceremony-test-passphrase"
FAST = KdfParams(opslimit=1, memlimit=8 * 1024 * 1024)


def open_keystore(node_dir: Path) -> Keystore:
    keystore = Keystore(node_dir / "keystore", FAST)
    if not keystore.exists():
        keystore.initialize(PASSPHRASE)
    keystore.unlock(PASSPHRASE, 3600)
    return keystore


def make_nodes(root: Path, names: list[str], *, offline: tuple[str, ...] = (), network: str = "regtest",
               subdir: str = "nodes"):
    """Nodes ``names`` on a new bare board under ``root``, each with everyone on its roster
    (``subdir="ceremony"`` lays them out as ``custody-tui --data-dir ROOT ceremony`` does)."""
    board = init_board(root / "board.git")
    nodes = {}
    for name in names:
        node_dir = root / subdir / name
        nodes[name] = Node.create(node_dir, name, open_keystore(node_dir),
                                  board=None if name in offline else str(board), network=network)
    for node in nodes.values():
        for other in nodes.values():
            if other is not node:
                node.add_peer(other.name, other.hostpubkey)
    return board, nodes


def reopen(root: Path, name: str, subdir: str = "nodes") -> Node:
    node_dir = root / subdir / name
    return Node.open(node_dir, open_keystore(node_dir))


def sync_all(nodes, rounds: int = 8, **kwargs) -> None:
    for _ in range(rounds):
        for node in nodes:
            node.sync(**kwargs)


def copy_rig(template: Path, root: Path, names: list[str], subdir: str = "nodes"):
    """A copy of a rig made by :func:`make_nodes` (a DKG is the slow part of most tests:
    it is made once and copied), its nodes pointed at the copied board."""
    import shutil

    shutil.copytree(template, root, dirs_exist_ok=True)
    board = root / "board.git"
    nodes = {}
    for name in names:
        node = reopen(root, name, subdir)
        if node.online:
            node.store.set("board", str(board))
        nodes[name] = node
    return board, nodes
