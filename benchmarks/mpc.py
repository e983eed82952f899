"""Threshold Schnorr speed: one complete BIP-445 signature, and one ChillDKG run, beside the
pure-Python reference figures measured on this machine (shared/research/baselines.md 2-3).

A complete signature = t × nonce_gen, nonce_agg, t × sign, t × partial_sig_verify (the
coordinator checking each share), partial_sig_agg and a BIP-340 verify; fresh keys and a fresh
message every session (key generation is outside the timing), so no cache outlives a session.

    .venv/bin/python benchmarks/mpc.py [--runs 15] [--frost-ref DIR] [--dkg-ref DIR]

With --frost-ref (the python/ folder of a checkout of siv2r/bip-frost-signing) and --dkg-ref
(the python/ folder of BlockstreamResearch/bip-frost-dkg), the spec's reference code is also
timed in this run, in a subprocess, instead of quoting baselines.md. Nothing of it is vendored.
"""

from __future__ import annotations

import argparse
import os
import json
import statistics
import subprocess
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


# the reference's own API, timed the way baselines.md describes (one session = one signature)
_FROST_REF = """
import os, secrets, sys, time, json
from frost_ref import signing as f
from trusted_dealer import trusted_dealer_keygen
from secp256k1lab.bip340 import schnorr_verify
t, n, runs = map(int, sys.argv[1:4])
out = []
for _ in range(runs + 1):
    thresh_pk, secshares, pubshares = trusted_dealer_keygen(secrets.token_bytes(32), n, t)
    ids = list(range(t))
    ctx = f.SignersContext(n, t, ids, [pubshares[i] for i in ids], thresh_pk)
    msg = os.urandom(32)
    start = time.perf_counter()
    nonces = [f.nonce_gen(secshares[i], pubshares[i], thresh_pk[1:], msg, None) for i in ids]
    pubnonces = [p for _, p in nonces]
    session = f.SessionContext(f.nonce_agg(pubnonces), ctx, [], [], msg)
    psigs = [f.sign(nonces[k][0], secshares[i], i, session) for k, i in enumerate(ids)]
    assert all(f.partial_sig_verify(psigs[k], pubnonces, ctx, [], [], msg, k) for k in range(t))
    sig = f.partial_sig_agg(psigs, session)
    assert schnorr_verify(msg, thresh_pk[1:], sig)
    out.append((time.perf_counter() - start) * 1000)
print(json.dumps(out[1:]))
"""

_DKG_REF = """
import secrets, sys, time, json
from chilldkg_ref import chilldkg as c
t, n, runs = map(int, sys.argv[1:4])
out = []
for _ in range(runs + 1):
    start = time.perf_counter()
    seckeys = [secrets.token_bytes(32) for _ in range(n)]
    params = c.SessionParams([c.hostpubkey_gen(k) for k in seckeys], t)
    r1 = [c.participant_step1(k, params, secrets.token_bytes(32)) for k in seckeys]
    cstate, cmsg1 = c.coordinator_step1([m for _, m in r1], params)
    r2 = [c.participant_step2(k, s, cmsg1, secrets.token_bytes(32)) for k, (s, _) in zip(seckeys, r1)]
    cmsg2, _, _ = c.coordinator_finalize(cstate, [m for _, m in r2])
    for s, _ in r2:
        c.participant_finalize(s, cmsg2)
    out.append((time.perf_counter() - start) * 1000)
print(json.dumps(out[1:]))
"""


def reference_ms(kind: str, t: int, n: int, runs: int, ref_dir: str | None) -> tuple[float, str]:
    """(median ms, where the figure comes from): measured now if a reference folder is given."""
    if ref_dir is None:
        return REFERENCE_MS[(kind, t, n)], "baselines.md"
    code = _FROST_REF if kind == "sign" else _DKG_REF
    lab = str(Path(ref_dir) / "secp256k1lab" / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ref_dir, lab]))
    done = subprocess.run(
        [sys.executable, "-c", code, str(t), str(n), str(runs)], env=env, capture_output=True, text=True, check=True
    )
    return statistics.median(json.loads(done.stdout)), f"measured now ({runs} runs)"


def row(kind: str, t: int, n: int, runs: int, fn, ref_dir: str | None = None, ref_runs: int = 1) -> str:
    fn(t, n)  # warm-up
    times = [fn(t, n) for _ in range(runs)]
    ref, source = reference_ms(kind, t, n, ref_runs, ref_dir)
    if times[0] is None:
        return f"| {kind} | {t}-of-{n} | not built | | {ref:.0f} ({source}) | {TARGET_MS[(kind, t, n)]:.0f} |"
    med = statistics.median(times)
    return (
        f"| {kind} | {t}-of-{n} | {med:.2f} ({min(times):.2f}-{max(times):.2f}) | {ref / med:.0f}x "
        f"| {ref:.0f} ({source}) | {TARGET_MS[(kind, t, n)]:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--frost-ref", help="python/ folder of siv2r/bip-frost-signing, to time it now")
    parser.add_argument("--dkg-ref", help="python/ folder of BlockstreamResearch/bip-frost-dkg, to time it now")
    parser.add_argument("--ref-runs", type=int, default=3, help="reference runs per row (it is slow)")
    args = parser.parse_args()
    print("| operation | t-of-n | ours ms median (min-max) | speed-up | reference ms median | target ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(row("sign", 2, 3, args.runs, one_signature, args.frost_ref, args.ref_runs))
    print(row("sign", 10, 15, args.runs, one_signature, args.frost_ref, args.ref_runs))
    print(row("dkg", 2, 3, args.runs, one_dkg, args.dkg_ref, args.ref_runs))
    print(row("dkg", 10, 15, max(3, args.runs // 3), one_dkg, args.dkg_ref, max(1, args.ref_runs // 3)))


if __name__ == "__main__":
    main()
