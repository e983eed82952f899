"""What a spend must never do, whatever the devices' links or the chain answer: broadcast a
transaction other than the one pre-flight showed, or pay twice when a spend cut short after
its broadcast is asked for again (real emulators over ckcc, the embedded chain)."""

from __future__ import annotations

import pytest

from backends.chain.errors import ChainUnavailable
from backends.quorum import Coordinator, Done, Failed, Preflight, Step

from .rig import SINK
from .test_spend import mempool_spends, run


class DiedAfterBroadcast(BaseException):
    """The process ending right after the chain took the transaction (not a CustodyError:
    nothing in the coordinator may catch it)."""


class FlakyChain:
    """The rig's chain, whose answers can be lost: ``die`` ends the process after a broadcast
    the chain accepted; ``mute`` loses the broadcast's answer and every tx_status; ``lose``
    loses the broadcast itself on its way (the chain never sees it); ``forget`` answers a
    broadcast as accepted and then forgets the transaction (an eviction); ``only`` narrows
    the coins it reports to those outpoints."""

    def __init__(self, chain) -> None:
        self._chain, self.die, self.mute, self.lose, self.only = chain, False, False, False, None
        self.forget = False

    def __getattr__(self, name):
        return getattr(self._chain, name)

    def utxos(self, descriptor=None):
        coins = self._chain.utxos(descriptor)
        return coins if self.only is None else [c for c in coins if (c.txid, c.vout) in self.only]

    def broadcast(self, raw_tx: bytes) -> str:
        if self.lose:
            raise ChainUnavailable("the chain did not answer within 30 s")
        if self.forget:
            from backends.chain.serialize import parse_tx

            return parse_tx(raw_tx).txid_hex
        txid = self._chain.broadcast(raw_tx)
        if self.die:
            raise DiedAfterBroadcast
        if self.mute:
            raise ChainUnavailable("the chain did not answer within 30 s")
        return txid

    def tx_status(self, txid: str):
        if self.mute:
            raise ChainUnavailable("the chain did not answer within 30 s")
        return self._chain.tx_status(txid)


@pytest.fixture
def flaky(rig, services):
    chain = FlakyChain(rig.chain)
    coordinator = Coordinator(rig.spec(), services.data_dir, chain=chain, audited=services.audited)
    try:
        yield chain, coordinator
    finally:
        coordinator.close()


def test_a_spend_asked_again_after_dying_past_its_broadcast_records_the_first_and_pays_nothing_twice(rig, flaky):
    chain, coordinator = flaky
    coordinator.arm()
    chain.die = True
    with pytest.raises(DiedAfterBroadcast):
        list(coordinator.spend(250_000, SINK))
    chain.die = False
    (row,) = coordinator.ledger.unfinished()
    # the operator (or the scheduler) saw no answer and asks for the same spend again
    events, last = run(coordinator.spend(250_000, SINK))
    assert isinstance(last, Failed) and row.txid in last.reason
    assert coordinator.ledger.get(row.id).state == "recorded"
    assert not any(isinstance(e, Step) and e.name == "sign" for e in events)
    assert [h.txid for h in mempool_spends(rig)] == [row.txid]
    # asked once more, knowing the first went out, it is a new spend
    assert isinstance(last_of(coordinator.spend(100_000, SINK)), Done)


def test_a_broadcast_the_chain_never_answered_is_settled_with_the_chain_before_anything_new_is_built(rig, flaky):
    chain, coordinator = flaky
    coordinator.arm()
    chain.mute = True
    events, last = run(coordinator.spend(250_000, SINK))
    assert isinstance(last, Failed)
    (row,) = coordinator.ledger.unfinished()  # not "failed": the chain may well have it
    assert row.txid in last.reason
    chain.mute = False
    events, last = run(coordinator.spend(250_000, SINK))
    assert isinstance(last, Failed) and coordinator.ledger.get(row.id).state == "recorded"
    assert [h.txid for h in mempool_spends(rig)] == [row.txid]


def test_signatures_over_another_transaction_than_the_one_preflighted_are_never_broadcast(rig, coordinator):
    from backends.quorum.spend import plan_spend
    from backends.wallet import serialize_psbt

    coordinator.arm()
    # every link hands its device a bigger payment than the operator asked for (within the
    # devices' policy, so they sign it)
    swapped = serialize_psbt(plan_spend(coordinator, 900_000, SINK).psbt, "binary")
    for client in coordinator.clients.values():
        client.sign_psbt = (lambda psbt, real=client.sign_psbt, **kw: real(swapped, **kw))
    events, last = run(coordinator.spend(200_000, SINK))
    assert isinstance(last, Failed) and not mempool_spends(rig)
    assert coordinator.ledger.recent(1)[0].state == "refused"
    assert all("other transaction" in reason for reason in last.refusals.values())


def test_a_signer_returning_another_transaction_is_failed_over_and_the_preflighted_one_is_broadcast(rig, coordinator):
    from backends.quorum.spend import plan_spend
    from backends.wallet import serialize_psbt

    coordinator.arm()
    swapped = serialize_psbt(plan_spend(coordinator, 900_000, SINK).psbt, "binary")
    client = coordinator.clients["a"]
    client.sign_psbt = (lambda psbt, real=client.sign_psbt, **kw: real(swapped, **kw))
    events, done = run(coordinator.spend(200_000, SINK))
    assert isinstance(done, Done) and done.signers == ("b", "c")
    flight = next(e for e in events if isinstance(e, Preflight))
    (sent,) = [h for h in mempool_spends(rig)]
    assert sent.txid == done.txid and flight.amount_sat == 200_000
    assert [h.outflow_sat for h in mempool_spends(rig)] == [200_000 + done.fee_sat]


def last_of(events):
    return list(events)[-1]
