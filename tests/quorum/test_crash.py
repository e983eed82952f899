"""A coordinator SIGKILLed in the middle of a spend restarts consistent: a transaction that
reached the chain is recorded (never built again), one that did not is dropped."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import pytest

from backends.chain import ChainServer
from backends.quorum import Done, last_event

from .rig import SINK
from tests.coldcard.emulators import REPO

pytestmark = pytest.mark.slow


def spend_killed(rig, data_dir, socket, when: str, amount: int, spec=None) -> None:
    spec = dataclasses.asdict(spec or rig.spec())
    process = subprocess.run(
        [sys.executable, "-m", "tests.quorum.crashing_spend", json.dumps(spec), str(data_dir), str(socket),
         when, str(amount), SINK], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert process.returncode == -9, process.stdout + process.stderr


@pytest.fixture
def served(rig, tmp_path):
    server = ChainServer(rig.chain, tmp_path / "chain.sock")
    server.start()
    try:
        yield tmp_path / "chain.sock"
    finally:
        server.stop()


def sends(rig):
    return [h for h in rig.chain.history(rig.descriptor) if h.sent_sat]


def test_killed_between_broadcast_and_recording_the_restart_records_it_and_sends_nothing_twice(
        rig, coordinator, services, served):
    coordinator.arm()
    spend_killed(rig, services.data_dir, served, "after", 250_000)
    (row,) = coordinator.ledger.unfinished()
    assert row.state == "signed" and rig.chain.tx_status(row.txid).state == "mempool"
    settled = coordinator.recover()
    assert [r.id for r, _ in settled] == [row.id]
    assert coordinator.ledger.get(row.id).state == "recorded"
    assert [h.txid for h in sends(rig)] == [row.txid]
    # the next spend is a new one, built on the recorded spend's change
    done = last_event(coordinator.spend(100_000, SINK))
    assert isinstance(done, Done) and done.txid != row.txid
    assert sorted(h.txid for h in sends(rig)) == sorted([row.txid, done.txid])
    assert [e.details["now"] for e in services.audit.entries(limit=None) if e.action == "recover"] == ["recorded"]


def test_signed_but_never_broadcast_is_dropped_at_restart_and_its_coins_are_free(rig, coordinator, served, services):
    coordinator.arm()
    spend_killed(rig, services.data_dir, served, "before", 250_000)
    (row,) = coordinator.ledger.unfinished()
    assert row.state == "signed" and rig.chain.tx_status(row.txid).state == "unknown"
    done = last_event(coordinator.spend(250_000, SINK))  # a spend settles what a crash left first
    assert isinstance(done, Done)
    assert coordinator.ledger.get(row.id).state == "dropped"
    assert [h.txid for h in sends(rig)] == [done.txid]


def test_an_unfinished_spend_is_never_dropped_while_the_chain_cannot_say_whether_it_has_it(
        rig, coordinator, served, services, tmp_path):
    from backends.chain import RemoteChain
    from backends.quorum import Failed

    coordinator.arm()
    spend_killed(rig, services.data_dir, served, "after", 250_000)
    (row,) = coordinator.ledger.unfinished()
    from backends.quorum import Coordinator

    # a coordinator restarted while its chain is down
    down = Coordinator(rig.spec(), services.data_dir, audited=services.audited,
                       chain=lambda: RemoteChain(tmp_path / "nobody-serves-this.sock"))
    try:
        failed = last_event(down.spend(100_000, SINK))
    finally:
        down.close()
    assert isinstance(failed, Failed) and f"spend #{row.id}" in failed.reason
    assert coordinator.ledger.get(row.id).state == "signed"
    # the chain back, the spend it held back is recorded, and (being likely its retry) this
    # request builds nothing; asked again, it is a new spend
    again = last_event(coordinator.spend(100_000, SINK))
    assert isinstance(again, Failed) and row.txid in again.reason
    assert coordinator.ledger.get(row.id).state == "recorded"
    assert isinstance(last_event(coordinator.spend(100_000, SINK)), Done)
