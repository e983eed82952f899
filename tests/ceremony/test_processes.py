"""Node processes (the real CLI, one process per keyholder) over a bare board: a DKG and a
PSBT spend confirmed on the embedded chain; SIGKILL at every persistence point of signing,
then restart, with no nonce ever used for two different partial signatures."""

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

from .rig import PASSPHRASE, make_nodes, reopen, sync_all

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


APPROVE_POINTS = ["nonce-stored", "decision-persisted", "decision-posted"]
SIGN_POINTS = ["binding-persisted", "psig-persisted", "nonce-destroyed", "psig-posted"]


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
