"""Node processes (the real CLI, one process per keyholder) over a bare board: a DKG and a
PSBT spend confirmed on the embedded chain; SIGKILL at every persistence point of signing,
then restart, with no nonce ever used for two different partial signatures; SIGKILL at every
persistence point of the DKG, then restart, with one key, every share certified, and never
two posts from one node for one round."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from backends.ceremony import CRASH_ENV, dkg, signing
from backends.wallet.addresses import parse_address
from backends.wallet.psbt import Psbt, serialize_psbt
from tests.chain.funding import BURN_ADDRESS

from .rig import PASSPHRASE, copy_rig, make_nodes, reopen, sync_all

NAMES = ["alice", "bob", "carol"]
pytestmark = pytest.mark.slow


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    env["CUSTODY_TUI_PASSPHRASE"] = PASSPHRASE
    env.update(extra or {})
    return env


def cli(root: Path, node: str, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "custody_tui", "--data-dir", str(root), "ceremony", "--node", node,
                           *args], env=cli_env({CRASH_ENV: crash_at} if crash_at else None),
                          capture_output=True, text=True, timeout=120)


def cli_ok(root: Path, node: str, *args: str) -> str:
    done = cli(root, node, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sync_processes(root: Path, names: list[str]) -> None:
    """Every node runs ``ceremony sync --until-idle`` in its own process, all at once."""
    procs = [subprocess.Popen([sys.executable, "-m", "custody_tui", "--data-dir", str(root), "ceremony", "--node",
                               name, "sync", "--until-idle", "--timeout", "60"], env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for name in names]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def rig(tmp_path):
    (tmp_path / "config.toml").write_text('network = "regtest"\n[chain]\nbackend = "none"\n')
    _, nodes = make_nodes(tmp_path, NAMES, subdir="ceremony")
    for node in nodes.values():
        node.close()
    return tmp_path


def test_three_node_processes_make_a_key_and_spend_from_it_on_the_embedded_chain(rig, embedded):
    started = cli_ok(rig, "alice", "dkg", "start", "--name", "treasury", "--participants", "alice,bob,carol",
                     "-t", "2", "--json")
    cid = json.loads(started)["ceremony"]
    for name in ("bob", "carol"):  # each finds the invitation on the board and joins
        assert "params hash" in cli_ok(rig, name, "dkg", "join", cid)
    sync_processes(rig, NAMES)
    assert "complete" in cli_ok(rig, "carol", "dkg", "status", cid)

    alice = reopen(rig, "alice", "ceremony")
    group = alice.group(cid)
    alice.close()
    embedded.watch(group.descriptor, label="treasury")
    embedded.mine(1, group.address)
    embedded.mine(100, BURN_ADDRESS)
    (coin,) = [u for u in embedded.utxos() if u.script_pubkey == group.output_script]
    pay, fee = 1_000_000, 1_500
    tx = Transaction(version=2, vin=[TransactionInput(bytes.fromhex(coin.txid), coin.vout, sequence=0xFFFFFFFD)],
                     vout=[TransactionOutput(pay, Script(parse_address(BURN_ADDRESS, "regtest"))),
                           TransactionOutput(coin.amount_sat - pay - fee, Script(group.output_script))])
    psbt = Psbt(tx)
    psbt.inputs[0].witness_utxo = TransactionOutput(coin.amount_sat, Script(group.output_script))
    (rig / "spend.psbt").write_text(serialize_psbt(psbt))

    requested = cli_ok(rig, "bob", "sign", "request", "--dkg", cid[:8], "--psbt", str(rig / "spend.psbt"),
                       "--reason", "pay the auditors", "--json")
    sid = json.loads(requested)["ceremony"]
    for name in ("alice", "carol"):
        cli_ok(rig, name, "sync")
        review = cli_ok(rig, name, "sign", "review", sid)
        assert BURN_ADDRESS in review and "change (back to the group)" in review
        assert "fee 1,500 sat" in review and "pay the auditors" in review
        cli_ok(rig, name, "sign", "approve", sid)
    sync_processes(rig, NAMES)

    alice = reopen(rig, "alice", "ceremony")
    try:
        assert "waiting for a node with a chain" in alice.ceremony(sid).note
        alice.sync(chain=embedded)  # aggregation by anyone: alice's node has the chain
        row = alice.ceremony(sid)
        assert row.state == "complete"
    finally:
        alice.close()
    embedded.mine(1, BURN_ADDRESS)
    assert embedded.tx_status(row.info["txid"]).confirmations == 1
    sync_processes(rig, ["bob", "carol"])
    status = cli_ok(rig, "bob", "status", sid)
    assert "complete" in status and row.info["txid"] in status


APPROVE_POINTS = ["nonce-stored", "decision-persisted", "decision-committed", "decision-posted"]
SIGN_POINTS = ["binding-persisted", "psig-persisted", "nonce-destroyed", "psig-committed", "psig-posted"]


def test_sigkill_at_every_persistence_point_of_signing_never_reuses_a_nonce(rig):
    nodes = {name: reopen(rig, name, "ceremony") for name in NAMES}
    cid = dkg.start(nodes["alice"], "treasury", NAMES, 2)
    for name in ("bob", "carol"):
        nodes[name].sync()
        dkg.join(nodes[name], cid)
    sync_all(nodes.values(), 3)
    nodes["alice"].close()
    outcomes = {}
    for point in APPROVE_POINTS + SIGN_POINTS:
        sid = signing.request(nodes["bob"], cid, reason=f"crash at {point}", message=point.encode())
        nodes["carol"].sync()
        signing.approve(nodes["carol"], sid)  # carol is first: the set will be {alice, carol}
        if point in APPROVE_POINTS:  # alice's node process dies while approving
            crashed = cli(rig, "alice", "sign", "approve", sid, crash_at=point)
        else:  # alice approved; her node process dies while signing
            alice = reopen(rig, "alice", "ceremony")
            alice.sync()
            signing.approve(alice, sid)
            alice.close()
            crashed = cli(rig, "alice", "sync", crash_at=point)
        assert crashed.returncode == -9, crashed.stderr
        alice = reopen(rig, "alice", "ceremony")  # the restart: the node read back from disk
        if alice.ceremony(sid).state == "review":  # died before the approval was decided
            signing.approve(alice, sid)
        alice.sync()
        alice.close()
        sync_all([nodes["carol"], nodes["bob"]], 2)
        outcomes[point] = nodes["bob"].ceremony(sid).state
    alice = reopen(rig, "alice", "ceremony")
    nodes["alice"] = alice
    # every partial signature ever produced: on the board, and in each node's own record
    produced: dict[tuple[str, str], set[str]] = {}
    for name, node in nodes.items():
        for sid, signers, psigs in node.store.db.execute("SELECT ceremony, signers, psigs FROM nonce_use"):
            mine = node.store.queued(sid, "decision")
            if psigs:
                for k, psig in enumerate(json.loads(psigs)):
                    produced.setdefault((name, mine["pubnonces"][k]), set()).add(psig)
    for row in alice.ceremonies():
        if row.kind != "sign":
            continue
        view = alice.board.read_ceremony(row.id)
        decisions = {p.poster: p.body for p in view.phase("decision")}
        for post in view.phase("psig"):
            for k, psig in enumerate(post.body["psigs"]):
                produced.setdefault((post.poster_name, decisions[post.poster]["pubnonces"][k]), set()).add(psig)
    assert produced and all(len(psigs) == 1 for psigs in produced.values()), produced
    pubnonces = [nonce for (_, nonce) in produced]
    assert len(pubnonces) == len(set(pubnonces))  # no public nonce in two ceremonies either
    assert set(outcomes.values()) <= {"complete", "aborted"}, outcomes
    assert all(state == "complete" for state in outcomes.values()), outcomes
    for node in nodes.values():
        node.close()


# alice's node process is killed at each point where the DKG writes state (a secret to the
# keystore, a decision to the database, a post to its copy of the board) before a post leaves,
# in the process where that point is reached: her `dkg start` (start and round 1), her first
# `sync` after every round 1 (she coordinates round 1 and signs the certificate), her `sync`
# after every round 2 (recovery data, share, acknowledgment)
DKG_POINTS = {
    "start": ["start-queued", "dkg-random-stored", "round1-queued", "start-committed", "round1-committed",
              "start-posted", "round1-posted"],
    "round2": ["coord1-queued", "round2-queued", "coord1-committed", "round2-committed", "coord1-posted",
               "round2-posted"],
    "finalize": ["coord2-queued", "share-stored", "done-queued", "dkg-random-destroyed", "coord2-committed",
                 "done-committed", "coord2-posted", "done-posted"],
}


@pytest.fixture(scope="module")
def dkg_stages(tmp_path_factory):
    """The rig at the start of each step (made once, copied for each kill point): nothing
    yet; every node joined; every round 2 but alice's posted."""
    stages = {}
    root = stages["start"] = tmp_path_factory.mktemp("dkg-kill-start")
    (root / "config.toml").write_text('network = "regtest"\n[chain]\nbackend = "none"\n')
    _, nodes = make_nodes(root, NAMES, subdir="ceremony")
    for node in nodes.values():
        node.close()
    stages["round2"] = tmp_path_factory.mktemp("dkg-kill-round2")
    _, nodes = copy_rig(stages["start"], stages["round2"], NAMES, "ceremony")
    cid = dkg.start(nodes["alice"], "treasury", NAMES, 2)
    for name in ("bob", "carol"):
        nodes[name].sync()
        dkg.join(nodes[name], cid)
    for node in nodes.values():
        node.close()
    stages["finalize"] = tmp_path_factory.mktemp("dkg-kill-finalize")
    _, nodes = copy_rig(stages["round2"], stages["finalize"], NAMES, "ceremony")
    sync_all(nodes.values(), 1)
    for node in nodes.values():
        node.close()
    return stages


def _dkg_named(node, name: str) -> str | None:
    found = [row.id for row in node.ceremonies() if row.kind == "dkg" and row.info["name"] == name]
    assert len(found) <= 1
    return found[0] if found else None


def _bodies_ever_written(git_dir: Path, cid: str) -> dict[tuple[str, str], set[str]]:
    """(phase, poster) -> every post body of ``cid`` among ALL objects of a git repository,
    reachable or not: a post committed and then lost in a crash still shows here."""
    out = subprocess.run(["git", "-C", str(git_dir), "cat-file", "--batch-all-objects", "--batch"],
                         capture_output=True, check=True).stdout
    bodies: dict[tuple[str, str], set[str]] = {}
    pos = 0
    while pos < len(out):
        header_end = out.index(b"\n", pos)
        _, kind, size = out[pos:header_end].split()
        data = out[header_end + 1:header_end + 1 + int(size)]
        pos = header_end + 1 + int(size) + 1
        if kind != b"blob" or cid.encode() not in data:
            continue
        post = json.loads(data)
        bodies.setdefault((post["phase"], post["poster"]), set()).add(json.dumps(post["body"], sort_keys=True))
    return bodies


@pytest.mark.parametrize("step,point", [(step, point) for step, points in DKG_POINTS.items() for point in points])
def test_sigkill_at_every_persistence_point_of_the_dkg_then_restart_completes_it(dkg_stages, tmp_path, step, point):
    from backends.mpc import chilldkg
    from backends.mpc.secp import Scalar, mul_g

    _, nodes = copy_rig(dkg_stages[step], tmp_path, NAMES, "ceremony")
    nodes.pop("alice").close()
    args = ("dkg", "start", "--name", "treasury", "--participants", ",".join(NAMES), "-t", "2") \
        if step == "start" else ("sync",)
    crashed = cli(tmp_path, "alice", *args, crash_at=point)
    assert crashed.returncode == -9, f"no kill at {point}: {crashed.stdout}{crashed.stderr}"
    nodes["alice"] = alice = reopen(tmp_path, "alice", "ceremony")  # the restart: read back from disk
    try:
        cid = _dkg_named(alice, "treasury")
        assert cid is not None  # the start is decided before anything can be killed
        for _ in range(5):
            for node in nodes.values():
                node.sync()
                row = node.store.ceremony(cid)
                if row is not None and row.state == "invited":  # the keyholder joins (again)
                    dkg.join(node, cid)
            if all(getattr(node.store.ceremony(cid), "state", None) == "complete" for node in nodes.values()):
                break
        rows = {name: node.ceremony(cid) for name, node in nodes.items()}
        assert {name: row.state for name, row in rows.items()} == dict.fromkeys(NAMES, "complete"), \
            {name: (row.state, row.note) for name, row in rows.items()}
        # one group key; each share the one the certified transcript commits to; no randomness left
        (recovery,) = {row.info["recovery"] for row in rows.values()}
        public, _ = chilldkg.coordinator_recover(bytes.fromhex(recovery))
        assert {row.info["thresh_pk"] for row in rows.values()} == {public.thresh_pk.hex()}
        for name, node in nodes.items():
            share = node.keystore.get_secret(dkg.share_label(cid))
            pubshare = mul_g(Scalar.from_bytes_checked(share)).to_bytes_compressed()
            assert pubshare == public.pubshares[rows[name].info["my_id"]], name
            assert node.secret(dkg.random_label(cid)) is None, name
        # never two bodies for one (phase, poster): not on the board, not in any node's copy,
        # not even among the objects a killed process left unreferenced
        for git_dir in [tmp_path / "board.git", *(tmp_path / "ceremony" / name / "board.git" for name in NAMES)]:
            bodies = _bodies_ever_written(git_dir, cid)
            assert bodies and all(len(b) == 1 for b in bodies.values()), (git_dir, bodies)
            mine = {phase for phase, poster in bodies if poster == alice.poster_key.hex()}
            assert mine <= set(alice.store.my_posts(cid))
    finally:
        for node in nodes.values():
            node.close()
