"""Everything an operator's screen shows about the mint, from one reading of the chain.

``Mint.inventory``, ``accounting``, ``health`` and ``recommendation`` each read the reserve's
coins from the chain again; at 100,000 coins a screen refresh would read them five times.
:func:`read_overview` reads them once, stores them in the coin cache for the paged table,
and derives the inventory, the books, health and the advice from that one list, with the
same functions the mint uses. Read-only, apart from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.errors import CustodyError

from .coin_pages import CoinPages, Reading

#: redemptions an operator acts on; settled ones follow, newest first, up to RECENT_SETTLED
OPEN_STATUSES = ("pending", "approved")
RECENT_SETTLED = 20
EVENTS_SHOWN = 200


@dataclass(frozen=True)
class Overview:
    reading: Reading  # of the coin cache, now up to date
    inventory: Any
    books: Any
    health: Any
    recommendation: str
    pause: Any
    redemptions: list  # open ones oldest first, then the most recent settled
    events: list[dict]  # newest first
    alerts: frozenset[int]
    depth: int
    allowance: str | None  # with the quorum signer: what its HSM policy still lets out this period


def read_overview(mint, pages: CoinPages, *, now: float) -> Overview:
    from .pause import recommendation
    from .reserves import accounting, health, inventory
    from .spends import locked_outpoints

    reserve = mint._reserve_wallet()  # refuses with the reason when no reserve is configured
    tip = reserve.chain.tip()
    coins = reserve.chain.utxos(reserve.descriptor_text)
    reading = pages.replace(coins, locked_outpoints(mint.ledger), height=tip.height, taken_at=now, tip=tip.hash_hex)
    inv = inventory(mint.ledger, reserve, coins=coins)
    books = accounting(mint.ledger, inv.total_value_sat)
    redemptions = mint.redemptions()
    open_ = sorted((r for r in redemptions if r.status in OPEN_STATUSES), key=lambda r: r.created_at)
    settled = sorted((r for r in redemptions if r.status not in OPEN_STATUSES), key=lambda r: r.updated_at,
                     reverse=True)
    reserve_health = health(inv, books, max((r.amount_sat for r in open_), default=0))
    pause = mint.pause_state()
    try:
        allowance = mint.payout_allowance()
        allowance_text = allowance.text() if allowance is not None else None
    except CustodyError as exc:  # the devices cannot be read now: the queue still shows
        allowance_text = f"quorum policy allowance unknown: {exc}"
    return Overview(
        reading=reading, inventory=inv, books=books, health=reserve_health,
        recommendation=recommendation(reserve_health, pause), pause=pause,
        redemptions=open_ + settled[:RECENT_SETTLED], events=mint.events(limit=EVENTS_SHOWN),
        alerts=frozenset(e.event_id for e in mint.alerts()), depth=mint.settings.finalization_depth,
        allowance=allowance_text,
    )
