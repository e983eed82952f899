"""A DKG plus one signature by node processes over a local bare board.

One process per keyholder (``--worker``), each a real ceremony node with its own data
dir, keystore and copy of the board, all started at once. Node 0 starts the DKG, every
node joins it, node 0 then requests a signature and nodes 0..t-1 approve it; every node
runs until it has verified the group signature. Timed: from starting the processes to the
last one exiting (Python start-up, keystore unlock and every git fetch/push included);
also shown, when the DKG and when the signature were done as node 0 saw them.

Targets (issue 10): n=3 t=2 under 3 s, n=15 t=10 under 20 s.

    .venv/bin/python benchmarks/ceremony.py [--sizes 3:2,15:10] [--runs 1]

The keystores use Argon2id at 1 pass over 8 MiB so the figure is the ceremony's, not the
key derivation's (an operator's real unlock costs about a second, once per session). The
node processes run from compiled bytecode, as an installed package does (a throwaway
``PYTHONPYCACHEPREFIX`` filled once before the clock starts), even where the environment
sets ``PYTHONDONTWRITEBYTECODE``: compiling the sources again in every process measures
the checkout, not the ceremony (``--from-source`` measures that way, for comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSPHRASE = "benchmark-passphrase"
POLL = 0.05
MAX_POLL = 0.5


def keystore(directory: Path):
    from backends.keystore import KdfParams, Keystore

    store = Keystore(directory / "keystore", KdfParams(opslimit=1, memlimit=8 * 1024 * 1024))
    if not store.exists():
        store.initialize(PASSPHRASE)
    store.unlock(PASSPHRASE, 3600)
    return store


def set_up(root: Path, n: int) -> list[Path]:
    from backends.board import init_board
    from backends.ceremony import Node

    board = init_board(root / "board.git")
    dirs = [root / f"node{i:02d}" for i in range(n)]
    nodes = [Node.create(d, d.name, keystore(d), board=str(board)) for d in dirs]
    for node in nodes:
        for other in nodes:
            if other is not node:
                node.add_peer(other.name, other.hostpubkey)
    for node in nodes:
        node.close()
    return dirs


def worker(directory: Path, index: int, n: int, t: int) -> None:
    """One keyholder's node: join, approve when among the first t, stop once it has
    verified the signature."""
    from backends.ceremony import Node, dkg, signing

    started = time.perf_counter()
    node = Node.open(directory, keystore(directory))
    names = [f"node{i:02d}" for i in range(n)]
    marks: dict[str, float] = {}
    if index == 0:
        dkg.start(node, "bench", names, t)
    idle = 0
    while True:
        events = node.sync()
        rows = node.ceremonies()
        for row in rows:
            if row.kind == "dkg" and row.state == "invited":
                dkg.join(node, row.id)
            if row.kind == "sign" and row.state == "review" and index < t:
                signing.approve(node, row.id)
        keys = [r for r in rows if r.kind == "dkg" and r.state in ("finalized", "complete")]
        if keys and "dkg" not in marks:
            marks["dkg"] = time.perf_counter() - started
            if index == 0:
                signing.request(node, keys[0].id, reason="benchmark", message=b"benchmark message")
        signs = [r for r in node.ceremonies() if r.kind == "sign"]
        if signs and signs[0].state == "complete":
            marks["sign"] = time.perf_counter() - started
            break
        if any(r.state == "failed" for r in rows):
            raise SystemExit(f"{directory.name}: a ceremony failed: {[r.note for r in rows if r.note]}")
        # back off while idle, to half a second: fifteen nodes each taking every step of
        # the board as it moves would only slow down the node whose turn it is to push
        idle = 0 if events else idle + 1
        time.sleep(min(POLL * 1.5 ** idle, MAX_POLL) * random.uniform(0.5, 1.0))
    node.close()
    print(json.dumps(marks))


def bytecode_env(cache: Path) -> dict[str, str]:
    """The environment of the node processes: bytecode compiled once into ``cache``."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, __file__, "--warm-up"], env=env, check=True)
    return env


def measure(n: int, t: int, *, from_source: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = None if from_source else bytecode_env(Path(tmp) / "pycache")
        dirs = set_up(Path(tmp), n)
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(d), str(i), str(n), str(t)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                 for i, d in enumerate(dirs)]
        try:
            outs = [proc.communicate(timeout=600) for proc in procs]
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        total = time.perf_counter() - start
        for proc, (_, err) in zip(procs, outs):
            if proc.returncode != 0:
                raise SystemExit(f"a node process failed:\n{err}")
        first = json.loads(outs[0][0].strip().splitlines()[-1])
        return {"total": total, "dkg": first["dkg"], "sign": first["sign"]}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--warm-up":
        from backends.ceremony import Node, dkg, signing  # noqa: F401 - imported to compile them
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3:2,15:10", help="n:t pairs, comma-separated")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--from-source", action="store_true",
                        help="node processes compile their sources as the environment says (no bytecode cache)")
    args = parser.parse_args()
    targets = {(3, 2): 3.0, (15, 10): 20.0}
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    print(f"load average at start: {load} (the figures scale with how busy the machine is)")
    print(f"{'n':>3} {'t':>3}  {'DKG done':>9}  {'signed':>8}  {'all exited':>10}  target")
    for pair in args.sizes.split(","):
        n, t = (int(x) for x in pair.split(":"))
        runs = [measure(n, t, from_source=args.from_source) for _ in range(args.runs)]
        median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        target = targets.get((n, t))
        verdict = "" if target is None else f"< {target:.0f} s {'ok' if median['total'] < target else 'MISSED'}"
        print(f"{n:>3} {t:>3}  {median['dkg']:>8.2f}s  {median['sign']:>7.2f}s  {median['total']:>9.2f}s  {verdict}",
              flush=True)


if __name__ == "__main__":
    main()
