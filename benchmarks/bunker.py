"""NIP-46 sign_event round trip through a local relay, beside the bare relay round trip.

One LocalRelay on loopback (in this process, on rust-nostr's own threads); the bunker in
a child process, as in production; an ATM-style client (our NIP-46 client: fresh key,
NIP-44 requests, answers matched by id) in this process. Measured in the same run:

- bare relay: publish a signed kind-24133 event, receive it back on a subscription;
- bunker: ``sign_event`` of kind 21000, request to verified signed event back;
- throughput: requests with N in flight, completed per second.

    .venv/bin/python benchmarks/bunker.py [--rounds 500] [--in-flight 32]

Targets (issue 12): p50 under 5 ms, at least 500 requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.bunker.client import BunkerClient  # noqa: E402
from backends.bunker.local_relay import LocalRelay  # noqa: E402
from backends.bunker.nostr import SecretKey, sign_event  # noqa: E402
from backends.bunker.signer import KIND_NIP46  # noqa: E402
from backends.bunker.url import parse_bunker_url  # noqa: E402


def run_bunker(relay: str, secret: bytes, data_dir: str, ready, stop) -> None:
    from backends.bunker.service import BunkerService
    from backends.bunker.signer import RemoteSigner
    from backends.bunker.tokens import TokenStore

    store = TokenStore(Path(data_dir) / "bunker.sqlite3", time.time)
    service = BunkerService(RemoteSigner({"fleet": SecretKey(secret)}, store), (relay,)).start()
    ready.set()
    stop.wait()
    service.stop()
    store.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), for a load-independent figure."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def bare_relay(relay: str, rounds: int) -> list[float]:
    from websockets.asyncio.client import connect

    key = SecretKey.generate()
    async with connect(relay, compression=None) as pub, connect(relay, compression=None) as sub:
        await sub.send(json.dumps(["REQ", "bench", {"kinds": [KIND_NIP46], "#p": [key.public_hex],
                                                    "since": int(time.time()) - 5}]))
        while json.loads(await sub.recv())[0] != "EOSE":
            pass
        samples = []
        for i in range(rounds):
            event = sign_event(key, KIND_NIP46, f"ping {i}", [["p", key.public_hex]], int(time.time()))
            started = time.perf_counter()
            await pub.send(json.dumps(["EVENT", event.to_dict()]))
            while True:
                frame = json.loads(await sub.recv())
                if frame[0] == "EVENT" and frame[2]["id"] == event.id:
                    break
            samples.append(time.perf_counter() - started)
        return samples


async def bunker_round_trips(url, rounds: int, in_flight: int, pid: int) -> tuple[list[float], float, float]:
    async with BunkerClient(url) as atm:
        await atm.connect()
        samples = []
        for i in range(rounds):
            started = time.perf_counter()
            await atm.sign_event(21000, f"cash out {i}")
            samples.append(time.perf_counter() - started)
        semaphore = asyncio.Semaphore(in_flight)

        async def one(i: int) -> None:
            async with semaphore:
                await atm.sign_event(21000, f"burst {i}")

        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(rounds)))
        rate = rounds / (time.perf_counter() - started)
        return samples, rate, (cpu_seconds(pid) - cpu_before) / rounds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    key = SecretKey.generate()
    context = multiprocessing.get_context("spawn")
    with LocalRelay() as relay, tempfile.TemporaryDirectory() as data_dir:
        from backends.bunker.tokens import TokenStore

        store = TokenStore(Path(data_dir) / "bunker.sqlite3", time.time)
        _, url = store.create(key_label="fleet", signer_pubkey=key.public_hex, client_name="bench",
                              permissions="sign_event:21000", lifetime_seconds=3600, relays=(relay.url,))
        store.close()
        ready, stop = context.Event(), context.Event()
        bunker = context.Process(target=run_bunker, args=(relay.url, key.secret_bytes(), data_dir, ready, stop))
        bunker.start()
        try:
            ready.wait(30)
            bare = asyncio.run(bare_relay(relay.url, args.rounds))
            signed, rate, cpu = asyncio.run(bunker_round_trips(parse_bunker_url(str(url)), args.rounds,
                                                               args.in_flight, bunker.pid))
        finally:
            stop.set()
            bunker.join(15)
    bare_p50, bare_p95 = percentiles(bare)
    sign_p50, sign_p95 = percentiles(signed)
    print(f"bare relay round trip     p50 {bare_p50:6.2f} ms  p95 {bare_p95:6.2f} ms  ({args.rounds} rounds)")
    print(f"bunker sign_event         p50 {sign_p50:6.2f} ms  p95 {sign_p95:6.2f} ms  ({args.rounds} rounds)")
    print(f"bunker sign_event burst   {rate:7.0f} req/s with {args.in_flight} in flight")
    print(f"bunker CPU per request    {cpu * 1000:6.2f} ms  (one core's capacity: ~{1 / cpu:.0f} req/s)"
          if cpu else "bunker CPU per request    below the clock tick")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work shares them)")
    print(f"targets: p50 < 5 ms ({'met' if sign_p50 < 5 else 'MISSED'}), "
          f">= 500 req/s ({'met' if rate >= 500 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
