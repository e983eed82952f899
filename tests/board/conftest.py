"""Real git boards for the board tests: a bare repository, node data dirs, and an
outsider's clone with a work tree that writes whatever it likes (as anyone with push
access to the remote could)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from backends.board import Board, init_board
from backends.mpc.bip340 import pubkey_gen

NAMES = ("alice", "bob", "carol")


def host_key(name: str) -> bytes:
    return hashlib.sha256(b"board test host key " + name.encode()).digest()


def host_pub(name: str) -> bytes:
    return pubkey_gen(host_key(name))


ROSTER = {host_pub(name): name for name in NAMES}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=outsider", "-c", "user.email=o@example.invalid", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Outsider:
    """A plain git clone of the board: writes files and pushes (with --force if asked)."""

    def __init__(self, remote: Path, work: Path) -> None:
        self.remote, self.work = remote, work
        subprocess.run(["git", "clone", "--quiet", str(remote), str(work)], check=True, capture_output=True)

    def pull(self) -> None:
        git(self.work, "fetch", "--quiet", "origin")
        git(self.work, "checkout", "--quiet", "-B", "main", "origin/main")

    def write(self, path: str, data: bytes, message: str = "outsider") -> None:
        target = self.work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        git(self.work, "add", "--all")
        git(self.work, "commit", "--quiet", "-m", message)

    def push(self, *, force: bool = False) -> None:
        git(self.work, "push", "--quiet", *(["--force"] if force else []), "origin", "HEAD:refs/heads/main")


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return init_board(tmp_path / "board.git")


@pytest.fixture
def nodes(tmp_path: Path, remote: Path):
    boards = {name: Board(tmp_path / "nodes" / name, remote, ROSTER) for name in NAMES}
    yield boards
    for board in boards.values():
        board.close()


@pytest.fixture
def outsider(tmp_path: Path, remote: Path, nodes) -> Outsider:
    return Outsider(remote, tmp_path / "outsider")
