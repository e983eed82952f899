"""Board sync speed against the size of its history: 10 and 10,000 past ceremonies.

The past ceremonies are written straight into the bare board with ``git fast-import``, one
commit each with one post file (a copy of one signed post: history is never read, only
carried). Then a node clones it (its first sync, which must carry the history once) and the
figures that matter are taken: one post plus its sync, another node's sync plus the read
of that ceremony. The layout keeps these independent of the history (target: the two
board sizes at most 2x apart).

    .venv/bin/python benchmarks/board.py [--runs 15] [--sizes 10,10000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.board import Board, init_board, make_post, new_ceremony_id  # noqa: E402
from backends.mpc.bip340 import pubkey_gen  # noqa: E402

KEYS = {name: bytes([i + 1]) * 32 for i, name in enumerate(("alice", "bob"))}
ROSTER = {pubkey_gen(key): name for name, key in KEYS.items()}


def fill(remote: Path, past: int) -> None:
    # consecutive commits to one branch in one fast-import stream chain onto each other
    _, data = make_post(new_ceremony_id(), "start", {"n": 3, "t": 2}, KEYS["alice"])
    stream = f"blob\nmark :1\ndata {len(data)}\n".encode() + data + b"\n"
    for i in range(past):
        ceremony = new_ceremony_id()
        path = f"ceremonies/{ceremony[:2]}/{ceremony}/start/{pubkey_gen(KEYS['alice']).hex()}.json"
        message = f"past ceremony {i}"
        stream += (f"commit refs/heads/main\ncommitter past <p@example.invalid> {1700000000 + i} +0000\n"
                   f"data {len(message)}\n{message}\nM 100644 :1 {path}\n\n").encode()
    subprocess.run(["git", "--git-dir", str(remote), "fast-import", "--quiet"], input=stream, check=True)


def measure(past: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        remote = init_board(Path(tmp) / "board.git")
        fill(remote, past)
        alice = Board(Path(tmp) / "alice", remote, ROSTER)
        bob = Board(Path(tmp) / "bob", remote, ROSTER)
        start = time.perf_counter()
        alice.sync()
        first = (time.perf_counter() - start) * 1000
        bob.sync()
        post_ms, read_ms = [], []
        for i in range(runs):
            ceremony = new_ceremony_id()
            start = time.perf_counter()
            alice.post(ceremony, "round1", {"i": i}, KEYS["alice"])
            post_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            bob.sync()
            view = bob.read_ceremony(ceremony)
            read_ms.append((time.perf_counter() - start) * 1000)
            assert len(view.posts) == 1 and not view.rejected
        alice.close()
        bob.close()
    return {"first": first, "post": statistics.median(post_ms), "read": statistics.median(read_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sizes", default="10,10000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    results = {size: measure(size, args.runs) for size in sizes}
    print(f"{'past ceremonies':>16} {'first sync ms':>14} {'post+sync ms':>13} {'sync+read ms':>13}")
    for size, figures in results.items():
        print(f"{size:>16} {figures['first']:>14.1f} {figures['post']:>13.1f} {figures['read']:>13.1f}")
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        for name in ("post", "read"):
            print(f"{name}: {large[name] / small[name]:.2f}x from {sizes[0]} to {sizes[-1]} past ceremonies (target <= 2x)")


if __name__ == "__main__":
    main()
