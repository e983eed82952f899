"""Coins from the chain become selectable only when a spend of them would be valid."""

from __future__ import annotations

from backends.chain import EmbeddedChain
from backends.wallet import Utxo, mint_policy, select_coins, spendable_coins
from backends.wallet.fees import WPKH

# BIP-84 test mnemonic ("abandon ... about"), account 0 on test networks
DESCRIPTOR = ("wpkh([73c5da0a/84h/1h/0h]tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL"
              "2XVWbVm39yBA4LAxysQAm397zwQSQoQgewGiYZqrA9DsP4zbQ1M/<0;1>/*)")
FIRST = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
BURN = "bcrt1qs758ursh4q9z627kt3pp5yysm78ddny6txaqgw"


def test_a_coinbase_becomes_spendable_at_100_confirmations(tmp_path):
    # the next block (tip + 1) may spend a coinbase mined 100 blocks below it
    chain = EmbeddedChain(tmp_path / "chain")
    try:
        chain.watch(DESCRIPTOR)
        chain.mine(1, FIRST)
        chain.mine(98, BURN)
        (coin,) = chain.utxos()
        assert (coin.coinbase, coin.confirmations) == (True, 99)
        assert spendable_coins([coin]) == []
        chain.mine(1, BURN)
        (usable,) = spendable_coins(chain.utxos())
        assert isinstance(usable, Utxo)
        assert (usable.value, usable.confirmations) == (50 * 100_000_000, 100)
    finally:
        chain.close()


def test_selection_takes_chain_coins_with_their_derivation(tmp_path):
    chain = EmbeddedChain(tmp_path / "chain")
    try:
        chain.watch(DESCRIPTOR)
        chain.mine(1, FIRST)
        chain.mine(110, BURN)
        (coin,) = spendable_coins(chain.utxos(), min_confirmations=6)
        assert (coin.branch, coin.index) == (0, 0)
        assert spendable_coins(chain.utxos(), min_confirmations=112) == []
        selection = select_coins([coin], 10_000_000, 2.0, mint_policy(WPKH))
        assert list(selection.coins) == [coin]
    finally:
        chain.close()
