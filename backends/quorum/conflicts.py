"""Voiding signed spends that never reached the chain.

A spend given up after the devices signed it (the coordinator died before the broadcast,
or the chain refused it) is still a valid transaction: anyone who kept a copy (a log, a
backup of the data dir, the link to a device) can broadcast it later and pay a second time.
Forgetting it is not enough; the one way to void a signed transaction is to spend one of
its inputs in another transaction that confirms. So the next spend reuses a coin of every
such transaction that could still confirm, and once that spend confirms, they never can.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ledger states of a spend that was signed and then given up (``raw_tx`` is kept)
GIVEN_UP = ("dropped", "failed")


@dataclass(frozen=True)
class Voided:
    """A given-up spend, and the coin of it that the new spend reuses."""

    spend_id: int
    txid: str
    coin: object  # backends.wallet.Utxo


def to_void(ledger, chain_coins, spendable) -> list[Voided]:
    """The given-up signed spends whose inputs are all still unspent (each could still
    confirm), with the largest of their inputs among ``spendable`` (``backends.wallet.Utxo``)."""
    from backends.chain.serialize import parse_tx

    unspent = {(c.txid, c.vout) for c in chain_coins}
    by_outpoint = {(c.txid, c.vout): c for c in spendable}
    found = []
    for row in ledger.given_up_signed(GIVEN_UP):
        outpoints = [(i.prev_txid[::-1].hex(), i.prev_vout) for i in parse_tx(row.raw_tx).inputs]
        if not outpoints or not all(o in unspent for o in outpoints):
            continue  # an input is spent: this transaction can never confirm
        reusable = [by_outpoint[o] for o in outpoints if o in by_outpoint]
        if reusable:  # else its coins are too fresh to spend yet: the next spend tries again
            found.append(Voided(row.id, row.txid, max(reusable, key=lambda c: c.value)))
    return found
