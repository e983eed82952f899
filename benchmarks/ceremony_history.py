"""A new node's first sync over a board with 10 and 1,000 past ceremonies it is not part of.

The past ceremonies (each a 2-of-3 DKG's posts among three other keyholders: a start signed
for that ceremony, and nine round posts) are written straight into the bare board with
``git fast-import``, one commit per post as nodes write them. Then a new node syncs for the
first time. Shown beside it, measured in the same run: the same node reading every post of
every past ceremony (what its first sync did before it read only what says whose a
ceremony is).

    .venv/bin/python benchmarks/ceremony_history.py [--sizes 10,1000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.board import init_board, make_post, new_ceremony_id  # noqa: E402
from backends.keystore import KdfParams, Keystore  # noqa: E402
from backends.mpc import chilldkg  # noqa: E402

KEYS = [bytes([i + 1]) * 32 for i in range(3)]
HOSTS = [chilldkg.hostpubkey_gen(key) for key in KEYS]


def fill(remote: Path, past: int) -> None:
    chunks, mark, when = [], 0, 1700000000
    for i in range(past):
        ceremony = new_ceremony_id()
        posts = [("start", 0, {"kind": "dkg", "name": f"key {i}", "t": 2, "network": "regtest",
                               "hostpubkeys": [h.hex() for h in HOSTS], "counter": 1})]
        posts += [(phase, j, {"x": "00" * 200, "counter": 2}) for phase in ("round1", "round2", "done") for j in range(3)]
        for phase, j, body in posts:
            path, data = make_post(ceremony, phase, body, KEYS[j])
            mark += 1
            when += 1
            message = f"board post {path}"
            chunks += [f"blob\nmark :{mark}\ndata {len(data)}\n".encode(), data, b"\n",
                       (f"commit refs/heads/main\ncommitter node <n@example.invalid> {when} +0000\n"
                        f"data {len(message)}\n{message}\nM 100644 :{mark} {path}\n\n").encode()]
    subprocess.run(["git", "--git-dir", str(remote), "fast-import", "--quiet"], input=b"".join(chunks), check=True)


def measure(past: int) -> dict[str, float]:
    from backends.ceremony import Node

    with tempfile.TemporaryDirectory() as tmp:
        remote = init_board(Path(tmp) / "board.git")
        fill(remote, past)
        keystore = Keystore(Path(tmp) / "dave" / "keystore", KdfParams(opslimit=1, memlimit=8 * 1024 * 1024))
        keystore.initialize("benchmark-passphrase")
        keystore.unlock("benchmark-passphrase", 3600)
        node = Node.create(Path(tmp) / "dave", "dave", keystore, board=str(remote))
        for i, host in enumerate(HOSTS):
            node.add_peer(f"keyholder{i}", host)
        start = time.perf_counter()
        node.sync()
        first = time.perf_counter() - start
        assert node.ceremonies() == [] and not node.store.unseen_ceremonies()
        start = time.perf_counter()
        node.sync()
        second = time.perf_counter() - start
        ceremonies = [r[0] for r in node.store.db.execute("SELECT DISTINCT ceremony FROM board_order")]
        start = time.perf_counter()
        for cid in ceremonies:
            view = node.board.read_ceremony(cid)
            assert len(view.posts) == 10 and not view.rejected
        whole = time.perf_counter() - start
        node.close()
    return {"first": first, "second": second, "whole": whole}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000")
    args = parser.parse_args()
    print(f"{'past ceremonies':>16} {'first sync s':>13} {'per ceremony ms':>16} {'next sync s':>12} "
          f"{'reference: read every post s':>29}")
    for size in (int(s) for s in args.sizes.split(",")):
        figures = measure(size)
        print(f"{size:>16} {figures['first']:>13.2f} {figures['first'] / size * 1000:>16.2f} "
              f"{figures['second']:>12.3f} {figures['whole']:>29.2f}")


if __name__ == "__main__":
    main()
