"""A signed spend that never reached the chain stays a valid transaction; the next spend
reuses one of its coins, so that once it confirms, a leaked copy of the old one is refused
by the chain (real emulators over ckcc, the embedded chain)."""

from __future__ import annotations

import pytest

from backends.chain.errors import ChainError
from backends.chain.serialize import parse_tx
from backends.quorum import Done, Failed, Step, last_event

from .rig import SINK
from .test_spend import audit_outcomes, run
from .test_spend_safety import flaky  # noqa: F401  (a fixture)


def outpoints(raw_tx: bytes) -> set[tuple[str, int]]:
    return {(i.prev_txid[::-1].hex(), i.prev_vout) for i in parse_tx(raw_tx).inputs}


def test_the_next_spend_reuses_a_coin_of_a_dropped_signed_spend_so_a_leaked_copy_is_refused_by_the_chain(
        rig, flaky, services):  # noqa: F811  (the fixture)
    chain, coordinator = flaky
    coordinator.arm()
    assert isinstance(last_event(coordinator.spend(100_000, SINK)), Done)
    rig.chain.mine(1, SINK)  # its change is now the wallet's smallest coin
    change = min(rig.chain.utxos(rig.descriptor), key=lambda c: c.amount_sat)
    assert change.branch == 1

    # signed on the smaller coin, then lost on its way to the chain: the process gives up
    chain.only, chain.lose = {(change.txid, change.vout)}, True
    assert isinstance(last_event(coordinator.spend(200_000, SINK)), Failed)
    chain.only, chain.lose = None, False
    (given_up,) = coordinator.ledger.unfinished()
    leaked = given_up.raw_tx  # a copy someone kept
    assert outpoints(leaked) == {(change.txid, change.vout)}

    events, done = run(coordinator.spend(150_000, SINK))
    assert isinstance(done, Done), done
    assert coordinator.ledger.get(given_up.id).state == "dropped"
    # left to itself the quorum's rule takes the largest coin, a 50 BTC coinbase; it reuses the change
    assert max(c.amount_sat for c in rig.chain.utxos(rig.descriptor)) > change.amount_sat
    new_tx = rig.chain.tx_status(done.txid)
    assert new_tx.state == "mempool"
    spent = outpoints(coordinator.ledger.get(done.spend_id).raw_tx)
    assert (change.txid, change.vout) in spent
    assert any(isinstance(e, Step) and e.name == "void" and f"given-up spend #{given_up.id}" in e.text for e in events)
    assert audit_outcomes(services, "spend")[-1][1]["voids"] == [given_up.id]

    rig.chain.mine(1, SINK)
    assert rig.chain.tx_status(done.txid).state == "confirmed"
    with pytest.raises(ChainError):
        rig.chain.broadcast(leaked)
    assert rig.chain.tx_status(given_up.txid).state not in ("mempool", "confirmed")

    # voided now (an input is spent): later spends choose freely again
    events, later = run(coordinator.spend(100_000, SINK))
    assert isinstance(later, Done) and not any("given-up" in getattr(e, "text", "") for e in events)


def test_a_recorded_spend_the_chain_forgot_is_voided_by_the_next_spend(rig, flaky, services):  # noqa: F811
    chain, coordinator = flaky
    coordinator.arm()
    assert isinstance(last_event(coordinator.spend(100_000, SINK)), Done)
    rig.chain.mine(1, SINK)
    change = min(rig.chain.utxos(rig.descriptor), key=lambda c: c.amount_sat)

    # accepted, recorded, then evicted: the signed transaction is valid and its coin unspent again
    chain.only, chain.forget = {(change.txid, change.vout)}, True
    assert isinstance(last_event(coordinator.spend(200_000, SINK)), Done)
    chain.only, chain.forget = None, False
    forgotten = coordinator.ledger.recent(1)[0]
    assert forgotten.state == "recorded" and rig.chain.tx_status(forgotten.txid).state == "unknown"

    events, done = run(coordinator.spend(150_000, SINK))
    assert isinstance(done, Done), done
    assert (change.txid, change.vout) in outpoints(coordinator.ledger.get(done.spend_id).raw_tx)
    assert any(isinstance(e, Step) and e.name == "void" and f"#{forgotten.id}" in e.text for e in events)
    rig.chain.mine(1, SINK)
    with pytest.raises(ChainError):
        rig.chain.broadcast(forgotten.raw_tx)
