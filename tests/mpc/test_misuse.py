"""Misuse of the signing and key-generation API is refused with a typed error naming who and what."""

from __future__ import annotations

import os

import pytest

from backends.mpc import frost, taproot
from backends.mpc.bip340 import schnorr_verify
from backends.mpc.dealer import trusted_dealer_keygen
from backends.mpc.errors import InvalidContributionError, InvalidInputError, MpcError, NonceReuseError
from backends.mpc.inmemory import run_in_memory
from backends.mpc.secp import ORDER, Scalar, cpoint, lift_x

MSG = bytes(range(32))


@pytest.fixture(scope="module")
def keys():
    return trusted_dealer_keygen(2, 3)


def session_for(keys, ids, msg=MSG, tweaks=(), is_xonly=()):
    ctx = frost.SignersCtx(3, 2, ids, tuple(keys.pubshares[i] for i in ids), keys.thresh_pk)
    nonces = [frost.nonce_gen(keys.secshares[i], keys.pubshares[i], None, msg) for i in ids]
    pubnonces = [p for _, p in nonces]
    return ctx, nonces, pubnonces, frost.SessionCtx(ctx, frost.nonce_agg(pubnonces), tweaks, is_xonly, msg)


def test_a_secret_nonce_used_twice_raises_and_is_zeroed(keys):
    ctx, nonces, _, session = session_for(keys, (0, 1))
    secnonce = nonces[0][0]
    frost.sign(secnonce, keys.secshares[0], 0, session)
    assert secnonce.used and repr(secnonce) == "SecNonce(used)"
    with pytest.raises(NonceReuseError):
        frost.sign(secnonce, keys.secshares[0], 0, session)
    # even for a different message: the nonce is gone, not merely marked
    _, _, _, other = session_for(keys, (0, 1), msg=os.urandom(32))
    with pytest.raises(NonceReuseError):
        frost.sign(secnonce, keys.secshares[0], 0, other)


def test_a_secret_nonce_cannot_be_pickled_or_printed(keys):
    import pickle

    secnonce, _ = frost.nonce_gen(keys.secshares[0])
    with pytest.raises(TypeError):
        pickle.dumps(secnonce)
    assert "unused" in repr(secnonce)


def test_a_partial_signature_from_a_wrong_share_fails_verification_and_names_the_signer(keys):
    ids = (0, 2)
    ctx, nonces, pubnonces, session = session_for(keys, ids)
    # signer id 2 signing with participant 1's share: Sign itself refuses (its pubshare is not in the set)...
    with pytest.raises(InvalidInputError) as info:
        frost.sign(nonces[1][0], keys.secshares[1], 2, session)
    assert info.value.check == "pubshare_not_in_list"
    # ...so a cheater does the share arithmetic itself: s = k1 + b·k2 + e·λ·g·d with the wrong d
    ctx, nonces, pubnonces, session = session_for(keys, ids)
    sv = frost.get_session_values(session)
    raw, _ = nonces[1][0].consume()
    k1, k2 = Scalar.from_bytes_wrapping(raw[:32]), Scalar.from_bytes_wrapping(raw[32:])
    if not sv.R.has_even_y():
        k1, k2 = -k1, -k2
    g = Scalar(1) if sv.Q.has_even_y() else Scalar(-1)
    lam = frost.derive_interpolating_value(ids, 2)
    wrong = (k1 + sv.b * k2 + sv.e * lam * g * Scalar.from_bytes_wrapping(keys.secshares[1])).to_bytes()
    honest = frost.sign(nonces[0][0], keys.secshares[0], 0, session)
    assert frost.partial_sig_verify(honest, pubnonces, ctx, (), (), MSG, 0)
    assert not frost.partial_sig_verify(wrong, pubnonces, ctx, (), (), MSG, 1)
    with pytest.raises(InvalidContributionError) as blamed:
        frost.check_partial_sigs([honest, wrong], pubnonces, ctx, (), (), MSG)
    assert blamed.value.participant == 1 and blamed.value.contrib == "psig"
    assert "signer id 2" in str(blamed.value)


def test_duplicate_signer_ids_are_refused(keys):
    ctx = frost.SignersCtx(3, 2, (0, 0), (keys.pubshares[0], keys.pubshares[0]), keys.thresh_pk)
    with pytest.raises(InvalidInputError) as info:
        frost.validate_signers_ctx(ctx)
    assert info.value.check == "duplicate_ids"


def test_signer_order_does_not_change_the_signature_since_the_spec_sorts_ids():
    # deterministic signing binds the sorted set: (0, 2) and (2, 0) give the same partial signature
    keys = trusted_dealer_keygen(2, 3)
    other_nonce = frost.nonce_gen(keys.secshares[0])[1]
    results = []
    for ids in ((0, 2), (2, 0)):
        ctx = frost.SignersCtx(3, 2, ids, tuple(keys.pubshares[i] for i in ids), keys.thresh_pk)
        results.append(frost.deterministic_sign(keys.secshares[2], 2, other_nonce, ctx, (), (), MSG, None))
    assert results[0] == results[1]


def test_out_of_range_ids_and_too_few_signers_are_refused(keys):
    with pytest.raises(InvalidInputError) as info:
        frost.validate_signers_ctx(frost.SignersCtx(3, 2, (0, 3), (keys.pubshares[0], keys.pubshares[1]), keys.thresh_pk))
    assert info.value.check == "id_range" and info.value.participant == 1
    with pytest.raises(InvalidInputError) as info:
        frost.validate_signers_ctx(frost.SignersCtx(3, 2, (0,), (keys.pubshares[0],), keys.thresh_pk))
    assert info.value.check == "signer_count"


@pytest.mark.parametrize(
    "data,check",
    [
        (b"\x02" + bytes(31), "point_length"),
        (b"\x04" + bytes(32), "point_encoding"),
        (b"\x02" + (2**256 - 2**32 - 977).to_bytes(32, "big"), "point_not_on_curve"),  # x = p
        (b"\x02" + (5).to_bytes(32, "big"), "point_not_on_curve"),  # 5^3 + 7 has no square root
    ],
)
def test_malformed_points_raise_the_typed_error(data, check):
    with pytest.raises(InvalidInputError) as info:
        cpoint(data)
    assert info.value.check == check


def test_scalars_at_or_above_the_group_order_are_refused():
    for value in (ORDER, ORDER + 1, 2**256 - 1):
        with pytest.raises(InvalidInputError) as info:
            Scalar.from_bytes_checked(value.to_bytes(32, "big"), "psig")
        assert info.value.check == "psig_range"
    with pytest.raises(InvalidInputError):
        Scalar.from_bytes_nonzero_checked(bytes(32), "secshare")


def test_partial_signature_at_the_group_order_is_blamed_on_its_signer(keys):
    ctx, nonces, pubnonces, session = session_for(keys, (0, 1))
    psig0 = frost.sign(nonces[0][0], keys.secshares[0], 0, session)
    with pytest.raises(InvalidContributionError) as info:
        frost.partial_sig_agg([psig0, ORDER.to_bytes(32, "big")], session)
    assert info.value.participant == 1 and info.value.check == "psig"


def test_tweaked_signature_verifies_only_under_the_taproot_output_key():
    dkg = run_in_memory(2, 3)
    out = dkg.coordinator_output
    ids = (1, 2)
    ctx = frost.SignersCtx(3, 2, ids, tuple(out.pubshares[i] for i in ids), out.thresh_pk)
    tweaks, is_xonly = taproot.signing_tweaks(out.thresh_pk)
    nonces = [frost.nonce_gen(dkg.outputs[i].secshare) for i in ids]
    session = frost.SessionCtx(ctx, frost.nonce_agg([p for _, p in nonces]), tweaks, is_xonly, MSG)
    sig = frost.partial_sig_agg(
        [frost.sign(s, dkg.outputs[i].secshare, i, session) for (s, _), i in zip(nonces, ids)], session
    )
    assert schnorr_verify(MSG, bytes(taproot.output_key(out.thresh_pk)), sig)
    assert not schnorr_verify(MSG, out.thresh_pk[1:], sig)
    assert lift_x(bytes(taproot.output_key(out.thresh_pk))).has_even_y()


def test_no_secret_appears_in_reprs_or_error_messages():
    dkg = run_in_memory(2, 3)
    share = dkg.outputs[0].secshare
    texts = [repr(dkg), repr(dkg.outputs[0]), repr(Scalar.from_bytes_wrapping(share))]
    try:
        frost.sign(frost.SecNonce(bytes(64)), share, 0, frost.SessionCtx(
            frost.SignersCtx(3, 2, (0, 1), dkg.coordinator_output.pubshares[:2], dkg.coordinator_output.thresh_pk),
            bytes(66), (), (), MSG))
    except MpcError as exc:
        texts += [str(exc), repr(exc)]
    for text in texts:
        assert share.hex() not in text.lower()
        assert share.hex().upper() not in text
    assert "<hidden>" in repr(dkg.outputs[0])
