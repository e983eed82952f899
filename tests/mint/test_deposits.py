"""Deposits: a deterministic reference, the reserve check, and credit only at the required depth."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.mint.deposits import deposit_reference
from backends.mint.errors import DepositError, IssuanceRefused
from tests.chain.funding import BURN_ADDRESS
from tests.mint.conftest import DEPOSIT_SAT, DEPTH
from tests.mint.wallet_side import Pending, claim_of, hand_out


def test_the_reference_is_a_hash_of_txid_vout_and_mint_id(mint, reserve_chain):
    txid = reserve_chain.deposit_txid
    deposit = mint.register_deposit(txid, 2)
    expected = hashlib.sha256(
        b"custody-tui/mint/deposit/v1\x00" + bytes.fromhex(txid) + (2).to_bytes(4, "little")
        + bytes.fromhex(mint.mint_id)
    ).hexdigest()
    assert deposit.reference == expected == deposit_reference(txid, 2, mint.mint_id)
    assert mint.register_deposit(txid.upper(), 2) == deposit  # registering again: the same deposit
    assert deposit.reference != deposit_reference(txid, 2, "11" * 32)  # another mint, another reference


def test_someone_who_saw_the_deposit_on_the_chain_cannot_draw_its_notes(mint, reserve_chain):
    """The reference is public (a hash of public data); only the claim secret handed out with
    the deposit address, to the depositor alone, lets notes be issued on it."""
    deposit = mint.register_deposit(reserve_chain.deposit_txid, 1)
    mint.refresh_deposits()
    requests = Pending(mint.keyset(), [10_000]).requests
    for guess in ("00" * 32, claim_of(mint, mint.deposit(mint.register_deposit(reserve_chain.deposit_txid, 0)
                                                         .reference)).hex()):
        with pytest.raises(IssuanceRefused, match="claim secret is not the one of deposit"):
            mint.issue_blind(deposit.reference, requests, claim_secret=guess)
    for malformed in (None, "", "zz" * 32, "00" * 31, 7):
        with pytest.raises(IssuanceRefused, match="claim secret must be 64 hex digits"):
            mint.issue_blind(deposit.reference, requests, claim_secret=malformed)
    assert mint.deposit(deposit.reference).issued_sat == 0
    issued = mint.issue_blind(deposit.reference, requests, claim_secret=claim_of(mint, deposit).hex())
    assert issued.deposit.issued_sat == 10_000


def test_the_mint_keeps_only_a_hash_of_each_claim_secret(mint):
    given = mint.deposit_address()
    assert given.address == reserve_address(mint, given.address_index)
    assert given.claim_secret.hex() not in repr(given)
    dump = "\n".join(mint.ledger._db.iterdump())
    assert given.claim_secret.hex() not in dump and given.claim_secret.hex().upper() not in dump
    assert mint.deposit_address().address_index == given.address_index + 1  # a fresh address each time


def reserve_address(mint, index: int) -> str:
    from backends.wallet import parse_descriptor

    return parse_descriptor(mint.settings.reserve_descriptor, "regtest").receive_address(index)


def test_an_output_paying_a_reserve_address_never_handed_out_is_refused(mint, reserve_chain):
    txid = reserve_chain.send_to_reserve([30_000, 30_000])  # pays indices 10 and 11
    with mint.ledger.transaction() as db:  # as if the mint had handed out only index 10
        db.execute("DELETE FROM deposit_addresses WHERE address_index=11")
    assert mint.register_deposit(txid, 0).status == "registered"
    with pytest.raises(DepositError, match="never handed out for a deposit"):
        mint.register_deposit(txid, 1)
    assert [d.vout for d in mint.deposits()] == [0]


def test_a_deposit_is_credited_only_at_the_required_depth(mint, reserve_chain):
    chain = reserve_chain.chain
    txid = reserve_chain.send_to_reserve([40_000])
    deposit = mint.register_deposit(txid, 0, amount_sat=40_000)
    assert (deposit.status, deposit.amount_sat, deposit.available_sat) == ("registered", 40_000, 0)
    for _ in range(DEPTH - 1):
        assert mint.refresh_deposits() == []
        with pytest.raises(IssuanceRefused, match="registered, not credited"):
            mint.issue_blind(deposit.reference, Pending(mint.keyset(), [1_000]).requests,
                         claim_secret=claim_of(mint, deposit))
        chain.mine(1, BURN_ADDRESS)
    assert mint.refresh_deposits() == []  # DEPTH - 1 confirmations
    chain.mine(1, BURN_ADDRESS)
    [credited] = mint.refresh_deposits()
    assert (credited.status, credited.available_sat) == ("credited", 40_000)
    assert credited.credited_height == chain.tip().height - DEPTH + 1
    assert mint.refresh_deposits() == []
    issued = mint.issue_blind(deposit.reference, Pending(mint.keyset(), [10_000]).requests,
                              claim_secret=claim_of(mint, deposit))
    assert issued.deposit.available_sat == 30_000


def test_an_output_that_does_not_pay_the_reserve_is_refused(mint, reserve_chain):
    txid = reserve_chain.deposit_txid
    with pytest.raises(DepositError, match="not an unspent output paying the mint's reserve"):
        mint.register_deposit(txid, 4)  # the depositor's change
    assert mint.deposits() == []


def test_a_claimed_amount_must_match_the_chain(mint, reserve_chain):
    with pytest.raises(DepositError, match=f"claims 1 sat but .* pays {DEPOSIT_SAT} sat"):
        mint.register_deposit(reserve_chain.deposit_txid, 0, amount_sat=1)
    assert mint.deposits() == []


def test_a_deposit_made_for_another_mint_is_refused(mint, reserve_chain):
    with pytest.raises(DepositError, match="names mint 1111111111111111"):
        mint.register_deposit(reserve_chain.deposit_txid, 0, mint_id="11" * 32)
    assert mint.register_deposit(reserve_chain.deposit_txid, 0, mint_id=mint.mint_id).vout == 0


def test_an_unknown_reference_is_a_clear_error(mint):
    with pytest.raises(DepositError, match="register the deposit first|no deposit has reference"):
        mint.deposit("00" * 32)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(st.text(max_size=70), st.integers(), st.none(), st.binary(max_size=40)),
    st.one_of(st.integers(min_value=-5, max_value=2**33), st.text(max_size=3), st.none(), st.booleans()),
    st.one_of(st.none(), st.text(max_size=70), st.integers()),
)
def test_malformed_registrations_are_refused_and_record_nothing(mint, txid, vout, mint_id):
    with pytest.raises(DepositError):
        mint.register_deposit(txid, vout, mint_id=mint_id)
    assert mint.deposits() == []


def test_a_deposit_whose_transaction_is_double_spent_is_marked_conflicted_and_never_credited(mint, reserve_chain):
    from tests.chain.wallets import spend

    chain, funded = reserve_chain.chain, reserve_chain.funded
    coin = max(funded.coins(chain, funded.taproot), key=lambda c: c.amount_sat)
    hand_out(mint, 30)
    to_reserve = spend([coin], [(funded.wpkh.script(30), 50_000), (funded.taproot.script(40), coin.amount_sat - 52_000)])
    deposit = mint.register_deposit(chain.broadcast(to_reserve), 0)
    elsewhere = spend([coin], [(funded.taproot.script(41), coin.amount_sat - 5_000)])
    chain.submit_block(chain.propose_block([elsewhere], BURN_ADDRESS))
    chain.mine(DEPTH, BURN_ADDRESS)
    [changed] = mint.refresh_deposits()
    assert changed.reference == deposit.reference and changed.status == "conflicted"
    with pytest.raises(IssuanceRefused, match="conflicted, not credited"):
        mint.issue_blind(deposit.reference, Pending(mint.keyset(), [1_000]).requests,
                         claim_secret=claim_of(mint, deposit))


def test_the_change_of_a_mint_payout_cannot_be_registered_as_a_deposit(rig):
    """The change of a payout is reserve money that already backs notes; crediting it again
    would let anyone mint notes against the mint's own coins."""
    from tests.mint.hot_reserve import DEPTH as RIG_DEPTH, PAYOUT_ADDRESS

    redemption = rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    paid = rig.mint.approve_redemption(redemption.redemption_id, "op-alice")
    rig.chain.mine(RIG_DEPTH, BURN_ADDRESS)
    [change] = [u for u in rig.chain.utxos(rig.descriptor) if u.txid == paid.txid]
    with pytest.raises(DepositError, match="the mint's own"):
        rig.mint.register_deposit(change.txid, change.vout)
    assert [d.txid for d in rig.mint.deposits()] == [rig.deposit.txid]


class _CoinReads:
    """The shared chain, counting how often the reserve's coins are read."""

    def __init__(self, chain) -> None:
        self.chain, self.reads = chain, 0

    def __getattr__(self, name):
        return getattr(self.chain, name)

    def utxos(self, descriptor=None):
        self.reads += 1
        return self.chain.utxos(descriptor)


def test_registering_a_transaction_the_node_does_not_know_never_reads_the_reserve(mint, reserve_chain):
    counting = _CoinReads(reserve_chain.chain)
    mint.chain = counting
    with pytest.raises(DepositError, match="not an unspent output paying the mint's reserve"):
        mint.register_deposit("ab" * 32, 0)
    assert counting.reads == 0 and mint.deposits() == []
    assert mint.register_deposit(reserve_chain.deposit_txid, 0).status == "registered"
    assert counting.reads == 1
