"""Consolidating the reserve's small coins: a dry-run plan with its after-state, then for real."""

from __future__ import annotations

import pytest

from backends.mint.errors import RedemptionError
from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import DEPTH

SMALL = 5_000
PIECES = 30


def _fragment(rig) -> None:
    """Split one reserve coinbase into PIECES small coins plus change, all in the reserve."""
    from backends.wallet import Payment, Utxo, create_psbt, extract, finalize, parse_descriptor

    wallet = parse_descriptor(rig.descriptor, "regtest")
    coin = Utxo.from_chain(rig.chain.utxos(rig.descriptor)[0])
    payments = [Payment(wallet.script_pubkey(0, 10 + i), SMALL) for i in range(PIECES)]
    psbt = create_psbt(wallet, [coin], payments, change_amount=coin.value - PIECES * SMALL - 20_000,
                       change_index=40)
    rig.keystore.sign_psbt("reserve", psbt, "regtest")
    rig.chain.broadcast(extract(finalize(psbt)))
    rig.chain.mine(1, BURN_ADDRESS)


def test_the_plan_merges_the_small_coins_and_says_what_the_reserve_looks_like_after(rig):
    _fragment(rig)
    assert rig.mint.inventory().small_utxo_count == PIECES
    plan = rig.mint.consolidation_plan()
    assert len(plan.inputs) == PIECES and plan.input_sat == PIECES * SMALL
    assert plan.output_sat == plan.input_sat - plan.fee_sat and plan.fee_sat > 0
    after = plan.estimated_post_action
    assert (after["utxo_count_before"], after["utxo_count"], after["small_utxo_count"]) == (PIECES + 2, 3, 0)
    assert after["fragmentation_before"] > 0.9 and after["fragmentation"] == 0.0
    assert rig.mint.consolidations() == []  # a dry run changes nothing


def test_executing_it_spends_exactly_the_planned_coins_once_and_finalizes(rig):
    _fragment(rig)
    plan = rig.mint.consolidation_plan()
    done = rig.mint.consolidate("op-alice")
    assert (done.status, done.inputs, done.requested_by) == ("broadcast", PIECES, "op-alice")
    assert rig.mint.in_flight().pending_spend_input_count == PIECES
    assert rig.mint.consolidation_plan().reason  # the coins in flight are not planned again
    rig.chain.mine(DEPTH, BURN_ADDRESS)
    rig.mint.refresh()
    assert rig.mint.consolidations()[0].status == "finalized"
    inv = rig.mint.inventory()
    assert (inv.utxo_count, inv.small_utxo_count) == (3, 0)
    outpoints = {u.outpoint for u in rig.chain.utxos(rig.descriptor)}
    assert not outpoints & set(plan.inputs)


def test_a_reserve_without_small_coins_has_nothing_to_consolidate(rig):
    plan = rig.mint.consolidation_plan()
    assert plan.inputs == () and "nothing to consolidate" in plan.reason
    with pytest.raises(RedemptionError, match="nothing to consolidate"):
        rig.mint.consolidate("op")
