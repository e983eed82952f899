"""Blind issuance against credited deposits, and notes spendable exactly once."""

from __future__ import annotations

import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.keystore import EntryKind, KeystoreLocked
from backends.mint.errors import (
    InvalidBlindInput,
    InvalidNote,
    IssuanceRefused,
    MintKeyError,
    NoteAlreadySpent,
    UnknownDenomination,
)
from backends.mint.issuance import BlindRequest
from backends.mint.notes import Note
from backends.mint.service import Mint
from tests.mint.conftest import DENOMINATIONS, DEPOSIT_SAT
from tests.mint.racing import race
from tests.mint.wallet_side import Pending, claim_of, credited_deposit, issue_notes


def _spent_count(mint) -> int:
    return mint.ledger.read("SELECT COUNT(*) FROM spent_notes")[0][0]


def test_notes_issued_against_a_credited_deposit_verify_and_debit_it(mint, reserve_chain):
    notes = issue_notes(mint, reserve_chain, [100_000, 10_000, 10_000, 1_000])
    assert [n.amount_sat for n in notes] == [100_000, 10_000, 10_000, 1_000]
    deposit = mint.deposits()[0]
    assert (deposit.issued_sat, deposit.available_sat) == (121_000, DEPOSIT_SAT - 121_000)
    assert mint.spend_notes(notes).total_sat == 121_000


def test_a_note_redeemed_twice_is_refused_and_nothing_changes(mint, reserve_chain):
    [note] = issue_notes(mint, reserve_chain, [10_000])
    mint.spend_notes([note])
    with pytest.raises(NoteAlreadySpent, match="already redeemed"):
        mint.spend_notes([note])
    assert _spent_count(mint) == 1


def test_a_spend_including_one_spent_note_spends_none_of_the_others(mint, reserve_chain):
    first, second, third = issue_notes(mint, reserve_chain, [1_000, 1_000, 10_000])
    mint.spend_notes([second])
    with pytest.raises(NoteAlreadySpent):
        mint.spend_notes([first, second, third])
    assert not mint.is_spent(first) and not mint.is_spent(third)
    assert mint.spend_notes([first, third]).total_sat == 11_000


def test_concurrent_redemptions_of_one_note_let_exactly_one_through(mint, reserve_chain, keystore):
    [note] = issue_notes(mint, reserve_chain, [100_000])
    data_dir = mint.ledger.path.parent
    mints = [Mint(data_dir, keystore) for _ in range(6)]
    outcomes = race(mints, lambda other: other.spend_notes([note]), NoteAlreadySpent)
    assert outcomes == ["ok"] + ["refused"] * 5
    assert _spent_count(mint) == 1


def test_the_ledger_holds_a_spent_note_by_its_hash_only(mint, reserve_chain):
    [note] = issue_notes(mint, reserve_chain, [1_000])
    mint.spend_notes([note])
    for path in mint.ledger.path.parent.glob("mint.sqlite3*"):
        data = path.read_bytes()
        assert note.message not in data and note.signature not in data
        assert note.message.hex().encode() not in data
    assert mint.ledger.read("SELECT note_hash FROM spent_notes") == [(note.note_hash,)]


def test_the_ledger_is_private_and_in_wal_mode(mint):
    assert stat.S_IMODE(os.stat(mint.ledger.path).st_mode) == 0o600
    assert mint.ledger.read("PRAGMA journal_mode") == [("wal",)]


def test_a_forged_note_is_refused_naming_it(mint, reserve_chain):
    [note] = issue_notes(mint, reserve_chain, [1_000])
    forged = Note(note.keyset_id, 100_000, note.message, note.signature)  # claims a bigger denomination
    with pytest.raises(InvalidNote, match="note 1 .100000 sat. does not carry a valid signature"):
        mint.spend_notes([forged])
    assert _spent_count(mint) == 0


def test_issuance_beyond_the_deposit_is_refused_and_debits_nothing(mint, reserve_chain):
    deposit = credited_deposit(mint, reserve_chain)
    pending = Pending(mint.keyset(), [100_000, 100_000])
    with pytest.raises(IssuanceRefused, match=f"ask for 200000 sat; deposit .* has {DEPOSIT_SAT} sat left"):
        mint.issue_blind(deposit.reference, pending.requests, claim_secret=claim_of(mint, deposit))
    assert mint.deposit(deposit.reference).issued_sat == 0
    assert mint.ledger.read("SELECT COUNT(*) FROM blind_sigs") == [(0,)]


def test_a_repeated_request_gets_the_same_signatures_without_a_second_debit(mint, reserve_chain):
    deposit = credited_deposit(mint, reserve_chain)
    pending = Pending(mint.keyset(), [10_000, 1_000])
    first = mint.issue_blind(deposit.reference, pending.requests, claim_secret=claim_of(mint, deposit))
    again = mint.issue_blind(deposit.reference, pending.requests, claim_secret=claim_of(mint, deposit))
    assert again.replayed and again.blind_sigs == first.blind_sigs
    assert mint.deposit(deposit.reference).issued_sat == 11_000
    other = Pending(mint.keyset(), [1_000])
    with pytest.raises(IssuanceRefused, match="already signed"):
        mint.issue_blind(deposit.reference, [pending.requests[0], other.requests[0]],
                          claim_secret=claim_of(mint, deposit))


def test_unknown_denominations_are_refused_with_the_sets_denominations(mint, reserve_chain):
    deposit = credited_deposit(mint, reserve_chain)
    request = Pending(mint.keyset(), [1_000]).requests[0]
    with pytest.raises(UnknownDenomination, match="1000, 10000, 100000"):
        mint.issue_blind(deposit.reference, [BlindRequest(5_000, request.blinded_msg)],
                          claim_secret=claim_of(mint, deposit))


def test_a_locked_keystore_refuses_issuance_and_debits_nothing(mint, reserve_chain, keystore):
    deposit = credited_deposit(mint, reserve_chain)
    keystore.lock()
    with pytest.raises(KeystoreLocked):
        mint.issue_blind(deposit.reference, Pending(mint.keyset(), [1_000]).requests,
                         claim_secret=claim_of(mint, deposit))
    assert mint.deposit(deposit.reference).issued_sat == 0


def test_each_denomination_has_its_own_rsa_key_in_the_keystore(mint, keystore):
    keyset = mint.keyset()
    entries = {e.label: e for e in keystore.entries() if e.kind is EntryKind.RSA}
    assert len(entries) == len(DENOMINATIONS)
    for amount in DENOMINATIONS:
        entry = entries[f"mint-{keyset.keyset_id}-{amount}"]
        assert entry.public["amount_sat"] == amount and entry.public["mint_keyset"] == keyset.keyset_id
    assert len({keyset.public_key(a).n for a in DENOMINATIONS}) == len(DENOMINATIONS)


def test_a_replaced_keystore_key_is_detected_before_signing(mint, reserve_chain, keystore):
    from tests.mint.rsa_keys import session_key_der

    keyset = mint.keyset()
    label = f"mint-{keyset.keyset_id}-1000"
    keystore.delete(label)
    keystore.add_secret(label, "rsa", session_key_der(11))
    deposit = credited_deposit(mint, reserve_chain)
    with pytest.raises(MintKeyError, match="was replaced"):
        mint.issue_blind(deposit.reference, Pending(keyset, [1_000]).requests,
                          claim_secret=claim_of(mint, deposit))


def test_after_rotation_old_notes_still_redeem_but_the_old_set_no_longer_issues(mint, reserve_chain):
    old = mint.keyset()
    [note] = issue_notes(mint, reserve_chain, [1_000])
    new = mint.create_keyset([1_000, 2_000])
    assert mint.keyset().keyset_id == new.keyset_id != old.keyset_id
    assert mint.spend_notes([note]).total_sat == 1_000
    deposit = credited_deposit(mint, reserve_chain)
    with pytest.raises(IssuanceRefused, match="no longer issues"):
        mint.issue_blind(deposit.reference, Pending(old, [1_000]).requests,
                         claim_secret=claim_of(mint, deposit), keyset_id=old.keyset_id)


def test_denomination_sets_must_be_explicit_and_sane(mint):
    for bad in ([], [0], [1_000, 1_000], [True], [1.5], list(range(1, 70))):
        with pytest.raises(MintKeyError):
            mint.create_keyset(bad)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
def test_malformed_blinded_messages_are_refused_and_debit_nothing(mint, reserve_chain, messages):
    deposit = credited_deposit(mint, reserve_chain)
    with pytest.raises((InvalidBlindInput, UnknownDenomination)):
        mint.issue_blind(deposit.reference, [BlindRequest(1_000, m) for m in messages],
                          claim_secret=claim_of(mint, deposit))
    assert mint.deposit(deposit.reference).issued_sat == 0


@given(st.one_of(
    st.dictionaries(st.sampled_from(["keyset_id", "amount_sat", "message", "signature"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=8), st.booleans())),
    st.lists(st.integers()), st.text(max_size=5), st.none(),
))
def test_malformed_notes_are_typed_errors(data):
    with pytest.raises(InvalidNote):
        Note.from_dict(data)


@given(st.one_of(
    st.dictionaries(st.sampled_from(["amount_sat", "blinded_msg"]),
                    st.one_of(st.none(), st.integers(), st.text(max_size=8), st.booleans())),
    st.integers(), st.none(),
))
def test_malformed_blind_requests_are_typed_errors(data):
    try:
        request = BlindRequest.from_dict(data)
    except InvalidBlindInput:
        return
    assert request.amount_sat > 0 and isinstance(request.blinded_msg, bytes)


def test_a_note_round_trips_through_json_and_hides_its_message_in_repr(mint, reserve_chain):
    [note] = issue_notes(mint, reserve_chain, [1_000])
    assert Note.from_dict(note.to_dict()) == note
    assert note.message.hex() not in repr(note)
