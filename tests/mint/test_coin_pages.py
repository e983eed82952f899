"""The reserve coin cache behind the Reserves screen's table: ordered pages, the three coin
states, one transaction per reading, and a reading at the same tip not written again."""

from __future__ import annotations

from dataclasses import replace

import pytest

from backends.chain.interface import Utxo
from backends.mint.coin_pages import CoinPages


def coin(n: int, amount: int, confirmations: int = 3, coinbase: bool = False) -> Utxo:
    return Utxo(f"{n:064x}", 0, amount, b"", confirmations, 100, "wpkh(...)", 0, n, coinbase)


@pytest.fixture
def pages(tmp_path):
    opened = CoinPages.in_data_dir(tmp_path)
    yield opened
    opened.close()


def test_pages_come_largest_first_or_smallest_first_with_their_states(pages):
    coins = [coin(1, 5_000), coin(2, 9_000, confirmations=0), coin(3, 7_000), coin(4, 1_000, coinbase=True)]
    reading = pages.replace(coins, {coins[2].outpoint}, height=200, taken_at=10.0, tip="aa")
    assert (reading.count, reading.height) == (4, 200)
    assert [(c.position, c.amount_sat, c.state) for c in pages.page(0, 10)] == [
        (1, 9_000, "waiting"), (2, 7_000, "held"), (3, 5_000, "spendable"), (4, 1_000, "waiting")]
    assert [c.amount_sat for c in pages.page(1, 2, largest_first=False)] == [5_000, 7_000]
    assert pages.page(4, 10) == [] and pages.page(3, 10, largest_first=False)[0].position == 4
    with pytest.raises(ValueError):
        pages.page(0, 0)


def test_a_reading_at_the_same_tip_keeps_the_rows_and_a_new_block_rewrites_them(pages):
    coins = [coin(n, 1_000 + n) for n in range(50)]
    pages.replace(coins, set(), height=200, taken_at=10.0, tip="aa")
    pages.replace(list(reversed(coins)), set(), height=200, taken_at=20.0, tip="aa")  # any order
    assert pages.reading().taken_at == 20.0 and pages.page(0, 1)[0].confirmations == 3
    pages.replace([replace(c, confirmations=4) for c in coins], set(), height=201, taken_at=30.0, tip="bb")
    assert pages.page(0, 1)[0].confirmations == 4 and pages.reading().height == 201
    # a coin that changed state at the same tip (a payout now holds it) is a new reading too
    pages.replace([replace(c, confirmations=4) for c in coins], {coins[0].outpoint}, height=201,
                  taken_at=40.0, tip="bb")
    assert pages.page(49, 1)[0].state == "held"


def test_an_empty_cache_says_it_has_no_reading(pages):
    reading = pages.reading()
    assert (reading.count, reading.height, reading.taken_at) == (0, None, None)
    assert pages.page(0, 10) == []


def test_two_workers_opening_a_new_cache_at_once_both_get_it(tmp_path):
    # the Reserves screen's first two workers open it together; switching a new file to WAL
    # gets no busy wait from SQLite, and one of them failed with "database is locked"
    import threading

    failures = []
    for attempt in range(150):
        directory = tmp_path / str(attempt)
        opened = []

        def open_it():
            try:
                opened.append(CoinPages.in_data_dir(directory))
            except Exception as exc:  # noqa: BLE001 - any failure is the defect
                failures.append(exc)

        workers = [threading.Thread(target=open_it) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for pages in opened:
            pages.close()
    assert failures == []
