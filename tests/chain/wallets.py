"""Deterministic test wallets (wpkh, 2-of-3 wsh sortedmulti, taproot key path, and both
nested in p2sh) that sign spends directly with embit: BIP-143 for segwit v0, BIP-341 for the
taproot key path."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from embit import bip32, ec
from embit.descriptor import Descriptor
from embit.networks import NETWORKS
from embit.script import Script, Witness, p2pkh
from embit.transaction import Transaction, TransactionInput, TransactionOutput

TEST = NETWORKS["test"]
REGTEST = NETWORKS["regtest"]
ROOTS = [bip32.HDKey.from_seed(hashlib.sha256(b"custody-test-seed-%d" % i).digest(), version=TEST["xprv"]) for i in (1, 2, 3)]


def _origin(root: bip32.HDKey, path: str) -> tuple[str, bip32.HDKey]:
    account = root.derive(path)
    shown = path.replace("m/", "").replace("'", "h")
    return f"[{root.my_fingerprint.hex()}/{shown}]{account.to_public().to_base58(TEST['xpub'])}/<0;1>/*", account


@dataclass
class TestWallet:
    name: str
    descriptor: str
    accounts: list[bip32.HDKey]
    kind: str  # wpkh | wsh-multi | tr, with an "sh-" prefix when nested in p2sh

    def script(self, index: int = 0, branch: int = 0) -> bytes:
        return Descriptor.from_string(self.descriptor).derive(index, branch_index=branch).script_pubkey().data

    def address(self, index: int = 0, branch: int = 0) -> str:
        return Descriptor.from_string(self.descriptor).derive(index, branch_index=branch).address(REGTEST)

    def keys(self, branch: int, index: int) -> list[ec.PrivateKey]:
        return [a.derive([branch, index]).key for a in self.accounts]


def wpkh_wallet() -> TestWallet:
    text, account = _origin(ROOTS[0], "m/84h/1h/0h")
    return TestWallet("wpkh", f"wpkh({text})", [account], "wpkh")


def multisig_wallet() -> TestWallet:
    parts = [_origin(root, "m/48h/1h/0h/2h") for root in ROOTS]
    return TestWallet("multisig", "wsh(sortedmulti(2,%s))" % ",".join(p[0] for p in parts), [p[1] for p in parts], "wsh-multi")


def sh_wpkh_wallet() -> TestWallet:
    text, account = _origin(ROOTS[1], "m/49h/1h/0h")
    return TestWallet("sh-wpkh", f"sh(wpkh({text}))", [account], "sh-wpkh")


def sh_multisig_wallet() -> TestWallet:
    parts = [_origin(root, "m/48h/1h/0h/1h") for root in ROOTS]
    return TestWallet("sh-multisig", "sh(wsh(sortedmulti(2,%s)))" % ",".join(p[0] for p in parts), [p[1] for p in parts],
                      "sh-wsh-multi")


def taproot_wallet() -> TestWallet:
    text, account = _origin(ROOTS[0], "m/86h/1h/0h")
    return TestWallet("taproot", f"tr({text})", [account], "tr")


@dataclass
class Coin:
    txid: str
    vout: int
    amount_sat: int
    script_pubkey: bytes
    wallet: TestWallet
    branch: int
    index: int


def coin_of(utxo, wallet: TestWallet) -> Coin:
    return Coin(utxo.txid, utxo.vout, utxo.amount_sat, utxo.script_pubkey, wallet, utxo.branch or 0, utxo.index or 0)


def spend(coins: list[Coin], outputs: list[tuple[bytes, int]], *, locktime: int = 0, sequence: int = 0xFFFFFFFD,
          signers: tuple[int, ...] = (0, 1)) -> bytes:
    """A signed transaction spending ``coins`` to ``outputs`` [(scriptPubKey, amount)]."""
    tx = Transaction(
        version=2,
        vin=[TransactionInput(bytes.fromhex(c.txid), c.vout, sequence=sequence) for c in coins],
        vout=[TransactionOutput(amount, Script(spk)) for spk, amount in outputs],
        locktime=locktime,
    )
    spks = [Script(c.script_pubkey) for c in coins]
    values = [c.amount_sat for c in coins]
    for i, coin in enumerate(coins):
        keys = coin.wallet.keys(coin.branch, coin.index)
        kind = coin.wallet.kind.removeprefix("sh-")
        derived = Descriptor.from_string(coin.wallet.descriptor).derive(coin.index, branch_index=coin.branch)
        if coin.wallet.kind.startswith("sh-"):  # the nested segwit program is pushed as the redeem script
            program = derived.redeem_script().data
            tx.vin[i].script_sig = Script(bytes([len(program)]) + program)
        if kind == "wpkh":
            key = keys[0]
            digest = tx.sighash_segwit(i, p2pkh(key.get_public_key()), coin.amount_sat)
            tx.vin[i].witness = Witness([key.sign(digest).serialize() + b"\x01", key.get_public_key().sec()])
        elif kind == "wsh-multi":
            witness_script = derived.witness_script()
            digest = tx.sighash_segwit(i, witness_script, coin.amount_sat)
            chosen = sorted((keys[s] for s in signers), key=lambda k: k.get_public_key().sec())
            sigs = [k.sign(digest).serialize() + b"\x01" for k in chosen]
            tx.vin[i].witness = Witness([b"", *sigs, witness_script.data])
        elif kind == "tr":
            digest = tx.sighash_taproot(i, spks, values)
            tx.vin[i].witness = Witness([keys[0].taproot_tweak(b"").schnorr_sign(digest).serialize()])
        else:
            raise ValueError(coin.wallet.kind)
    return tx.serialize()


def flip_signature_byte(raw: bytes, wallet_kind: str = "wpkh") -> bytes:
    """The same transaction with one byte of its first signature flipped."""
    tx = Transaction.parse(raw)
    items = list(tx.vin[0].witness.items)
    sig_index = 1 if wallet_kind.endswith("wsh-multi") else 0
    sig = bytearray(items[sig_index])
    sig[10] ^= 0x01
    items[sig_index] = bytes(sig)
    tx.vin[0].witness = Witness(items)
    return tx.serialize()
