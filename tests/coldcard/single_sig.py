"""Single-signer PSBTs for the simulator's seed, built by hand, and Bitcoin Core's verdict on
the signatures a device puts in them.

A test describes coins it spends (``Spend``: script kind, our path, value, sighash type)
and outputs (``Pay``: a script, maybe our derivation to claim it as change). ``build``
makes a funding transaction paying those coins and a version-0 PSBT spending them, with
the UTXO data a Coldcard needs (the whole previous transaction for legacy scripts).
``consensus_failures`` finalises the inputs the device signed and runs libbitcoinkernel's
script check on each: the appended sighash byte and the digest must both be right.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from embit import ec
from embit.psbt import DerivationPath
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from backends.coldcard.emulator.keys import SIMULATOR_WORDS, DeviceKeys, path_to_ints
from backends.wallet.psbt import Psbt

KEYS = DeviceKeys(SIMULATOR_WORDS, "XTN")
OTHER_KEYS = DeviceKeys("abandon " * 23 + "art", "XTN")
#: a testnet P2WPKH address of nobody in these tests (BIP-173's example program)
PAY_SCRIPT = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")


def hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def script_for(kind: str, pubkey: bytes) -> bytes:
    h = hash160(pubkey)
    if kind == "p2wpkh":
        return b"\x00\x14" + h
    if kind == "p2pkh":
        return b"\x76\xa9\x14" + h + b"\x88\xac"
    if kind == "p2sh-p2wpkh":
        return b"\xa9\x14" + hash160(b"\x00\x14" + h) + b"\x87"
    if kind == "p2pk":
        return bytes([len(pubkey)]) + pubkey + b"\xac"
    raise ValueError(kind)


def our_script(kind: str, path: str, keys: DeviceKeys = KEYS) -> bytes:
    return script_for(kind, keys.pubkey(path))


@dataclass
class Spend:
    """A coin of ours (or, with ``keys``/``derive`` changed, someone else's) to spend."""

    kind: str = "p2wpkh"
    path: str = "m/84h/1h/0h/0/0"
    value: int = 1_000_000
    sighash: int | None = None
    sequence: int = 0xFFFFFFFD
    keys: DeviceKeys = KEYS
    derive: bool = True  # put the key's derivation in the PSBT
    with_utxo: bool = True
    xfp: int | None = None  # the fingerprint written in the derivation (default: the key's)
    stated_path: str | None = None  # a derivation that lies about where the key is
    partial_sig: bool = False  # a signature is already there

    @property
    def pubkey(self) -> bytes:
        return self.keys.pubkey(self.path)

    @property
    def script(self) -> bytes:
        return script_for(self.kind, self.pubkey)


@dataclass
class Pay:
    """An output; with ``path`` the PSBT claims it as ours (``keys``, fingerprint ``xfp``)."""

    script: bytes = PAY_SCRIPT
    value: int = 500_000
    path: str | None = None
    kind: str | None = None  # p2sh-p2wpkh change gets its redeem script
    keys: DeviceKeys = KEYS
    xfp: int | None = None
    stated_path: str | None = None  # a derivation that lies about where the key is
    unknown: dict = field(default_factory=dict)


def change(kind: str = "p2wpkh", path: str = "m/84h/1h/0h/1/0", value: int = 400_000, **kw) -> Pay:
    """An output to our own key at ``path``, with the derivation that proves it."""
    return Pay(our_script(kind, path, kw.get("keys", KEYS)), value, path, kind, **kw)


def op_return(data: bytes, value: int = 0) -> Pay:
    push = bytes([len(data)]) if len(data) < 0x4C else b"\x4c" + bytes([len(data)])
    return Pay(b"\x6a" + push + data, value)


def _derivation(keys: DeviceKeys, path: str, xfp: int | None) -> DerivationPath:
    fingerprint = keys.fingerprint if xfp is None else xfp.to_bytes(4, "little")
    return DerivationPath(fingerprint, path_to_ints(path))


def funding(spends: list[Spend]) -> Transaction:
    vin = [TransactionInput(bytes(range(32)), 7)]
    return Transaction(version=2, vin=vin, vout=[TransactionOutput(s.value, Script(s.script)) for s in spends])


def build(spends: list[Spend], pays: list[Pay], *, locktime: int = 0, version: int = 2) -> bytes:
    prev = funding(spends)
    txid = prev.txid()
    tx = Transaction(version=version, locktime=locktime,
                     vin=[TransactionInput(txid, n, sequence=s.sequence) for n, s in enumerate(spends)],
                     vout=[TransactionOutput(p.value, Script(p.script)) for p in pays])
    psbt = Psbt(tx)
    for n, (spend, inp) in enumerate(zip(spends, psbt.inputs)):
        if spend.with_utxo:
            if spend.kind in ("p2pkh", "p2pk"):
                inp.non_witness_utxo = prev
            else:
                inp.witness_utxo = prev.vout[n]
        pub = ec.PublicKey.parse(spend.pubkey)
        if spend.derive:
            inp.bip32_derivations[pub] = _derivation(spend.keys, spend.stated_path or spend.path, spend.xfp)
        if spend.kind == "p2sh-p2wpkh":
            inp.redeem_script = Script(b"\x00\x14" + hash160(spend.pubkey))
        if spend.sighash is not None:
            inp.sighash_type = spend.sighash
        if spend.partial_sig:
            inp.partial_sigs[pub] = bytes.fromhex("3006020101020101") + b"\x01"
    for pay, out in zip(pays, psbt.outputs):
        out.unknown.update(pay.unknown)
        if pay.path is None:
            continue
        pubkey = pay.keys.pubkey(pay.path)
        stated = pay.stated_path or pay.path
        out.bip32_derivations[ec.PublicKey.parse(pubkey)] = _derivation(pay.keys, stated, pay.xfp)
        if pay.kind == "p2sh-p2wpkh":
            out.redeem_script = Script(b"\x00\x14" + hash160(pubkey))
    return psbt.serialize()


def _push(data: bytes) -> bytes:
    assert len(data) < 0x4C
    return bytes([len(data)]) + data


def consensus_failures(signed: Psbt, spends: list[Spend]) -> list[int]:
    """Inputs whose device signature Bitcoin Core rejects, after finalising each signed one."""
    import pbk
    from pbk.script import PrecomputedTransactionData

    tx = signed.tx
    signed_inputs = []
    for n, (spend, inp) in enumerate(zip(spends, signed.inputs)):
        sig = next((s for pub, s in inp.partial_sigs.items() if pub.sec() == spend.pubkey), None)
        if sig is None or spend.partial_sig:
            continue
        signed_inputs.append(n)
        vin, pub = tx.vin[n], spend.pubkey
        if spend.kind == "p2wpkh":
            vin.witness = Witness([sig, pub])
        elif spend.kind == "p2sh-p2wpkh":
            vin.script_sig = Script(_push(b"\x00\x14" + hash160(pub)))
            vin.witness = Witness([sig, pub])
        elif spend.kind == "p2pkh":
            vin.script_sig = Script(_push(sig) + _push(pub))
        else:
            vin.script_sig = Script(_push(sig))
    raw = tx.serialize()
    spent = [pbk.TransactionOutput(pbk.ScriptPubkey(s.script), s.value) for s in spends]
    tx_obj = pbk.Transaction(raw)
    precomputed = PrecomputedTransactionData(tx_obj, spent)
    failures = []
    for n in signed_inputs:
        try:
            ok = pbk.ScriptPubkey(spends[n].script).verify(
                spends[n].value, tx_obj, precomputed, n, pbk.ScriptVerificationFlags.ALL)
        except pbk.ScriptVerifyException:
            ok = False
        if not ok:
            failures.append(n)
    return failures
