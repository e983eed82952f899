"""Reserve inventory, the accounting summary and health, from the chain and the ledger."""

from __future__ import annotations

from backends.mint.reserves import CRITICAL, HEALTHY, WARN, Accounting, HealthRules, Inventory, health
from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import DEPTH, PAYOUT_ADDRESS

COINBASE = 5_000_000_000


def test_inventory_counts_spendable_coins_and_what_one_payout_can_move(rig):
    inv = rig.mint.inventory()
    assert (inv.utxo_count, inv.utxo_value_sat, inv.locked_count) == (2, 2 * COINBASE, 0)
    assert inv.max_payout_sat == 2 * COINBASE and inv.largest_utxo_sat == COINBASE
    assert inv.fragmentation == 0.0


def test_accounting_follows_deposits_issuance_and_redemptions(rig):
    books = rig.mint.accounting()
    assert books.deposits_credited_sat == books.deposits_unissued_sat == COINBASE
    assert books.liabilities_sat == COINBASE and books.surplus_sat == COINBASE  # the second coinbase is equity
    notes = rig.notes([100_000, 10_000])
    books = rig.mint.accounting()
    assert (books.issued_sat, books.outstanding_notes_sat) == (110_000, 110_000)
    assert books.liabilities_sat == COINBASE  # notes replaced unissued deposit value one for one
    redemption = rig.mint.create_redemption(notes, PAYOUT_ADDRESS)
    books = rig.mint.accounting()
    assert (books.outstanding_notes_sat, books.redemptions_unsettled_sat) == (0, 110_000)
    paid = rig.mint.approve_redemption(redemption.redemption_id, "op")
    books = rig.mint.accounting()
    assert books.redemptions_broadcast_sat == 110_000 and books.liabilities_sat == COINBASE - 110_000
    assert books.reserves_sat == 2 * COINBASE - 110_000 - paid.fee_sat
    rig.chain.mine(DEPTH, BURN_ADDRESS)
    rig.mint.refresh()
    assert rig.mint.accounting().redeemed_sat == 110_000


def test_a_healthy_reserve_and_the_rules_that_make_it_warn_or_critical(rig):
    assert rig.mint.health().status == HEALTHY
    inv = Inventory(10, 50_000, 0, 0, 0, 0, 8, 10_000, 2_000, 20_000, 45_000, 8)
    books = Accounting(0, 0, 0, 0, 0, 40_000, 0, 0, 0, 50_000, 40_000)
    fragmented = health(inv, books, 0)
    assert fragmented.status == WARN and "consolidate" in fragmented.reasons[0]
    deficit = Accounting(0, 0, 0, 0, 0, 60_000, 0, 0, 0, 50_000, 60_000)
    assert health(inv, deficit, 0).status == CRITICAL
    too_big = health(inv, books, 46_000, HealthRules(warn_fragmentation=1.0))
    assert too_big.status == CRITICAL and "exceeds what 8 reserve coins can pay" in too_big.reasons[0]


def test_metrics_are_prometheus_gauges_matching_the_accounting(rig):
    import re

    rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    text = rig.mint.metrics_text()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP \w+ .+|TYPE \w+ gauge|TYPE \w+_total counter)", line)
            continue
        name, value = line.rsplit(" ", 1)
        assert re.fullmatch(r'\w+(\{\w+="\w+"\})?', name)
        samples[name] = float(value)
    books = rig.mint.accounting()
    assert samples["mint_liabilities_sat"] == books.liabilities_sat
    assert samples["mint_surplus_sat"] == books.surplus_sat
    assert samples['mint_redemptions{status="pending"}'] == 1
    assert samples["mint_health"] == 0 and samples["mint_redemptions_paused"] == 0
    assert samples['mint_deposit_address_refusals_total{reason="rate"}'] == 0
