"""Amounts as an operator reads them.

Exact integer arithmetic: ``sat / 1e8`` in a float cannot hold every satoshi of a large
amount (16 significant digits), and a custody console must never show a digit it made up.
"""

from __future__ import annotations

SAT_PER_BTC = 100_000_000


def btc_digits(sat: int, *, signed: bool = False) -> str:
    """``sat`` in BTC with all eight decimals, e.g. ``0.05000000``; ``signed`` adds ``+``."""
    whole, frac = divmod(abs(sat), SAT_PER_BTC)
    sign = "-" if sat < 0 else ("+" if signed else "")
    return f"{sign}{whole}.{frac:08d}"


def btc(sat: int) -> str:
    """``sat`` as ``0.05000000 BTC``."""
    return f"{btc_digits(sat)} BTC"
