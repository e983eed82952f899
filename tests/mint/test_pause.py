"""Pausing payouts: by an operator, or automatically when the reserve turns critical."""

from __future__ import annotations

import pytest

from backends.mint.errors import RedemptionError
from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import PAYOUT_ADDRESS


def _drain_reserve(rig) -> None:
    """Move every reserve coin out of the reserve (as a compromised key would)."""
    from backends.wallet import Payment, Utxo, create_psbt, extract, finalize, parse_address, parse_descriptor

    coins = [Utxo.from_chain(u) for u in rig.chain.utxos(rig.descriptor)]
    wallet = parse_descriptor(rig.descriptor, "regtest")
    psbt = create_psbt(wallet, coins, [Payment(parse_address(BURN_ADDRESS, "regtest"), sum(c.value for c in coins) - 10_000)])
    rig.keystore.sign_psbt("reserve", psbt, "regtest")
    rig.chain.broadcast(extract(finalize(psbt)))
    rig.chain.mine(1, BURN_ADDRESS)


def test_a_paused_mint_queues_redemptions_but_pays_none_until_resumed(rig):
    state = rig.mint.pause("op-alice", "investigating a reorg")
    assert (state.paused, state.by, state.reason) == (True, "op-alice", "investigating a reorg")
    redemption = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)  # still accepted
    with pytest.raises(RedemptionError, match="paused by op-alice: investigating a reorg"):
        rig.mint.approve_redemption(redemption.redemption_id, "op-bob")
    assert rig.mint.redemption(redemption.redemption_id).status == "pending"
    assert rig.mint.resume().paused is False
    assert rig.mint.approve_redemption(redemption.redemption_id, "op-bob").status == "broadcast"


def test_a_pause_needs_a_reason(rig):
    with pytest.raises(RedemptionError, match="needs a reason"):
        rig.mint.pause("op", "  ")
    assert not rig.mint.pause_state().paused


def test_auto_pause_triggers_when_the_reserve_falls_into_deficit(rig):
    redemption = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    assert rig.mint.recommendation() == "keep running"
    _drain_reserve(rig)
    rig.mint.refresh()
    state = rig.mint.pause_state()
    assert state.paused and state.by == "auto" and "deficit" in state.reason
    assert rig.mint.recommendation() == "stay paused"
    with pytest.raises(RedemptionError, match="paused by auto"):
        rig.mint.approve_redemption(redemption.redemption_id, "op")


def test_with_auto_pause_off_a_critical_reserve_is_only_recommended_for_pause(rig):
    rig.mint.set_auto_pause(False)
    _drain_reserve(rig)
    rig.mint.refresh()
    assert not rig.mint.pause_state().paused
    assert rig.mint.health().status == "critical" and rig.mint.recommendation() == "pause"
