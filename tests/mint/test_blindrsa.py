"""RSA blind signatures: the round trip a wallet relies on, and refusals of malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.errors import CustodyError
from backends.mint.blindrsa import (
    PublicKey,
    SecretKey,
    Variant,
    blind,
    blind_sign,
    finalize,
    int_to_bytes,
    prepare,
    verify,
)
from backends.mint.errors import InvalidBlindInput, InvalidSignature, MintKeyError
from tests.mint.rsa_keys import session_key_der

SK = SecretKey(session_key_der())
PK = SK.public_key
N_LEN = PK.modulus_len


@pytest.mark.parametrize("variant", list(Variant), ids=lambda v: v.value)
def test_a_note_blinded_signed_and_unblinded_verifies_and_binds_its_message(variant):
    prepared = prepare(b"note serial 0001", variant)
    blinded = blind(PK, prepared, variant)
    sig = finalize(PK, prepared, blind_sign(SK, blinded.blinded_msg), blinded.inv, variant)
    verify(PK, prepared, sig, variant)
    with pytest.raises(InvalidSignature):
        verify(PK, prepared + b"x", sig, variant)


def test_randomized_variants_prefix_32_fresh_bytes_and_deterministic_ones_do_not():
    assert prepare(b"m", Variant.PSS_DETERMINISTIC) == b"m"
    a, b = prepare(b"m", Variant.PSS_RANDOMIZED), prepare(b"m", Variant.PSS_RANDOMIZED)
    assert len(a) == 33 and a != b and a.endswith(b"m")
    with pytest.raises(InvalidBlindInput, match="32 bytes"):
        prepare(b"m", Variant.PSS_RANDOMIZED, b"short")


def test_the_mint_sees_a_different_blinded_message_for_the_same_note_each_time():
    prepared = prepare(b"same note", Variant.PSS_DETERMINISTIC)
    first = blind(PK, prepared, Variant.PSS_DETERMINISTIC)
    second = blind(PK, prepared, Variant.PSS_DETERMINISTIC)
    assert first.blinded_msg != second.blinded_msg


@given(st.binary(max_size=2 * N_LEN).filter(lambda b: len(b) != N_LEN))
def test_a_blinded_message_of_the_wrong_length_is_refused(data):
    with pytest.raises(InvalidBlindInput, match=f"must be {N_LEN} bytes"):
        blind_sign(SK, data)


@given(st.integers(min_value=PK.n, max_value=2 ** (8 * N_LEN) - 1))
def test_a_blinded_message_not_below_the_modulus_is_refused(value):
    with pytest.raises(InvalidBlindInput, match="not below"):
        blind_sign(SK, int_to_bytes(value, N_LEN))


@given(st.integers(min_value=0, max_value=PK.n - 1))
def test_any_value_below_the_modulus_is_signed_and_the_result_checks(value):
    signature = blind_sign(SK, int_to_bytes(value, N_LEN))
    assert pow(int.from_bytes(signature, "big"), PK.e, PK.n) == value


@given(st.binary(max_size=2 * N_LEN))
def test_finalize_refuses_anything_but_the_mints_signature(data):
    prepared = prepare(b"note", Variant.PSS_DETERMINISTIC)
    blinded = blind(PK, prepared, Variant.PSS_DETERMINISTIC)
    with pytest.raises((InvalidBlindInput, InvalidSignature)):
        finalize(PK, prepared, data, blinded.inv, Variant.PSS_DETERMINISTIC)


@given(st.binary(max_size=2 * N_LEN), st.sampled_from(list(Variant)))
def test_verify_refuses_arbitrary_signatures_with_a_typed_error(data, variant):
    with pytest.raises(InvalidSignature):
        verify(PK, b"note", data, variant)


def test_a_signature_under_one_variant_does_not_verify_under_the_other_salt_length():
    prepared = prepare(b"note", Variant.PSS_DETERMINISTIC)
    blinded = blind(PK, prepared, Variant.PSS_DETERMINISTIC)
    sig = finalize(PK, prepared, blind_sign(SK, blinded.blinded_msg), blinded.inv, Variant.PSS_DETERMINISTIC)
    with pytest.raises(InvalidSignature):
        verify(PK, prepared, sig, Variant.PSSZERO_DETERMINISTIC)


@given(st.binary(max_size=600))
def test_malformed_keys_are_typed_errors(data):
    with pytest.raises(InvalidBlindInput):
        PublicKey.from_der(data)
    with pytest.raises(MintKeyError):
        SecretKey(data)


def test_public_key_round_trips_through_der_and_weak_keys_are_refused():
    assert PublicKey.from_der(PK.to_der()) == PK
    with pytest.raises(InvalidBlindInput, match="at least 2048"):
        PublicKey(n=(1 << 1023) + 1, e=65537)
    with pytest.raises(InvalidBlindInput, match="exponent"):
        PublicKey(n=PK.n, e=2)
    with pytest.raises(MintKeyError, match="at least 2048"):
        SecretKey.generate_der(1024)


def test_unknown_variant_names_are_refused_with_the_choices():
    with pytest.raises(InvalidBlindInput, match="RSABSSA-SHA384-PSS-Randomized"):
        Variant.parse("RSABSSA-SHA256-PSS")


def test_secret_material_never_shows_in_repr_and_is_never_pickled():
    import pickle

    assert repr(SK) == "SecretKey(2048-bit, e=65537)"
    blinded = blind(PK, b"m", Variant.PSS_DETERMINISTIC)
    assert str(blinded.inv) not in repr(blinded)
    with pytest.raises(TypeError):
        pickle.dumps(SK)
    assert issubclass(InvalidBlindInput, CustodyError)


def test_a_faulty_private_operation_is_caught_and_nothing_is_released():
    from backends.mint.errors import SigningFailure

    for other in (1, 2, 3):  # another key's CRT gives a wrong result, below n or not
        faulty = SecretKey(session_key_der())
        faulty._operation = SecretKey(session_key_der(other))._operation
        with pytest.raises(SigningFailure, match="not released"):
            blind_sign(faulty, int_to_bytes(12345, N_LEN))
