"""Mint fixtures: a fast keystore, a shared embedded chain with deposits into the reserve,
and a fresh mint (its own data directory and ledger) per test."""

from __future__ import annotations

import pytest

from backends.keystore import KdfParams, Keystore
from backends.mint.blindrsa import SecretKey
from backends.mint.service import Mint, MintSettings
from tests.chain.funding import BURN_ADDRESS, fund
from tests.chain.wallets import spend
from tests.mint.rsa_keys import KeyPool
from tests.mint.wallet_side import hand_out

PASSPHRASE = "mint test passphrase"
DENOMINATIONS = (1_000, 10_000, 100_000)
DEPOSIT_SAT = 150_000
DEPOSITS = 4
DEPTH = 3
FEE = 2_000


class ReserveChain:
    """An embedded chain, the reserve wallet watched, and DEPOSITS outputs paying it at DEPTH."""

    def __init__(self, chain, funded, txid: str) -> None:
        self.chain, self.funded, self.deposit_txid = chain, funded, txid

    @property
    def reserve(self):
        return self.funded.wpkh

    def send_to_reserve(self, amounts: list[int]) -> str:
        """Broadcast a payment from the depositors' (taproot) wallet to the reserve."""
        coin = max(self.funded.coins(self.chain, self.funded.taproot), key=lambda c: c.amount_sat)
        change = coin.amount_sat - sum(amounts) - FEE
        outputs = [(self.reserve.script(10 + i), a) for i, a in enumerate(amounts)]
        raw = spend([coin], outputs + [(self.funded.taproot.script(coin.index + 1), change)])
        return self.chain.broadcast(raw)


@pytest.fixture(scope="session")
def reserve_chain(tmp_path_factory):
    from backends.chain import EmbeddedChain

    chain = EmbeddedChain(tmp_path_factory.mktemp("mint-chain") / "chain")
    funded = fund(chain)
    reserve_chain = ReserveChain(chain, funded, "")
    reserve_chain.deposit_txid = reserve_chain.send_to_reserve([DEPOSIT_SAT] * DEPOSITS)
    chain.mine(DEPTH, BURN_ADDRESS)
    yield reserve_chain
    chain.close()


@pytest.fixture
def key_pool(monkeypatch):
    monkeypatch.setattr(SecretKey, "generate_der", staticmethod(KeyPool()))


@pytest.fixture
def keystore(tmp_path):
    store = Keystore(tmp_path / "keystore", KdfParams.fast())
    store.initialize(PASSPHRASE)
    store.unlock(PASSPHRASE, ttl_seconds=600)
    return store


@pytest.fixture
def mint(tmp_path, keystore, key_pool, reserve_chain):
    opened = Mint(
        tmp_path / "data", keystore, chain=reserve_chain.chain,
        settings=MintSettings(reserve_descriptor=reserve_chain.reserve.descriptor, finalization_depth=DEPTH),
    )
    opened.create_keyset(DENOMINATIONS)
    hand_out(opened, 10 + DEPOSITS - 1)  # the addresses the shared deposits pay
    yield opened
    opened.close()


@pytest.fixture
def rig(tmp_path, key_pool):
    """A mint whose reserve key is in its keystore, on its own chain (see hot_reserve)."""
    from tests.mint.hot_reserve import Rig

    opened = Rig(tmp_path)
    yield opened
    opened.close()
