"""Handing out deposit addresses past the watched range widens the chain's watch in steps.

Widening is a descriptor import, and on Bitcoin Core an import rescans from genesis: one per
address handed out (past the first 900) made every /deposits/address request a full rescan."""

from __future__ import annotations

import pytest

from backends.chain import EmbeddedChain
from backends.chain.interface import DEFAULT_RANGE_END
from backends.mint.deposit_limits import DepositAddressLimited, DepositLimits
from backends.mint.deposits import WATCH_MARGIN, new_deposit_address
from backends.mint.ledger import Ledger
from tests.mint.hot_reserve import open_keystore, reserve_descriptor


class CountingChain:
    """The embedded chain, noting each watch call that widens what it watches (a call within
    what is watched already imports nothing, on Bitcoin Core as here)."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain
        self.widened: list[int] = []

    def watch(self, descriptor: str, *, range_end: int, **kwargs) -> None:
        if range_end > max(self.widened, default=DEFAULT_RANGE_END):
            self.widened.append(range_end)
        self.chain.watch(descriptor, range_end=range_end, **kwargs)


@pytest.fixture
def near_the_margin(tmp_path):
    """A ledger whose next deposit index is the last before the margin, its reserve descriptor,
    and the embedded chain watching it (counted)."""
    keystore = open_keystore(tmp_path, create=True)
    descriptor = reserve_descriptor(keystore)
    ledger = Ledger.in_data_dir(tmp_path / "mint")
    chain = EmbeddedChain(tmp_path / "chain")
    try:
        chain.watch(descriptor)
        with ledger.transaction() as db:
            db.execute("INSERT INTO meta(key, value) VALUES ('next_deposit_index', ?)",
                       (str(DEFAULT_RANGE_END - WATCH_MARGIN - 1),))
        yield ledger, descriptor, CountingChain(chain)
    finally:
        chain.close()
        ledger.close()


def test_addresses_past_the_margin_widen_the_watch_once_per_step(near_the_margin):
    ledger, descriptor, counting = near_the_margin
    first = DEFAULT_RANGE_END - WATCH_MARGIN  # the first index that widens
    given = [new_deposit_address(ledger, counting, descriptor, "regtest", now=1) for _ in range(40)]
    assert [g.address_index for g in given] == list(range(first - 1, first + 39))
    assert len(counting.widened) == 1  # one import for the whole step, not one per address
    assert all(g.address_index + WATCH_MARGIN <= counting.widened[0] for g in given)


def test_a_flood_of_requests_past_the_cap_widens_the_watch_no_more(near_the_margin):
    ledger, descriptor, counting = near_the_margin
    limits, refused = DepositLimits(cap=30, expiry_seconds=3600), 0
    for _ in range(300):
        try:
            new_deposit_address(ledger, counting, descriptor, "regtest", now=1, limits=limits)
        except DepositAddressLimited:
            refused += 1
    assert refused == 270 and len(counting.widened) == 1
    assert ledger.read("SELECT COUNT(*) FROM deposit_addresses")[0][0] == 30
