"""Reserve attestations: signed at a block, verifiable offline, a tampered field named."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.keystore import EntryKind
from backends.mint.attestation import FIELDS, AttestationError, verify_attestation
from tests.chain.funding import BURN_ADDRESS
from tests.mint.hot_reserve import PAYOUT_ADDRESS


@pytest.fixture
def attestation(rig):
    rig.mint.create_redemption(rig.notes([10_000]), PAYOUT_ADDRESS)
    return rig.mint.attest("op-alice")


def test_an_attestation_states_reserves_and_liabilities_at_the_tip_and_verifies(rig, attestation):
    fields = verify_attestation(json.loads(json.dumps(attestation)))  # as read back from a file
    tip = rig.chain.tip()
    assert (fields["height"], fields["block_hash"]) == (tip.height, tip.hash_hex)
    books = rig.mint.accounting()
    assert fields["liabilities_sat"] == books.liabilities_sat and fields["reserves_sat"] == 2 * 5_000_000_000
    assert fields["surplus_sat"] == fields["reserves_sat"] - fields["liabilities_sat"]
    assert fields["requested_by"] == "op-alice" and fields["mint_id"] == rig.mint.mint_id
    assert rig.keystore.entry("mint-attestation").kind is EntryKind.NOSTR
    assert verify_attestation(attestation, expected_pubkey=rig.mint.attestation_pubkey())


@pytest.mark.parametrize("name", ["reserves_sat", "liabilities_sat", "height", "block_hash", "requested_by"])
def test_a_tampered_field_fails_naming_it(attestation, name):
    value = attestation[name]
    attestation[name] = value + 1 if isinstance(value, int) else value[:-1] + ("0" if value[-1] != "0" else "1")
    with pytest.raises(AttestationError, match=f"field '{name}' was altered"):
        verify_attestation(attestation)


def test_a_forged_signature_or_key_fails(rig, attestation):
    forged = dict(attestation, signature="00" * 64)
    with pytest.raises(AttestationError, match="'signature' does not verify"):
        verify_attestation(forged)
    other = dict(attestation, commitments={**attestation["commitments"], "reserves_sat": "00" * 32})
    with pytest.raises(AttestationError, match="does not verify"):
        verify_attestation(other)
    with pytest.raises(AttestationError, match="not the mint's attestation key"):
        verify_attestation(attestation, expected_pubkey="11" * 32)


def test_each_attestation_is_at_the_current_tip(rig, attestation):
    rig.chain.mine(1, BURN_ADDRESS)
    later = rig.mint.attest("op-bob")
    assert later["height"] == attestation["height"] + 1 and later["pubkey"] == attestation["pubkey"]


@given(st.one_of(
    st.dictionaries(st.sampled_from(sorted(FIELDS) + ["commitments", "signature", "extra"]),
                    st.one_of(st.integers(), st.text(max_size=10), st.none(), st.booleans())),
    st.lists(st.integers()), st.text(max_size=5), st.none(),
))
def test_malformed_attestations_are_typed_errors(data):
    with pytest.raises(AttestationError):
        verify_attestation(data)
