"""Amounts shown in BTC are exact to the satoshi, whatever their size."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.amounts import SAT_PER_BTC, btc, btc_digits

MAX_MONEY = 21_000_000 * SAT_PER_BTC


def test_every_satoshi_of_the_largest_amounts_is_shown():
    assert btc(MAX_MONEY - 1) == "20999999.99999999 BTC"  # a float prints 21000000.00000000
    assert btc(5_000_000) == "0.05000000 BTC"
    assert btc_digits(-1) == "-0.00000001"
    assert btc_digits(1, signed=True) == "+0.00000001"
    assert btc_digits(0, signed=True) == "+0.00000000"


@given(st.integers(min_value=-MAX_MONEY, max_value=MAX_MONEY))
def test_the_text_reads_back_as_the_same_amount(sat):
    text = btc_digits(sat)
    whole, frac = text.lstrip("-").split(".")
    assert len(frac) == 8
    assert (-1 if text.startswith("-") else 1) * (int(whole) * SAT_PER_BTC + int(frac)) == sat
