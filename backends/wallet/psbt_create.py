"""The Creator and Updater roles of BIP-174 for this wallet's descriptors.

Every input carries PSBT_IN_WITNESS_UTXO (and PSBT_IN_NON_WITNESS_UTXO when the funding
transaction is known), its redeem script when nested in P2SH, its witness script and the
BIP-32 origin of every key; the change
output carries the same origins, which is how a Coldcard recognises it as change rather than
a payment. The multisig's account xpubs go in PSBT_GLOBAL_XPUB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from embit import ec
from embit.psbt import DerivationPath
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from .addresses import parse_address
from .coinselect import Utxo
from .descriptors import CHANGE, Descriptor, DerivedKey
from .errors import PsbtBuildError
from .fees import dust_threshold
from .psbt import Psbt, PsbtInput

MAX_MONEY = 21_000_000 * 100_000_000
SEQUENCE_RBF = 0xFFFFFFFD  # opts in to replace-by-fee (BIP-125), allows nLockTime


@dataclass(frozen=True)
class Payment:
    """An output paying ``amount`` sat to ``script_pubkey``."""

    script_pubkey: bytes
    amount: int

    @classmethod
    def to_address(cls, address: str, amount: int, descriptor: Descriptor) -> Payment:
        return cls(parse_address(address, descriptor.network), amount)


def _derivation(key: DerivedKey) -> DerivationPath:
    return DerivationPath(key.origin.fingerprint, list(key.origin.path))


def _locate(descriptor: Descriptor, coin: Utxo, n: int) -> tuple[int, int]:
    if coin.branch is not None and coin.index is not None:
        where = (coin.branch, coin.index)
    else:
        found = descriptor.find(coin.script_pubkey)
        if found is None:
            raise PsbtBuildError(f"input {n} ({coin.outpoint}) is not an address of this wallet")
        where = found
    if descriptor.script_pubkey(*where) != coin.script_pubkey:
        raise PsbtBuildError(
            f"input {n} ({coin.outpoint}): its script is not the wallet's address at "
            f"/{where[0]}/{where[1]}"
        )
    return where


def _fill_keys(scope, descriptor: Descriptor, branch: int, index: int) -> None:
    keys = descriptor.derived_keys(branch, index)
    if descriptor.form == "tr":
        (key,) = keys
        internal = ec.PublicKey.parse(key.pubkey)
        scope.taproot_internal_key = internal
        scope.taproot_bip32_derivations[internal] = ([], _derivation(key))
        return
    # BIP-174: a nested input or change output carries its redeem script (the witness
    # program) beside the witness script, so signer and finalizer can rebuild both layers
    redeem = descriptor.redeem_script(branch, index)
    scope.redeem_script = Script(redeem) if redeem is not None else None
    scope.witness_script = (
        Script(descriptor.witness_script(branch, index)) if descriptor.is_multisig else None
    )
    for key in keys:
        scope.bip32_derivations[ec.PublicKey.parse(key.pubkey)] = _derivation(key)


def _fill_input(inp: PsbtInput, descriptor: Descriptor, coin: Utxo, n: int) -> None:
    branch, index = _locate(descriptor, coin, n)
    inp.witness_utxo = TransactionOutput(coin.value, Script(coin.script_pubkey))
    if coin.prev_tx is not None:
        try:
            prev = Transaction.parse(coin.prev_tx)
        except Exception:
            raise PsbtBuildError(
                f"input {n} ({coin.outpoint}): its funding transaction does not parse"
            ) from None
        if prev.txid().hex() != coin.txid:
            raise PsbtBuildError(
                f"input {n}: the funding transaction given is {prev.txid().hex()}, not {coin.txid}"
            )
        out = prev.vout[coin.vout] if coin.vout < len(prev.vout) else None
        if out is None or out.value != coin.value or out.script_pubkey.data != coin.script_pubkey:
            raise PsbtBuildError(
                f"input {n} ({coin.outpoint}): the funding transaction disagrees on amount or script"
            )
        inp.non_witness_utxo = prev
    _fill_keys(inp, descriptor, branch, index)


def create_psbt(
    descriptor: Descriptor,
    coins: Sequence[Utxo],
    payments: Sequence[Payment],
    *,
    change_amount: int = 0,
    change_index: int | None = None,
    locktime: int = 0,
    sequence: int = SEQUENCE_RBF,
    tx_version: int = 2,
) -> Psbt:
    """An unsigned version-0 PSBT spending ``coins`` of ``descriptor`` to ``payments``.

    With ``change_amount`` > 0, a change output to ``descriptor``'s change branch at
    ``change_index`` is appended after the payments.
    """
    if not coins:
        raise PsbtBuildError("a transaction needs at least one input")
    if not payments and not change_amount:
        raise PsbtBuildError("a transaction needs at least one output")
    outpoints = [c.outpoint for c in coins]
    if len(set(outpoints)) != len(outpoints):
        raise PsbtBuildError("the same coin is spent twice")
    outputs = []
    for n, pay in enumerate(payments):
        _check_amount(f"payment {n}", pay.script_pubkey, pay.amount)
        outputs.append(TransactionOutput(pay.amount, Script(pay.script_pubkey)))
    if change_amount:
        if change_index is None:
            raise PsbtBuildError("a change amount needs a change_index on the wallet's change branch")
        change_spk = descriptor.script_pubkey(CHANGE, change_index)
        _check_amount("change", change_spk, change_amount)
        outputs.append(TransactionOutput(change_amount, Script(change_spk)))
    total_in = sum(c.value for c in coins)
    total_out = sum(o.value for o in outputs)
    if total_out > total_in:
        raise PsbtBuildError(f"outputs total {total_out} sat but the inputs hold only {total_in} sat")
    vin = [TransactionInput(bytes.fromhex(c.txid), c.vout, sequence=sequence) for c in coins]
    psbt = Psbt(Transaction(version=tx_version, vin=vin, vout=outputs, locktime=locktime))
    for n, (inp, coin) in enumerate(zip(psbt.inputs, coins)):
        _fill_input(inp, descriptor, coin, n)
    if change_amount:
        _fill_keys(psbt.outputs[-1], descriptor, CHANGE, change_index)
    if descriptor.is_multisig:
        for key in descriptor.keys:
            psbt.xpubs[key.xpub] = DerivationPath(key.origin.fingerprint, list(key.origin.path))
    return psbt


def _check_amount(what: str, script_pubkey: bytes, amount: int) -> None:
    if not 0 < amount <= MAX_MONEY:
        raise PsbtBuildError(f"{what}: amount {amount} sat is out of range")
    dust = dust_threshold(script_pubkey)
    if amount < dust:
        raise PsbtBuildError(f"{what}: {amount} sat is below the dust limit of {dust} sat for its script")


__all__ = ["Payment", "create_psbt"]
