"""BIP-445 official vectors, one parametrised test per vector file."""

from __future__ import annotations

import pytest

from backends.mpc import frost
from backends.mpc.errors import InvalidContributionError, MpcError, NonceReuseError

from .vectors import cases, h, load

S = "bip445"

# the reference raises ValueError with these texts; ours names the same check
CHECK_OF_MESSAGE = {
    "The participant identifier list contains duplicate elements.": "duplicate_ids",
    "The signer's pubshare must be included in the list of pubshares.": "pubshare_not_in_list",
    "The participant identifier at index 0 is out of range.": "id_range",
    "The provided key material is incorrect.": "thresh_pk_mismatch",
    "The number of signers must be between t and n.": "signer_count",
    "Invalid pubshare at index 0.": "pubshare_invalid",
    "Invalid pubshare at index 1.": "pubshare_invalid",
    "The tweak value is out of range.": "tweak_range",
    "The psigs and ids arrays must have the same length.": "psig_count",
    "first secnonce value is out of range.": "secnonce_first_range",
    "second secnonce value is out of range.": "secnonce_second_range",
    "The signer's secret share value is out of range.": "secshare_range",
    "The result of tweaking cannot be infinity.": "tweak_infinity",
    "The tweaks and is_xonly arrays must have the same length.": "tweak_count",
    "The tweak must be a 32-byte array.": "tweak_length",
}


def expect_error(error: dict):
    """A context manager asserting our typed error matches the vector's error object."""

    class _Check:
        def __enter__(self):
            return self

        def __exit__(self, typ, exc, tb):
            assert exc is not None, f"expected {error}"
            assert isinstance(exc, MpcError), f"untyped error {typ}: {exc}"
            if error["type"] == "InvalidContributionError":
                assert isinstance(exc, InvalidContributionError)
                assert exc.contrib == error["contrib"]
                assert exc.participant == error["signer_index"]
            else:
                assert exc.check == CHECK_OF_MESSAGE[error["message"]], (exc.check, error["message"])
                index = error["message"].rsplit(" ", 1)[-1].rstrip(".")
                if index.isdigit():  # "... at index 1." names the culprit's position
                    assert exc.participant == int(index)
            return True

    return _Check()


def signers_ctx(group: dict, case: dict) -> frost.SignersCtx:
    pubshares = [h(group["pubshares"][i]) for i in case["pubshare_indices"]]
    return frost.SignersCtx(group["n"], group["t"], tuple(case["ids"]), tuple(pubshares), h(group["thresh_pk"]))


def tweaks_of(group: dict, case: dict) -> tuple[tuple[bytes, ...], tuple[bool, ...]]:
    if "tweak_indices" in case:
        return tuple(h(group["tweaks"][i]) for i in case["tweak_indices"]), tuple(case["is_xonly"])
    return tuple(h(t) for t in case.get("tweaks", [])), tuple(case.get("is_xonly", []))


@pytest.mark.parametrize("group,kind,case", cases(load(S, "nonce_gen_vectors.dev.json"), "valid_tests"))
def test_nonce_gen_vectors(group, kind, case):
    secnonce, pubnonce = frost.nonce_gen_internal(
        h(case["rand_"]), h(case["secshare"]), h(case["pubshare"]), h(case["thresh_pk"]), h(case["msg"]), h(case["extra_in"])
    )
    raw, _ = secnonce.consume()
    assert [raw.hex().upper(), pubnonce.hex().upper()] == case["expected"]


@pytest.mark.parametrize("group,kind,case", cases(load(S, "nonce_agg_vectors.dev.json"), "valid_tests", "error_tests"))
def test_nonce_agg_vectors(group, kind, case):
    pubnonces = [h(group["pubnonces"][i]) for i in case["pubnonce_indices"]]
    if kind == "valid_tests":
        assert frost.nonce_agg(pubnonces).hex().upper() == case["expected"]
    else:
        with expect_error(case["error"]):
            frost.nonce_agg(pubnonces)


def _sign_case(group, case):
    ctx = signers_ctx(group, case)
    tweaks, is_xonly = tweaks_of(group, case)
    session = frost.SessionCtx(ctx, h(case["aggnonce"]), tweaks, is_xonly, h(case["msg"]))
    secnonce = frost.SecNonce(h(group["secnonces"][case["secnonce_index"]]))
    return frost.sign(secnonce, h(group["secshares"][case["secshare_index"]]), case["my_id"], session), secnonce


@pytest.mark.parametrize(
    "group,kind,case",
    cases(load(S, "sign_verify_vectors.dev.json"), "valid_tests", "sign_error_tests", "verify_fail_tests", "verify_error_tests"),
)
def test_sign_verify_vectors(group, kind, case):
    if kind == "valid_tests":
        psig, secnonce = _sign_case(group, case)
        assert psig.hex().upper() == case["expected"]
        assert secnonce.used
        ctx = signers_ctx(group, case)
        pubnonces = [h(group["pubnonces"][i]) for i in case["pubnonce_indices"]]
        assert frost.nonce_agg(pubnonces).hex().upper() == case["aggnonce"]
        index = case["ids"].index(case["my_id"])
        assert frost.partial_sig_verify(psig, pubnonces, ctx, [], [], h(case["msg"]), index)
    elif kind == "sign_error_tests":
        with expect_error(case["error"]):
            _sign_case(group, case)
    else:
        ctx_args = signers_ctx(group, case)
        pubnonces = [h(group["pubnonces"][i]) for i in case["pubnonce_indices"]]
        call = lambda: frost.partial_sig_verify(h(case["psig"]), pubnonces, ctx_args, [], [], h(case["msg"]), case["signer_index"])  # noqa: E731
        if kind == "verify_fail_tests":
            assert call() is False
        else:
            with expect_error(case["error"]):
                call()


@pytest.mark.parametrize("group,kind,case", cases(load(S, "tweak_vectors.dev.json"), "valid_tests", "error_tests"))
def test_tweak_vectors(group, kind, case):
    if kind == "valid_tests":
        psig, _ = _sign_case(group, case)
        assert psig.hex().upper() == case["expected"]
        tweaks, is_xonly = tweaks_of(group, case)
        pubnonces = [h(group["pubnonces"][i]) for i in case["pubnonce_indices"]]
        index = case["ids"].index(case["my_id"])
        assert frost.partial_sig_verify(psig, pubnonces, signers_ctx(group, case), tweaks, is_xonly, h(case["msg"]), index)
    else:
        with expect_error(case["error"]):
            _sign_case(group, case)


@pytest.mark.parametrize("group,kind,case", cases(load(S, "det_sign_vectors.dev.json"), "valid_tests", "error_tests"))
def test_det_sign_vectors(group, kind, case):
    tweaks, is_xonly = tweaks_of(group, case)

    def call():
        return frost.deterministic_sign(
            h(group["secshares"][case["secshare_index"]]), case["my_id"], h(case["aggothernonce"]),
            signers_ctx(group, case), tweaks, is_xonly, h(case["msg"]), h(case["rand"]),
        )

    if kind == "valid_tests":
        pubnonce, psig = call()
        assert [pubnonce.hex().upper(), psig.hex().upper()] == case["expected"]
    else:
        with expect_error(case["error"]):
            call()


@pytest.mark.parametrize("group,kind,case", cases(load(S, "sig_agg_vectors.dev.json"), "valid_tests", "error_tests"))
def test_sig_agg_vectors(group, kind, case):
    tweaks, is_xonly = tweaks_of(group, case)
    session = frost.SessionCtx(signers_ctx(group, case), h(case["aggnonce"]), tweaks, is_xonly, h(case["msg"]))
    psigs = [h(p) for p in case["psigs"]]
    if kind == "valid_tests":
        sig = frost.partial_sig_agg(psigs, session)
        assert sig.hex().upper() == case["expected"]
        from backends.mpc.bip340 import schnorr_verify

        xonly = frost.get_session_values(session).Q.to_bytes_xonly()
        assert schnorr_verify(h(case["msg"]), xonly, sig)
    else:
        with expect_error(case["error"]):
            frost.partial_sig_agg(psigs, session)


def test_a_secret_nonce_signs_once():
    data = load(S, "sign_verify_vectors.dev.json")
    group = data["test_groups"][0]
    case = group["valid_tests"][0]
    _, secnonce = _sign_case(group, case)
    ctx = signers_ctx(group, case)
    session = frost.SessionCtx(ctx, h(case["aggnonce"]), (), (), h(case["msg"]))
    with pytest.raises(NonceReuseError):
        frost.sign(secnonce, h(group["secshares"][0]), 0, session)
