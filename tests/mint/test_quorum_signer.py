"""The mint's reserve signed by the 2-of-3 Coldcard quorum: three emulator processes over the
real ckcc client (tests/quorum/rig.py), the embedded chain, the coordinator's spend pipeline.

A payout within the devices' HSM policy is paid and shows in the period's allowance; one the
policy forbids stays pending with the devices' words; a mint killed between the quorum's
broadcast and its own recording finds the transaction at restart and never pays twice."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from backends.mint.service import Mint, MintSettings
from backends.chain import ChainServer
from tests.chain.funding import BURN_ADDRESS
from tests.coldcard.emulators import REPO
from tests.mint.wallet_side import Pending
from tests.quorum.rig import MAX_AMOUNT, PER_PERIOD, SINK, QuorumRig

DEPTH = 2
DENOMINATIONS = (100_000, 500_000, 1_000_000)


class QuorumMint:
    def __init__(self, base, keystore, **coordinator_changes) -> None:
        self.rig = QuorumRig(base / "rig")
        self.data_dir = base / "data"
        try:
            self.coordinator = self.rig.coordinator(self.data_dir, **coordinator_changes)
            self.keystore = keystore
            self.mint = self.open_mint(self.rig.chain, self.coordinator)
            self.mint.create_keyset(DENOMINATIONS)
            self.claim = self.mint.deposit_address()  # index 0, which the rig's first coinbase pays
            coinbase = next(u for u in self.rig.chain.utxos(self.rig.descriptor) if u.index == 0)
            self.deposit = self.mint.register_deposit(coinbase.txid, coinbase.vout)
            self.mint.refresh()
            assert all(s.live for s in self.coordinator.arm())
        except BaseException:
            self.rig.close()
            raise

    def open_mint(self, chain, coordinator) -> Mint:
        settings = MintSettings(reserve_descriptor=self.rig.descriptor, reserve_signer="quorum",
                                finalization_depth=DEPTH)
        return Mint(self.data_dir, self.keystore, chain=chain, settings=settings, quorum=coordinator)

    def redemption(self, amounts):
        pending = Pending(self.mint.keyset(), amounts)
        issued = self.mint.issue_blind(self.deposit.reference, pending.requests, claim_secret=self.claim.claim_secret)
        return self.mint.create_redemption(pending.unblind(issued.blind_sigs), SINK)

    def spends(self) -> list[str]:
        return sorted(h.txid for h in self.rig.chain.history(self.rig.descriptor) if h.sent_sat)

    def close(self) -> None:
        self.mint.close()
        self.coordinator.close()
        self.rig.close()


@pytest.fixture
def quorum_mint(tmp_path, keystore, key_pool):
    opened = QuorumMint(tmp_path, keystore)
    yield opened
    opened.close()


def test_a_payout_goes_through_the_quorum_and_one_the_policy_forbids_stays_pending_with_its_reason(quorum_mint):
    qm, mint = quorum_mint, quorum_mint.mint
    allowance = mint.payout_allowance()
    assert (allowance.per_period_sat, allowance.max_per_payout_sat) == (PER_PERIOD, MAX_AMOUNT)
    assert allowance.allowed_now_sat == PER_PERIOD

    paid = mint.approve_redemption(qm.redemption([500_000]).redemption_id, "op-alice")
    assert (paid.status, paid.approved_by, paid.reason) == ("broadcast", "op-alice", None)
    [row] = [r for r in qm.coordinator.ledger.recent(5) if r.note == f"mint redemption {paid.redemption_id}"]
    assert (row.state, row.txid, row.amount_sat) == ("recorded", paid.txid, 500_000)
    assert qm.rig.chain.tx_status(paid.txid).state == "mempool"
    assert mint.in_flight().pending_spend_input_count == 1  # the quorum's input, held by the mint too
    qm.coordinator.refresh()  # the devices' velocity counters now
    allowance = mint.payout_allowance()
    assert allowance.allowed_now_sat == PER_PERIOD - 500_000
    assert sorted(s.spent_sat for s in allowance.signers) == [0, 500_000, 500_000]
    assert "allows 4500000 sat more this period" in allowance.text()
    assert allowance.to_dict()["allowed_now_sat"] == 4_500_000

    before = qm.rig.chain.utxos(qm.rig.descriptor)
    over = qm.redemption([1_000_000, 500_000])  # above the policy's max_amount per transaction
    refused = mint.approve_redemption(over.redemption_id, "op-alice")
    assert refused.status == "pending" and refused.txid is None
    assert refused.reason.startswith("refused by the signer quorum: ")
    assert "Rejected: rule #1: amount exceeded" in refused.reason
    assert qm.rig.chain.utxos(qm.rig.descriptor) == before and qm.spends() == [paid.txid]
    assert mint.ledger.read("SELECT COUNT(*) FROM quorum_payouts")[0][0] == 0
    assert any(e["kind"] == "quorum_refused" for e in mint.events())

    qm.rig.chain.mine(DEPTH, BURN_ADDRESS)
    assert [r.status for r in mint.refresh()[1]] == ["finalized"]
    assert mint.in_flight().pending_spend_input_count == 0


CHILD = """
import json, sys
from pathlib import Path
from backends.chain import RemoteChain
from backends.keystore import KdfParams, Keystore
from backends.mint.service import Mint, MintSettings
from backends.quorum import Coordinator, QuorumSpec, SignerSpec
from tests.quorum.crashing_spend import KilledAround

spec_json, data_dir, socket, descriptor, redemption_id, when = sys.argv[1:]
raw = json.loads(spec_json)
raw["signers"] = tuple(SignerSpec(**s) for s in raw["signers"])
chain = RemoteChain(socket)
coordinator = Coordinator(QuorumSpec(**raw), Path(data_dir), chain=KilledAround(chain, when))
settings = MintSettings(reserve_descriptor=descriptor, reserve_signer="quorum", finalization_depth=2)
mint = Mint(Path(data_dir), Keystore(Path(data_dir) / "keystore", KdfParams.fast()), chain=chain,
            settings=settings, quorum=coordinator)
mint.approve_redemption(redemption_id, "op-crash")
sys.exit(3)  # never reached: killed as the quorum broadcasts (before or after the chain has it)
"""


def test_with_a_global_cap_the_allowance_is_what_the_devices_allow_within_the_caps_headroom(
        tmp_path, keystore, key_pool):
    qm = QuorumMint(tmp_path, keystore, global_cap_sat=3_000_000, global_period_minutes=60)
    try:
        mint = qm.mint
        assert mint.payout_allowance().allowed_now_sat == 3_000_000  # the devices would allow 5,000,000
        redemption = qm.redemption([500_000])
        paid = mint.approve_redemption(redemption.redemption_id, "operator@test")
        assert paid.status == "broadcast"
        mint.refresh()
        qm.coordinator.refresh()
        used = qm.coordinator.global_usage().used_sat
        assert used > 500_000  # the payout and its fee, counted from the chain
        allowance = mint.payout_allowance()
        assert allowance.allowed_now_sat == allowance.global_headroom_sat == 3_000_000 - used
        assert f"global cap {used:,} sat used of 3,000,000 sat" in allowance.text()
        assert allowance.to_dict()["global_headroom_sat"] == 3_000_000 - used
    finally:
        qm.close()


def _approve_killed(qm, tmp_path, redemption_id: str, when: str) -> None:
    import dataclasses

    server = ChainServer(qm.rig.chain, tmp_path / "chain.sock")
    server.start()
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(dataclasses.asdict(qm.rig.spec())), str(qm.data_dir),
             str(tmp_path / "chain.sock"), qm.rig.descriptor, redemption_id, when],
            cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert child.returncode == -9, child.stdout + child.stderr
    cut = qm.mint.redemption(redemption_id)
    assert (cut.status, cut.txid) == ("approved", None)  # handed to the quorum, outcome unrecorded
    qm.mint.close()  # the restart: a new mint on the same data dir
    qm.mint = qm.open_mint(qm.rig.chain, qm.coordinator)


@pytest.mark.slow
def test_killed_between_the_quorums_broadcast_and_recording_the_restart_records_it_and_never_pays_twice(
        quorum_mint, tmp_path):
    qm = quorum_mint
    redemption = qm.redemption([500_000])
    _approve_killed(qm, tmp_path, redemption.redemption_id, "after")
    [sent] = qm.spends()
    assert qm.rig.chain.tx_status(sent).state == "mempool"
    # the next approval settles with the quorum's ledger first, then builds only its own payout
    assert qm.mint.approve_redemption(qm.redemption([100_000]).redemption_id, "op").status == "broadcast"
    found = qm.mint.redemption(redemption.redemption_id)
    assert (found.status, found.txid, found.approved_by) == ("broadcast", sent, "op-crash")
    assert len(qm.spends()) == 2 and sent in qm.spends()  # the new payout is another transaction
    from backends.mint.errors import RedemptionError

    with pytest.raises(RedemptionError, match="broadcast, not pending"):
        qm.mint.approve_redemption(redemption.redemption_id, "op")
    [row] = [r for r in qm.coordinator.ledger.recent(10) if r.note == f"mint redemption {redemption.redemption_id}"]
    assert (row.state, row.txid) == ("recorded", sent)
    qm.rig.chain.mine(DEPTH, BURN_ADDRESS)
    assert sorted(r.status for r in qm.mint.refresh()[1]) == ["finalized", "finalized"]


@pytest.mark.slow
def test_killed_before_the_quorums_broadcast_the_restart_finds_nothing_went_out_and_it_waits(quorum_mint, tmp_path):
    qm = quorum_mint
    redemption = qm.redemption([500_000])
    _approve_killed(qm, tmp_path, redemption.redemption_id, "before")
    assert qm.spends() == []
    [back] = qm.mint.refresh()[1]
    assert (back.redemption_id, back.status, back.txid) == (redemption.redemption_id, "pending", None)
    assert "was dropped" in back.reason and "nothing went out" in back.reason
    paid = qm.mint.approve_redemption(redemption.redemption_id, "op")
    assert paid.status == "broadcast" and qm.spends() == [paid.txid]


def test_a_payout_whose_broadcast_went_unanswered_is_not_offered_again_and_is_paid_once(quorum_mint):
    """The chain takes the quorum's transaction but its answer is lost: the payout's fate is
    unknown, so it must not go back to pending, where approving it again pays a second time."""
    from backends.quorum import Coordinator
    from tests.quorum.test_spend_safety import FlakyChain

    qm = quorum_mint
    qm.mint.close()
    qm.coordinator.close()
    chain = FlakyChain(qm.rig.chain)
    qm.coordinator = Coordinator(qm.rig.spec(), qm.data_dir, chain=chain)  # its broadcasts go through it
    qm.mint = qm.open_mint(qm.rig.chain, qm.coordinator)
    redemption = qm.redemption([500_000])
    chain.mute = True
    first = qm.mint.approve_redemption(redemption.redemption_id, "op-alice")
    chain.mute = False
    [sent] = qm.spends()  # it reached the chain
    assert first.status == "approved" and first.txid is None, first.reason
    # the operator approves again, and again: never a second transaction
    for _ in range(2):
        if qm.mint.redemption(redemption.redemption_id).status == "pending":
            qm.mint.approve_redemption(redemption.redemption_id, "op-alice")
    qm.mint.refresh()
    found = qm.mint.redemption(redemption.redemption_id)
    assert (found.status, found.txid) == ("broadcast", sent)
    assert qm.spends() == [sent]
