"""Setting up a chain with mature coins in the three test wallets."""

from __future__ import annotations

from dataclasses import dataclass

from .wallets import Coin, TestWallet, coin_of, multisig_wallet, taproot_wallet, wpkh_wallet

# a key nobody in the tests spends from: mined blocks that only add depth go here
BURN_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
RANGE_END = 20


@dataclass
class Funded:
    wpkh: TestWallet
    multisig: TestWallet
    taproot: TestWallet

    def coins(self, chain, wallet: TestWallet, *, mature_only: bool = True) -> list[Coin]:
        utxos = chain.utxos(wallet.descriptor)
        return [coin_of(u, wallet) for u in utxos if not (mature_only and u.coinbase and u.confirmations < 100)]


def watch_all(chain) -> Funded:
    funded = Funded(wpkh_wallet(), multisig_wallet(), taproot_wallet())
    for wallet in (funded.wpkh, funded.multisig, funded.taproot):
        chain.watch(wallet.descriptor, range_end=RANGE_END, label=wallet.name)
    return funded


def fund(chain) -> Funded:
    """One mature 50 BTC coinbase in each wallet (receive/0)."""
    funded = watch_all(chain)
    for wallet in (funded.wpkh, funded.multisig, funded.taproot):
        chain.mine(1, wallet.address(0))
    chain.mine(100, BURN_ADDRESS)
    return funded
