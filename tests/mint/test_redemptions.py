"""Redemptions: burn notes, approve, pay from the reserve with the hot key, finalize at depth;
rejection restores notes; unfundable waits with its reason; a crash never spends twice."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backends.mint.errors import InvalidNote, NoteAlreadySpent, RedemptionError
from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import DEPTH, PAYOUT_ADDRESS, open_mint

ROOT = Path(__file__).resolve().parents[2]


def _spent_count(mint) -> int:
    return mint.ledger.read("SELECT COUNT(*) FROM spent_notes")[0][0]


def test_a_redemption_is_paid_by_the_hot_key_and_finalized_at_depth(rig):
    notes = rig.notes([100_000, 10_000, 1_000])
    redemption = rig.mint.create_redemption(notes, PAYOUT_ADDRESS)
    assert (redemption.status, redemption.amount_sat) == ("pending", 111_000)
    assert all(rig.mint.is_spent(n) for n in notes)
    paid = rig.mint.approve_redemption(redemption.redemption_id, "op-alice")
    assert (paid.status, paid.approved_by) == ("broadcast", "op-alice")
    assert rig.chain.tx_status(paid.txid).state == "mempool"
    assert rig.mint.in_flight().pending_spend_commitment_count == 1
    assert rig.mint.in_flight().pending_spend_input_count == 1
    rig.chain.mine(DEPTH - 1, BURN_ADDRESS)
    assert rig.mint.refresh()[1] == []
    rig.chain.mine(1, BURN_ADDRESS)
    [final] = rig.mint.refresh()[1]
    assert (final.status, final.finalized_height) == ("finalized", rig.chain.tip().height - DEPTH + 1)
    assert rig.mint.in_flight().pending_spend_input_count == 0


def test_notes_of_a_redemption_cannot_be_redeemed_again(rig):
    notes = rig.notes([10_000, 10_000])
    rig.mint.create_redemption(notes, PAYOUT_ADDRESS)
    with pytest.raises(NoteAlreadySpent):
        rig.mint.create_redemption(notes[1:], PAYOUT_ADDRESS)
    assert len(rig.mint.redemptions()) == 1


def test_a_rejected_redemption_gives_its_notes_back(rig):
    notes = rig.notes([10_000])
    redemption = rig.mint.create_redemption(notes, PAYOUT_ADDRESS)
    rejected = rig.mint.reject_redemption(redemption.redemption_id, "op-bob", "address on a sanctions list")
    assert rejected.status == "rejected" and "op-bob" in rejected.reason
    assert not rig.mint.is_spent(notes[0])
    again = rig.mint.create_redemption(notes, PAYOUT_ADDRESS)  # the holder may redeem elsewhere
    assert again.status == "pending"
    with pytest.raises(RedemptionError, match="only a pending one can be rejected"):
        rig.mint.reject_redemption(redemption.redemption_id, "op-bob", "twice")


def test_an_unfundable_redemption_stays_pending_with_the_reason_then_pays_when_coins_confirm(rig):
    first = rig.mint.create_redemption(rig.notes([100_000]), PAYOUT_ADDRESS)
    second = rig.mint.create_redemption(rig.notes([100_000]), PAYOUT_ADDRESS)
    third = rig.mint.create_redemption(rig.notes([100_000]), PAYOUT_ADDRESS)
    assert rig.mint.approve_redemption(first.redemption_id, "op").status == "broadcast"
    assert rig.mint.approve_redemption(second.redemption_id, "op").status == "broadcast"
    waiting = rig.mint.approve_redemption(third.redemption_id, "op")  # both reserve coins in flight
    assert waiting.status == "pending" and waiting.approved_by == "op"
    assert waiting.reason.startswith("cannot fund:")
    rig.chain.mine(1, BURN_ADDRESS)  # the change outputs confirm
    paid = rig.mint.retry_funding(third.redemption_id)
    assert paid.status == "broadcast" and paid.reason is None
    rig.chain.mine(DEPTH, BURN_ADDRESS)
    rig.mint.refresh()
    assert {r.status for r in rig.mint.redemptions()} == {"finalized"}


def test_reserve_inputs_are_never_in_two_payouts(rig):
    payouts = [rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS) for _ in range(2)]
    txids = [rig.mint.approve_redemption(p.redemption_id, "op").txid for p in payouts]
    from embit.transaction import Transaction

    inputs = [
        {f"{i.txid.hex()}:{i.vout}" for i in Transaction.parse(rig.mint.redemption(p.redemption_id).raw_tx).vin}
        for p in payouts
    ]
    assert txids[0] != txids[1] and not inputs[0] & inputs[1]


def test_bad_addresses_and_bad_notes_are_refused_and_burn_nothing(rig):
    notes = rig.notes([1_000])
    for address in ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "not an address", "", None):
        with pytest.raises(RedemptionError):
            rig.mint.create_redemption(notes, address)
    with pytest.raises(InvalidNote):
        rig.mint.create_redemption([], PAYOUT_ADDRESS)
    assert _spent_count(rig.mint) == 0 and rig.mint.redemptions() == []


def test_a_finalized_redemption_cannot_be_approved_again(rig):
    redemption = rig.mint.create_redemption(rig.notes([1_000]), PAYOUT_ADDRESS)
    rig.mint.approve_redemption(redemption.redemption_id, "op")
    rig.chain.mine(DEPTH, BURN_ADDRESS)
    rig.mint.refresh()
    with pytest.raises(RedemptionError, match="finalized, not pending"):
        rig.mint.approve_redemption(redemption.redemption_id, "op")


CHILD = textwrap.dedent('''
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from backends.chain import EmbeddedChain
    from tests.mint.hot_reserve import open_keystore, open_mint

    data_dir, redemption_id, descriptor, when = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    chain = EmbeddedChain(data_dir / "chain")

    class DiesAtBroadcast:
        """The real chain; the process is killed just before or just after the broadcast."""
        def __getattr__(self, name):
            return getattr(chain, name)
        def broadcast(self, raw):
            if when == "after":
                chain.broadcast(raw)
            os.kill(os.getpid(), signal.SIGKILL)

    mint = open_mint(data_dir, open_keystore(data_dir), DiesAtBroadcast(), descriptor)
    mint.approve_redemption(redemption_id, "op-crash")
''')


@pytest.mark.slow
@pytest.mark.parametrize("when", ["after", "before"])
def test_killed_around_broadcast_the_mint_finds_its_payout_at_restart_and_never_spends_twice(rig, when):
    from backends.chain import EmbeddedChain

    redemption = rig.mint.create_redemption(rig.notes([100_000]), PAYOUT_ADDRESS)
    before = rig.reserve_outpoints()
    rig.mint.close()
    rig.chain.close()
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(ROOT)), str(rig.data_dir), redemption.redemption_id,
         rig.descriptor, when],
        capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == -9, child.stderr
    rig.chain = EmbeddedChain(rig.data_dir / "chain")
    rig.mint = open_mint(rig.data_dir, rig.keystore, rig.chain, rig.descriptor)
    recorded = rig.mint.redemption(redemption.redemption_id)
    assert recorded.status == "approved" and recorded.txid  # signed and recorded before broadcasting
    expected_state = "mempool" if when == "after" else "unknown"
    assert rig.chain.tx_status(recorded.txid).state == expected_state
    [found] = rig.mint.refresh()[1]  # at restart: found (after) or the same bytes sent again (before)
    assert (found.status, found.txid) == ("broadcast", recorded.txid)
    with pytest.raises(RedemptionError, match="broadcast, not pending"):
        rig.mint.approve_redemption(redemption.redemption_id, "op")
    rig.chain.mine(DEPTH, BURN_ADDRESS)
    [final] = rig.mint.refresh()[1]
    assert final.status == "finalized"
    spent = before - rig.reserve_outpoints()
    from embit.transaction import Transaction

    tx_inputs = {f"{i.txid.hex()}:{i.vout}" for i in Transaction.parse(recorded.raw_tx).vin}
    assert spent == tx_inputs  # exactly the recorded transaction's inputs left the reserve


def _sweep_of_payout_input(rig, paid, reserve_before, fee_sat: int):
    """A transaction of the reserve's own key spending the payout's input elsewhere."""
    from embit.transaction import Transaction

    from backends.wallet import Payment, Utxo, create_psbt, extract, finalize, parse_descriptor

    [spent] = Transaction.parse(paid.raw_tx).vin
    coin = next(u for u in reserve_before if u.txid == spent.txid.hex() and u.vout == spent.vout)
    wallet = parse_descriptor(rig.descriptor, "regtest")
    sweep = create_psbt(wallet, [Utxo.from_chain(coin)],
                        [Payment(wallet.script_pubkey(0, 40), coin.amount_sat - fee_sat)])
    rig.keystore.sign_psbt("reserve", sweep, "regtest")
    return extract(finalize(sweep))


def test_a_payout_double_spent_on_chain_waits_until_the_conflict_is_final_then_is_funded_anew(rig):
    redemption = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    reserve_before = rig.chain.utxos(rig.descriptor)
    paid = rig.mint.approve_redemption(redemption.redemption_id, "op")
    sweep = _sweep_of_payout_input(rig, paid, reserve_before, 5_000)
    rig.chain.submit_block(rig.chain.propose_block([sweep], BURN_ADDRESS))
    # one block deep, the conflict can still be reorganised away: funding again could pay twice
    [waiting] = rig.mint.refresh()[1]
    assert (waiting.status, waiting.txid) == ("broadcast", paid.txid)
    assert f"(1 of {DEPTH} confirmations)" in waiting.reason and "funded again only once" in waiting.reason
    assert rig.mint.in_flight().pending_spend_input_count == 1
    assert rig.mint.refresh()[1] == []  # nothing new to say
    rig.chain.mine(DEPTH - 1, BURN_ADDRESS)
    [back] = rig.mint.refresh()[1]
    assert (back.status, back.txid) == ("pending", None)
    assert back.reason.startswith("its transaction was double-spent by ")
    assert rig.mint.in_flight().pending_spend_input_count == 0
    again = rig.mint.retry_funding(redemption.redemption_id)
    assert again.status == "broadcast" and again.txid != paid.txid
    kinds = [(e["kind"], e["severity"]) for e in rig.mint.events()]
    assert ("double_spend", "warn") in kinds and ("double_spend", "critical") in kinds


def test_two_approvals_at_once_in_one_process_both_pay_from_different_coins(rig):
    import threading

    payouts = [rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS) for _ in range(2)]
    results, barrier = {}, threading.Barrier(2)

    def approve(redemption_id: str) -> None:
        barrier.wait()
        results[redemption_id] = rig.mint.approve_redemption(redemption_id, "op")

    threads = [threading.Thread(target=approve, args=(p.redemption_id,)) for p in payouts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {r.status for r in results.values()} == {"broadcast"}
    assert rig.mint.in_flight().pending_spend_input_count == 2


class _QuorumNeverAsked:
    """Stands where the quorum's coordinator goes: any use of it is the defect under test."""

    def __getattr__(self, name):
        raise AssertionError(f"the quorum was asked ({name}) to pay a redemption no operator approved")


def test_retrying_the_funding_of_a_redemption_no_operator_approved_is_refused_with_either_signer(rig):
    import dataclasses

    pending = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    with pytest.raises(RedemptionError, match="not an approved pending"):
        rig.mint.retry_funding(pending.redemption_id)
    rig.mint.settings = dataclasses.replace(rig.mint.settings, reserve_signer="quorum")
    rig.mint._quorum = _QuorumNeverAsked()
    with pytest.raises(RedemptionError, match="not an approved pending"):
        rig.mint.retry_funding(pending.redemption_id)
    assert rig.mint.redemption(pending.redemption_id).approved_by is None
