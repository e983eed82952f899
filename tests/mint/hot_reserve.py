"""A reserve whose key is in the keystore (the hot-key signer), on its own embedded chain.

Two 50 BTC coinbases pay the reserve and mature; the first is also the deposit that backs
the notes the tests redeem.
"""

from __future__ import annotations

from pathlib import Path

from backends.keystore import KdfParams, Keystore
from backends.mint.service import Mint, MintSettings
from backends.wallet import parse_descriptor
from tests.chain.funding import BURN_ADDRESS
from tests.mint.wallet_side import Pending

PASSPHRASE = "mint reserve passphrase"
RESERVE_LABEL = "reserve"
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
PAYOUT_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"  # BURN_ADDRESS: nobody here spends it
DEPTH = 2
FEE_RATE = 2.0


def open_keystore(data_dir: Path, *, create: bool = False) -> Keystore:
    keystore = Keystore(data_dir / "keystore", KdfParams.fast())
    if create:
        keystore.initialize(PASSPHRASE)
    keystore.unlock(PASSPHRASE, ttl_seconds=600)
    if create:
        keystore.import_mnemonic(RESERVE_LABEL, MNEMONIC)
    return keystore


def reserve_descriptor(keystore: Keystore) -> str:
    return f"wpkh({keystore.descriptor_key(RESERVE_LABEL, 'm/84h/1h/0h', 'regtest')}/<0;1>/*)"


def open_mint(data_dir: Path, keystore: Keystore, chain, descriptor: str) -> Mint:
    settings = MintSettings(reserve_descriptor=descriptor, finalization_depth=DEPTH,
                            reserve_signer_label=RESERVE_LABEL, fee_rate=FEE_RATE)
    return Mint(data_dir / "mint", keystore, chain=chain, settings=settings)


def fund_reserve(chain, descriptor: str, coins: int = 2) -> list[str]:
    """``coins`` mature coinbases paying the reserve; returns their txids."""
    chain.watch(descriptor, range_end=50, label="reserve")
    address = parse_descriptor(descriptor, "regtest").receive_address(0)
    chain.mine(coins, address)
    chain.mine(100, BURN_ADDRESS)
    return sorted({u.txid for u in chain.utxos(descriptor)})


class Rig:
    """``chain``: the embedded chain in ``data_dir`` by default, or a given one (a Bitcoin Core
    wallet, which the caller closes)."""

    def __init__(self, data_dir: Path, chain=None) -> None:
        from backends.chain import EmbeddedChain

        self.data_dir = data_dir
        self.keystore = open_keystore(data_dir, create=True)
        self.descriptor = reserve_descriptor(self.keystore)
        self._owns_chain = chain is None
        self.chain = EmbeddedChain(data_dir / "chain") if chain is None else chain
        self.chain.watch(self.descriptor, range_end=50, label="reserve")
        self.mint = open_mint(data_dir, self.keystore, self.chain, self.descriptor)
        self.mint.create_keyset([1_000, 10_000, 100_000])
        self.claim = self.mint.deposit_address()  # index 0, which the coinbases pay
        self.coinbases = fund_reserve(self.chain, self.descriptor)
        deposit = self.mint.register_deposit(self.coinbases[0], 0)
        self.mint.refresh()
        self.deposit = self.mint.deposit(deposit.reference)

    def notes(self, amounts):
        pending = Pending(self.mint.keyset(), amounts)
        issued = self.mint.issue_blind(self.deposit.reference, pending.requests, claim_secret=self.claim.claim_secret)
        return pending.unblind(issued.blind_sigs)

    def reserve_outpoints(self) -> set[str]:
        return {u.outpoint for u in self.chain.utxos(self.descriptor)}

    def close(self) -> None:
        self.mint.close()
        if self._owns_chain:
            self.chain.close()
