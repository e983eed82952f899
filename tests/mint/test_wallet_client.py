"""The demo wallet's side of the protocol: amounts split into notes, and what it reads from a
mint (published keysets, outpoints typed on its command line) refused cleanly when malformed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.mint.keysets import Keyset
from backends.mint.wallet_client import BlindedNotes, MintClientError, PublishedKeyset, split_amount
from custody_tui.demo_mint import _outpoint

DENOMINATIONS = (1_000, 10_000, 100_000, 1_000_000)


@given(st.integers(min_value=1, max_value=10**9).map(lambda n: n * 1_000))
def test_an_amount_in_whole_denominations_splits_exactly_into_the_fewest_notes(amount):
    notes = split_amount(amount, DENOMINATIONS)
    assert sum(notes) == amount and notes == sorted(notes, reverse=True)
    assert all(notes.count(d) <= 9 for d in DENOMINATIONS[:-1])  # ten of a kind would be one bigger note


@given(st.integers(min_value=-10**6, max_value=10**9).filter(lambda n: n <= 0 or n % 1_000))
def test_an_amount_no_notes_can_make_is_refused(amount):
    with pytest.raises(MintClientError):
        split_amount(amount, DENOMINATIONS)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)


@given(st.dictionaries(st.sampled_from(["keyset_id", "variant", "keys", "active"]), JSON))
def test_a_malformed_published_keyset_is_refused_not_a_crash(data):
    try:
        PublishedKeyset.from_dict(data)
    except MintClientError:
        pass


@given(st.text(max_size=80))
def test_a_typed_outpoint_is_parsed_or_refused(text):
    try:
        txid, vout = _outpoint(text)
    except MintClientError:
        return
    assert isinstance(vout, int) and vout >= 0 and text.strip().startswith(txid)


def test_notes_unblind_into_notes_the_mints_keyset_verifies(tmp_path, keystore):
    from backends.mint.blindrsa import blind_sign
    from backends.mint.keysets import Signers
    from backends.mint.notes import check_notes
    from backends.mint.service import Mint

    mint = Mint(tmp_path / "data", keystore)
    try:
        keyset: Keyset = mint.create_keyset([1_000, 10_000])
        published = PublishedKeyset.from_dict(keyset.to_public_dict())
        pending = BlindedNotes(published, [10_000, 1_000])
        assert repr(pending) == "BlindedNotes(11000 sat in 2 notes)"  # no serial, no blinding factor
        signers = Signers(keystore)  # the mint's side of issuance, without a deposit
        sigs = [blind_sign(signers.get(keyset, r.amount_sat), r.blinded_msg) for r in pending.requests]
        notes = pending.unblind(sigs)
        assert [n.amount_sat for n in check_notes(notes, {keyset.keyset_id: keyset})] == [10_000, 1_000]
        with pytest.raises(MintClientError):
            pending.unblind(sigs[:1])
    finally:
        mint.close()
