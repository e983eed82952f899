"""Voiding signed spends that never reached the chain.

A spend given up after the devices signed it (the coordinator died before the broadcast,
or the chain refused it) is still a valid transaction: anyone who kept a copy (a log, a
backup of the data dir, the link to a device) can broadcast it later and pay a second time.
Forgetting it is not enough; the one way to void a signed transaction is to spend one of
its inputs in another transaction that confirms. So the next spend reuses a coin of every
such transaction that could still confirm, and once that spend confirms, they never can.

A recorded spend the chain has forgotten (evicted from the mempool, or lost by a node
restart) is the same: its inputs are unspent again, and a copy can still be mined. So it
is voided too.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ledger states of a spend that was signed and then given up (``raw_tx`` is kept)
GIVEN_UP = ("dropped", "failed")
#: recorded spends looked at for eviction: the newest, as the chain forgets a transaction
#: within weeks (Core's mempool expiry) and the quorum does not make thousands a week
RECORDED_LOOKED_AT = 1000


@dataclass(frozen=True)
class Voided:
    """A given-up spend, and the coin of it that the new spend reuses."""

    spend_id: int
    txid: str
    coin: object  # backends.wallet.Utxo


def to_void(ledger, chain_coins, spendable) -> list[Voided]:
    """The given-up (or forgotten) signed spends whose inputs are all still unspent (each
    could still confirm), with the largest of their inputs among ``spendable``
    (``backends.wallet.Utxo``). A transaction in the mempool or mined has spent its inputs
    (``chain_coins`` leaves out coins a mempool transaction spends), so it is passed over."""
    unspent = {(c.txid, c.vout) for c in chain_coins}
    by_outpoint = {(c.txid, c.vout): c for c in spendable}
    found = []
    for row in ledger.signed_inputs([(GIVEN_UP, -1), (("recorded",), RECORDED_LOOKED_AT)]):
        outpoints = row.outpoints
        if not outpoints or not all(o in unspent for o in outpoints):
            continue  # an input is spent: this transaction can never confirm
        reusable = [by_outpoint[o] for o in outpoints if o in by_outpoint]
        if reusable:  # else its coins are too fresh to spend yet: the next spend tries again
            found.append(Voided(row.spend_id, row.txid, max(reusable, key=lambda c: c.value)))
    return found
