"""The global cap's figure on every chain backend (embedded, served over a socket, and a real
Bitcoin Core when one is available, tests/bitcoind.py): a 2-of-3 wallet signed in-process, so
no device is needed to put its spends on the chain."""

from __future__ import annotations

import pytest

from backends.chain.addresses import payout_script
from backends.quorum.global_cap import GlobalCap
from tests.chain.conftest import chain  # noqa: F401  (the backend-parametrised fixture)
from tests.chain.wallets import coin_of, multisig_wallet, spend

BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


def capped(chain, path, descriptor):  # noqa: F811
    return GlobalCap(path, chain=lambda: chain, descriptor=descriptor, limit_sat=10_000_000, period_minutes=60)


@pytest.fixture
def funded(chain):  # noqa: F811
    wallet = multisig_wallet()
    chain.watch(wallet.descriptor, range_end=20)
    chain.mine(1, wallet.address(0))
    chain.mine(100, BURN)
    (coin,) = [coin_of(u, wallet) for u in chain.utxos(wallet.descriptor)]
    return wallet, coin


def test_a_payment_counts_from_the_mempool_on_and_once_mined_change_is_not_counted_and_every_reader_agrees(
        chain, funded, tmp_path):  # noqa: F811
    wallet, coin = funded
    first, second = capped(chain, tmp_path / "one.sqlite3", wallet.descriptor), \
        capped(chain, tmp_path / "two.sqlite3", wallet.descriptor)
    try:
        assert first.usage().used_sat == 0  # a coin received is no outflow
        fee = 1_000
        chain.broadcast(spend([coin], [(payout_script(BURN, "regtest"), 250_000),
                                       (wallet.script(0, branch=1), coin.amount_sat - 250_000 - fee)]))
        assert first.usage().used_sat == second.usage().used_sat == 250_000 + fee
        chain.mine(1, BURN)
        assert [first.usage().used_sat, second.usage().used_sat] == [250_000 + fee] * 2
    finally:
        first.close()
        second.close()


def test_on_bitcoind_a_replaced_payment_stops_counting_and_its_replacement_counts(core_chain, tmp_path):
    chain = core_chain
    wallet = multisig_wallet()
    chain.watch(wallet.descriptor, range_end=20)
    chain.mine(1, wallet.address(0))
    chain.mine(100, BURN)
    (coin,) = [coin_of(u, wallet) for u in chain.utxos(wallet.descriptor)]
    cap = capped(chain, tmp_path / "cap.sqlite3", wallet.descriptor)
    burn = payout_script(BURN, "regtest")
    try:
        chain.broadcast(spend([coin], [(burn, 400_000), (wallet.script(0, branch=1), coin.amount_sat - 401_000)]))
        assert cap.usage().used_sat == 401_000
        chain.broadcast(spend([coin], [(burn, 100_000), (wallet.script(1, branch=1), coin.amount_sat - 110_000)]))
        assert cap.usage().used_sat == 110_000
    finally:
        cap.close()
