"""Threshold Schnorr speed: one complete BIP-445 signature, and one ChillDKG run, beside the
pure-Python reference figures measured on this machine (shared/research/baselines.md 2-3).

A complete signature = t × nonce_gen, nonce_agg, t × sign, t × partial_sig_verify (the
coordinator checking each share), partial_sig_agg and a BIP-340 verify; fresh keys and a fresh
message every session (key generation is outside the timing), so no cache outlives a session.

    .venv/bin/python benchmarks/mpc.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.mpc import frost  # noqa: E402
from backends.mpc.bip340 import schnorr_verify  # noqa: E402
from backends.mpc.dealer import trusted_dealer_keygen  # noqa: E402

# baselines.md: medians of the spec's reference implementation on this machine
REFERENCE_MS = {
    ("sign", 2, 3): 821.0,
    ("sign", 10, 15): 9050.0,
    ("dkg", 2, 3): 1540.0,
    ("dkg", 10, 15): 29800.0,
}
TARGET_MS = {
    ("sign", 2, 3): 10.0,
    ("sign", 10, 15): 60.0,
    ("dkg", 2, 3): 100.0,
    ("dkg", 10, 15): 2000.0,
}


def one_signature(t: int, n: int) -> float:
    keys = trusted_dealer_keygen(t, n)
    ids = tuple(range(t))
    ctx = frost.SignersCtx(n, t, ids, tuple(keys.pubshares[i] for i in ids), keys.thresh_pk)
    msg = os.urandom(32)
    xonly = keys.thresh_pk[1:]
    start = time.perf_counter()
    nonces = [frost.nonce_gen(keys.secshares[i], keys.pubshares[i], xonly, msg) for i in ids]
    pubnonces = [p for _, p in nonces]
    aggnonce = frost.nonce_agg(pubnonces)
    session = frost.SessionCtx(ctx, aggnonce, (), (), msg)
    psigs = [frost.sign(nonces[k][0], keys.secshares[i], i, session) for k, i in enumerate(ids)]
    for k in range(t):
        assert frost.partial_sig_verify(psigs[k], pubnonces, ctx, (), (), msg, k)
    sig = frost.partial_sig_agg(psigs, session)
    assert schnorr_verify(msg, frost.get_session_values(session).Q.to_bytes_xonly(), sig)
    return (time.perf_counter() - start) * 1000


def one_dkg(t: int, n: int) -> float | None:
    try:
        from backends.mpc.inmemory import run_in_memory
    except ImportError:
        return None
    start = time.perf_counter()
    run_in_memory(t, n)
    return (time.perf_counter() - start) * 1000


def row(kind: str, t: int, n: int, runs: int, fn) -> str:
    fn(t, n)  # warm-up
    times = [fn(t, n) for _ in range(runs)]
    if times[0] is None:
        return f"| {kind} | {t}-of-{n} | not built | | {REFERENCE_MS[(kind, t, n)]:.0f} | {TARGET_MS[(kind, t, n)]:.0f} |"
    med = statistics.median(times)
    ref = REFERENCE_MS[(kind, t, n)]
    return (
        f"| {kind} | {t}-of-{n} | {med:.2f} ({min(times):.2f}-{max(times):.2f}) | {ref / med:.0f}x "
        f"| {ref:.0f} | {TARGET_MS[(kind, t, n)]:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print("| operation | t-of-n | ours ms median (min-max) | speed-up | reference ms | target ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row("sign", 2, 3, args.runs, one_signature))
    print(row("sign", 10, 15, args.runs, one_signature))
    print(row("dkg", 2, 3, args.runs, one_dkg))
    print(row("dkg", 10, 15, max(3, args.runs // 3), one_dkg))


if __name__ == "__main__":
    main()
