"""Every parser of outside input, fed random or mutated bytes, returns or raises MpcError: never a crash."""

from __future__ import annotations

from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.mpc import chilldkg, frost
from backends.mpc.bip340 import schnorr_verify
from backends.mpc.dealer import trusted_dealer_keygen
from backends.mpc.errors import MpcError, UnknownFaultyParticipantOrCoordinatorError
from backends.mpc.secp import ORDER, Scalar, cpoint, cpoint_ext, lift_x

EXAMPLES = settings(max_examples=60)


def typed_or_ok(fn, *args):
    try:
        return fn(*args)
    except MpcError:
        return None


def mutated(valid: bytes):
    """Random bytes, or a valid message with one byte changed, truncated or extended."""
    return st.one_of(
        st.binary(min_size=0, max_size=len(valid) + 40),
        st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)).map(
            lambda p: valid[: p[0]] + bytes([valid[p[0]] ^ p[1]]) + valid[p[0] + 1 :]
        ),
        st.integers(0, len(valid) - 1).map(lambda k: valid[:k]),
        st.binary(min_size=1, max_size=40).map(lambda extra: valid + extra),
    )


@EXAMPLES
@given(st.binary(max_size=70))
def test_point_and_scalar_parsers(data):
    for fn in (cpoint, cpoint_ext, lift_x, Scalar.from_bytes_checked, Scalar.from_bytes_nonzero_checked):
        typed_or_ok(fn, data)


@EXAMPLES
@given(st.binary(max_size=40), st.binary(max_size=70), st.binary(max_size=64))
def test_bip340_verify_never_raises(pubkey, sig, msg):
    assert schnorr_verify(msg, pubkey, sig) in (True, False)


@lru_cache(maxsize=1)
def signing_setup():
    keys = trusted_dealer_keygen(2, 3)
    ids = (0, 1)
    ctx = frost.SignersCtx(3, 2, ids, keys.pubshares[:2], keys.thresh_pk)
    pubnonces = [frost.nonce_gen(keys.secshares[i])[1] for i in ids]
    return keys, ctx, pubnonces


@EXAMPLES
@given(st.lists(st.binary(min_size=60, max_size=70), min_size=1, max_size=3))
def test_nonce_agg_on_random_pubnonces(pubnonces):
    typed_or_ok(frost.nonce_agg, pubnonces)


@EXAMPLES
@given(st.data())
def test_session_and_partial_signature_parsers(data):
    keys, ctx, pubnonces = signing_setup()
    aggnonce = frost.nonce_agg(pubnonces)
    bad_aggnonce = data.draw(mutated(aggnonce))
    psig = data.draw(st.binary(min_size=0, max_size=40))
    pubnonce = data.draw(mutated(pubnonces[1]))
    tweak = data.draw(st.binary(min_size=0, max_size=40))
    session = frost.SessionCtx(ctx, bad_aggnonce, (tweak,), (data.draw(st.booleans()),), b"m")
    typed_or_ok(frost.get_session_values, session)
    typed_or_ok(frost.partial_sig_verify, psig, [pubnonces[0], pubnonce], ctx, (), (), b"m", 1)
    typed_or_ok(frost.partial_sig_agg, [psig, psig], frost.SessionCtx(ctx, aggnonce, (), (), b"m"))
    secnonce = typed_or_ok(frost.SecNonce, data.draw(st.binary(min_size=0, max_size=70)))
    if secnonce is not None:
        typed_or_ok(frost.sign, secnonce, keys.secshares[0], 0, frost.SessionCtx(ctx, aggnonce, (), (), b"m"))


@EXAMPLES
@given(st.lists(st.binary(min_size=30, max_size=34), min_size=0, max_size=4), st.integers(-1, 5), st.binary(max_size=34))
def test_signers_context_from_random_keys(pubshares, t, thresh_pk):
    ids = tuple(range(len(pubshares)))
    typed_or_ok(frost.validate_signers_ctx, frost.SignersCtx(4, t, ids, tuple(pubshares), thresh_pk))


# --- ChillDKG messages ------------------------------------------------------------------


@lru_cache(maxsize=1)
def dkg_setup():
    seckeys = [bytes([i + 1]) * 32 for i in range(3)]
    params = chilldkg.SessionParams(tuple(chilldkg.hostpubkey_gen(k) for k in seckeys), 2)
    round1 = [chilldkg.participant_step1(k, params, bytes([9 + i]) * 32) for i, k in enumerate(seckeys)]
    pmsgs1 = [m for _, m in round1]
    cstate, cmsg1 = chilldkg.coordinator_step1(pmsgs1, params)
    round2 = [chilldkg.participant_step2(k, s, cmsg1, bytes(32)) for k, (s, _) in zip(seckeys, round1)]
    cmsg2, _, recovery = chilldkg.coordinator_finalize(cstate, [m for _, m in round2])
    return seckeys, params, round1, pmsgs1, cstate, cmsg1, round2, cmsg2, recovery


@EXAMPLES
@given(st.binary(max_size=40), st.lists(st.binary(min_size=32, max_size=34), max_size=4), st.integers(-1, 5))
def test_host_keys_and_params(hostseckey, hostpubkeys, t):
    typed_or_ok(chilldkg.hostpubkey_gen, hostseckey)
    typed_or_ok(chilldkg.params_hash, chilldkg.SessionParams(tuple(hostpubkeys), t))


@EXAMPLES
@given(st.data())
def test_coordinator_parsers(data):
    _, params, _, pmsgs1, cstate, _, round2, _, _ = dkg_setup()
    bad = data.draw(mutated(pmsgs1[1]))
    typed_or_ok(chilldkg.coordinator_step1, [pmsgs1[0], bad, pmsgs1[2]], params)
    typed_or_ok(chilldkg.coordinator_investigate, [pmsgs1[0], bad, pmsgs1[2]], params)
    sig = data.draw(mutated(round2[2][1]))
    typed_or_ok(chilldkg.coordinator_finalize, cstate, [round2[0][1], round2[1][1], sig])


@EXAMPLES
@given(st.data())
def test_participant_parsers(data):
    seckeys, _, round1, _, _, cmsg1, round2, cmsg2, _ = dkg_setup()
    typed_or_ok(chilldkg.participant_step2, seckeys[0], round1[0][0], data.draw(mutated(cmsg1)), bytes(32))
    typed_or_ok(chilldkg.participant_finalize, round2[0][0], data.draw(mutated(cmsg2)))


@EXAMPLES
@given(st.data())
def test_recovery_parsers(data):
    seckeys, params, _, _, _, _, _, _, recovery = dkg_setup()
    bad = data.draw(mutated(recovery))
    typed_or_ok(chilldkg.coordinator_recover, bad)
    typed_or_ok(chilldkg.participant_recover, seckeys[1], bad)
    typed_or_ok(chilldkg.participant_recovery_acks_verify, bad, params, [bytes(64)] * 3)


@settings(max_examples=30)
@given(st.data())
def test_investigation_parser(data):
    seckeys, params, round1, pmsgs1, _, cmsg1, _, _, _ = dkg_setup()
    # a coordinator that corrupts participant 0's encrypted share makes step 2 ask for an investigation
    n = 3
    k = len(cmsg1) - 32 * n
    share = (int.from_bytes(cmsg1[k : k + 32], "big") + 1) % ORDER
    tampered = cmsg1[:k] + share.to_bytes(32, "big") + cmsg1[k + 32 :]
    with pytest.raises(UnknownFaultyParticipantOrCoordinatorError) as info:
        chilldkg.participant_step2(seckeys[0], round1[0][0], tampered, bytes(32))
    cinv = chilldkg.coordinator_investigate(pmsgs1, params)[0]
    typed_or_ok(chilldkg.participant_investigate, info.value, data.draw(mutated(cinv)))
