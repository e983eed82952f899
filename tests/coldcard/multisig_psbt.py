"""2-of-3 multisig PSBTs by hand, in each script format a Coldcard wallet file can name,
for the simulator's seed and two test cosigners; the wallet files that enrol them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from embit import ec
from embit.psbt import DerivationPath
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from backends.coldcard.emulator.keys import DeviceKeys, path_to_ints, xfp_to_str
from backends.wallet.psbt import Psbt

from .emulators import COSIGNER_WORDS
from .single_sig import hash160

COSIGNERS = [DeviceKeys(words, "XTN") for words in COSIGNER_WORDS]
#: format name in the wallet file -> the account every cosigner derives it from
ACCOUNTS = {"p2wsh": "m/48h/1h/0h/2h", "p2sh-p2wsh": "m/48h/1h/0h/1h", "p2sh": "m/45h"}


def wallet_file(fmt: str) -> str:
    account = ACCOUNTS[fmt]
    lines = [f"Name: ms-{fmt}", "Policy: 2 of 3", f"Derivation: {account}", f"Format: {fmt.upper()}", ""]
    lines += [f"{xfp_to_str(k.xfp)}: {k.xpub(account)}" for k in COSIGNERS]
    return "\n".join(lines) + "\n"


@dataclass
class Address:
    """One address of a wallet: its scripts and the keys' derivations."""

    fmt: str
    branch: int
    index: int

    @property
    def paths(self) -> list[str]:
        return [f"{ACCOUNTS[self.fmt]}/{self.branch}/{self.index}"] * len(COSIGNERS)

    @property
    def pubkeys(self) -> list[bytes]:
        return [k.pubkey(p) for k, p in zip(COSIGNERS, self.paths)]

    @property
    def multisig(self) -> bytes:
        keys = sorted(self.pubkeys)
        return b"\x52" + b"".join(b"\x21" + k for k in keys) + b"\x53\xae"

    @property
    def redeem_script(self) -> bytes | None:
        if self.fmt == "p2sh":
            return self.multisig
        if self.fmt == "p2sh-p2wsh":
            return b"\x00\x20" + hashlib.sha256(self.multisig).digest()
        return None

    @property
    def witness_script(self) -> bytes | None:
        return None if self.fmt == "p2sh" else self.multisig

    @property
    def script_pubkey(self) -> bytes:
        if self.fmt == "p2wsh":
            return b"\x00\x20" + hashlib.sha256(self.multisig).digest()
        return b"\xa9\x14" + hash160(self.redeem_script) + b"\x87"

    def describe(self, scope, *, redeem: bytes | None = None, witness: bytes | None = None) -> None:
        """Put the derivations and scripts into a PSBT input or output (scripts overridable)."""
        for keys, pub, path in zip(COSIGNERS, self.pubkeys, self.paths):
            scope.bip32_derivations[ec.PublicKey.parse(pub)] = DerivationPath(keys.fingerprint, path_to_ints(path))
        redeem = self.redeem_script if redeem is None else redeem
        witness = self.witness_script if witness is None else witness
        if redeem:
            scope.redeem_script = Script(redeem)
        if witness:
            scope.witness_script = Script(witness)


def build(fmt: str, outputs: list[tuple[bytes, int]], *, value: int = 1_000_000) -> Psbt:
    """A PSBT spending one coin of the wallet at receive address 0 to ``outputs``."""
    coin = Address(fmt, 0, 0)
    prev = Transaction(version=2, vin=[TransactionInput(bytes(range(32)), 3)],
                       vout=[TransactionOutput(value, Script(coin.script_pubkey))])
    tx = Transaction(version=2, vin=[TransactionInput(prev.txid(), 0, sequence=0xFFFFFFFD)],
                     vout=[TransactionOutput(v, Script(s)) for s, v in outputs])
    psbt = Psbt(tx)
    if fmt == "p2sh":
        psbt.inputs[0].non_witness_utxo = prev
    else:
        psbt.inputs[0].witness_utxo = prev.vout[0]
    coin.describe(psbt.inputs[0])
    return psbt


def sighash_all(psbt: Psbt, fmt: str, value: int = 1_000_000) -> bytes:
    """The digest a SIGHASH_ALL signature of input 0 commits to (embit's implementation)."""
    coin = Address(fmt, 0, 0)
    if fmt == "p2sh":
        return psbt.tx.sighash_legacy(0, Script(coin.multisig))
    return psbt.tx.sighash_segwit(0, Script(coin.multisig), value)
