"""The global cap's figure on every chain backend (embedded, served over a socket, and a real
Bitcoin Core when one is available, tests/bitcoind.py): a 2-of-3 wallet signed in-process, so
no device is needed to put its spends on the chain."""

from __future__ import annotations

import pytest

from backends.chain.addresses import payout_script
from backends.quorum.global_cap import GlobalCap
from tests.chain.conftest import chain, embedded  # noqa: F401  (chain fixtures)
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


def test_a_payment_leaves_the_window_when_the_period_has_passed_since_it_was_first_seen(embedded, tmp_path):  # noqa: F811
    import time

    wallet = multisig_wallet()
    embedded.watch(wallet.descriptor, range_end=20)
    embedded.mine(1, wallet.address(0))
    embedded.mine(100, BURN)
    (coin,) = [coin_of(u, wallet) for u in embedded.utxos(wallet.descriptor)]
    embedded.broadcast(spend([coin], [(payout_script(BURN, "regtest"), 50_000),
                                      (wallet.script(0, branch=1), coin.amount_sat - 51_000)]))
    (seen,) = [h.time for h in embedded.history(wallet.descriptor) if h.outflow_sat]
    now = [time.time()]
    cap = GlobalCap(tmp_path / "cap.sqlite3", chain=lambda: embedded, descriptor=wallet.descriptor,
                    limit_sat=100_000, period_minutes=60, clock=lambda: now[0])
    try:
        usage = cap.usage()
        assert (usage.used_sat, usage.window_resets_at) == (51_000, seen + 3600)
        assert usage.summary(now=seen + 3600 - 42 * 60).endswith("rolls in 42 min (" + usage.as_dict()[
            "window_resets_at"][11:16] + " UTC)")
        now[0] = seen + 3600 + 1
        assert (cap.usage().used_sat, cap.usage().window_resets_at) == (0, None)
        assert cap.reserve(1, 100_000).used_sat == 100_000
    finally:
        cap.close()
