"""A PSBT paying from a group's taproot coins, for a signing request.

The group key has no xpub (it is one x-only key, spent by key path), so the wallet layer's
descriptor-driven Creator does not apply; this builds the same thing for one key: coins
chosen by the wallet's coin selection (largest first), every input with its witness UTXO
(its amount is what the review shows and the BIP-341 sighash commits to), change back to
the group's own address. The signing ceremony's review then decodes it like any PSBT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from backends.wallet import TR_KEYPATH, Payment, parse_address, quorum_policy, select_coins, spendable_coins
from backends.wallet.psbt import Psbt, serialize_psbt
from backends.wallet.psbt_create import SEQUENCE_RBF

from .errors import CeremonyError

if TYPE_CHECKING:
    from .node import GroupKey


def group_coins(group: GroupKey, chain_coins: Sequence) -> list:
    """The chain's spendable coins on the group's address."""
    return spendable_coins([c for c in chain_coins if c.script_pubkey == group.output_script])


def spend_psbt(group: GroupKey, chain_coins: Sequence, pay_to: str, amount_sat: int, fee_rate: float) -> str:
    """A base64 PSBT paying ``amount_sat`` to ``pay_to`` from the group's coins."""
    from embit.script import Script
    from embit.transaction import Transaction, TransactionInput, TransactionOutput

    payment = Payment(parse_address(pay_to.strip(), group.network), amount_sat)
    coins = group_coins(group, chain_coins)
    if not coins:
        raise CeremonyError(f"the group {group.name!r} has no spendable coin at {group.address}",
                            hint="fund the address and wait for a confirmation")
    selection = select_coins(coins, amount_sat, fee_rate, quorum_policy(TR_KEYPATH),
                             payment_scripts=[payment.script_pubkey])
    outputs = [TransactionOutput(payment.amount, Script(payment.script_pubkey))]
    if selection.has_change:
        outputs.append(TransactionOutput(selection.change, Script(group.output_script)))
    tx = Transaction(version=2, vin=[TransactionInput(bytes.fromhex(c.txid), c.vout, sequence=SEQUENCE_RBF)
                                     for c in selection.coins], vout=outputs)
    psbt = Psbt(tx)
    for inp, coin in zip(psbt.inputs, selection.coins, strict=True):
        inp.witness_utxo = TransactionOutput(coin.value, Script(group.output_script))
    return serialize_psbt(psbt)


def request_spend(node, dkg_cid: str, chain, *, pay_to: str, amount_sat: int, fee_rate: float, reason: str) -> str:
    """Ask the group of ``dkg_cid`` to pay ``amount_sat`` to ``pay_to`` from its coins on
    ``chain`` (watched first, so the chain reports them); returns the signing ceremony id."""
    from . import signing

    group = node.group(dkg_cid)
    if group.descriptor not in chain.watched():
        chain.watch(group.descriptor, label=f"ceremony group {group.name}")
    psbt = spend_psbt(group, chain.utxos(), pay_to, amount_sat, fee_rate)
    return signing.request(node, dkg_cid, reason=reason, psbt=psbt)
