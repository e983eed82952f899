"""A quorum payout in flight in one process is never settled as 'nothing went out' by another.

Between writing its ``quorum_payouts`` row and the coordinator taking its own spend lock, a
paying process has started no quorum spend yet; a second process settling in that moment
found no spend with the note, put the redemption back to pending (so it could be approved
and paid again), while the first went on to pay it."""

from __future__ import annotations

import fcntl

import pytest

from backends.mint import quorum_payouts
from backends.mint.errors import RedemptionError
from backends.mint.ledger import Ledger

RID = "ab" * 32


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger.in_data_dir(tmp_path)
    with opened.transaction() as db:
        db.execute("INSERT INTO redemptions(redemption_id, address, script_pubkey, amount_sat, status, reason, "
                   "created_at, updated_at, approved_by) VALUES (?, 'bcrt1qx', x'00', 1000, 'approved', ?, 1, 1, "
                   "'op')", (RID, quorum_payouts.SIGNING))
        db.execute("INSERT INTO quorum_payouts(redemption_id, started_at) VALUES (?, 1)", (RID,))
    yield opened
    opened.close()


def _held_by_another_process(ledger):
    handle = open(ledger.path.parent / quorum_payouts.LOCK_FILE, "a")  # noqa: SIM115 - held by the test
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle


def test_settle_leaves_a_payout_another_process_is_making(ledger):
    handle = _held_by_another_process(ledger)
    try:
        # the coordinator is not even asked while the payout is in flight elsewhere
        assert quorum_payouts.settle(ledger, None, now=2) == []
    finally:
        handle.close()
    assert ledger.read("SELECT status, txid FROM redemptions")[0] == ("approved", None)
    assert ledger.read("SELECT redemption_id FROM quorum_payouts") == [(RID,)]


def test_a_second_payout_waits_while_one_is_in_flight(ledger):
    handle = _held_by_another_process(ledger)
    try:
        with pytest.raises(RedemptionError, match="another process"):
            quorum_payouts.pay(ledger, RID, "op", None, now=2)
    finally:
        handle.close()
    assert ledger.read("SELECT redemption_id FROM quorum_payouts") == [(RID,)]
