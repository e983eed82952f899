"""A payout replaced in Bitcoin Core's mempool (full RBF by the reserve's own key) is not a
final double spend: the payout waits, with the reason, until the replacement is deep enough."""

from __future__ import annotations

import pytest

from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import DEPTH, PAYOUT_ADDRESS, Rig
from tests.mint.test_redemptions import _sweep_of_payout_input


@pytest.fixture
def core_rig(tmp_path, key_pool, core_chain):
    opened = Rig(tmp_path, chain=core_chain)
    yield opened
    opened.close()


def test_a_payout_replaced_in_the_mempool_stays_broadcast_until_the_replacement_is_final(core_rig):
    rig = core_rig
    redemption = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    reserve_before = rig.chain.utxos(rig.descriptor)
    paid = rig.mint.approve_redemption(redemption.redemption_id, "op")
    replacement = rig.chain.broadcast(_sweep_of_payout_input(rig, paid, reserve_before, 20_000))
    assert rig.chain.tx_status(paid.txid).state == "conflicted"  # Core evicted it for the higher fee
    [waiting] = rig.mint.refresh()[1]
    assert (waiting.status, waiting.txid) == ("broadcast", paid.txid)
    assert f"{replacement} (0 of {DEPTH} confirmations)" in waiting.reason
    assert rig.mint.in_flight().pending_spend_input_count == 1  # its coins stay held
    rig.chain.mine(DEPTH - 1, BURN_ADDRESS)
    assert "(1 of" in rig.mint.refresh()[1][0].reason
    rig.chain.mine(1, BURN_ADDRESS)
    [back] = rig.mint.refresh()[1]
    assert (back.status, back.reason) == ("pending", f"its transaction was double-spent by {replacement}")
