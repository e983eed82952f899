"""BIP-174 test vectors: the JSON subset and the full "Test Vectors" section of the BIP."""

import json
import re
from pathlib import Path

import pytest
from embit import ec

from backends.wallet import (
    PsbtFormatError,
    PsbtSignerCheckError,
    check_signable,
    combine,
    extract,
    finalize,
    parse_psbt,
    serialize_psbt,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "bip174"
JSON = json.loads((VECTORS / "bip174-vectors.dev.json").read_text())
BIP_TEXT = (VECTORS / "bip-0174.mediawiki").read_text()


def _bip_cases(start: str, end: str) -> list[tuple[str, str]]:
    section = BIP_TEXT[BIP_TEXT.index("==Test Vectors==") :]
    part = section[section.index(start) : section.index(end)]
    return re.findall(r"\* Case: (.*?)\n\*\* Bytes in Hex: <pre>([0-9a-f]+)</pre>", part)


BIP_INVALID = _bip_cases("The following are invalid PSBTs", "The following are valid PSBTs")
BIP_VALID = _bip_cases("The following are valid PSBTs", "Fails Signer checks")
BIP_WORKFLOW = re.findall(
    r"Bytes in Hex: <pre>([0-9a-f]+)</pre>", BIP_TEXT[BIP_TEXT.index("A creator creating a PSBT") :]
)
(_CREATED, _UPDATED, _WITH_SIGHASH, SIGNED_A, SIGNED_B, COMBINED, FINALIZED, EXTRACTED) = BIP_WORKFLOW[:8]


def ids(cases):
    return [c["description"] for c in cases]


@pytest.mark.parametrize("case", JSON["valid"], ids=ids(JSON["valid"]))
def test_valid_vector_parses_and_serializes_back_byte_for_byte(case):
    psbt = parse_psbt(case["base64"])
    assert serialize_psbt(psbt, "base64") == case["base64"]
    assert serialize_psbt(psbt, "binary") == bytes.fromhex(case["hex"])
    assert serialize_psbt(parse_psbt(bytes.fromhex(case["hex"])), "hex") == case["hex"]


@pytest.mark.parametrize("case", JSON["invalid"], ids=ids(JSON["invalid"]))
def test_invalid_vector_is_refused_with_a_format_error(case):
    with pytest.raises(PsbtFormatError):
        parse_psbt(case["base64"])
    with pytest.raises(PsbtFormatError):
        parse_psbt(bytes.fromhex(case["hex"]))


@pytest.mark.parametrize("case", JSON["signer_check_failures"], ids=ids(JSON["signer_check_failures"]))
def test_signer_check_vector_parses_but_fails_the_signer_checks(case):
    psbt = parse_psbt(case["base64"])
    with pytest.raises(PsbtSignerCheckError):
        check_signable(psbt)


@pytest.mark.parametrize("case", JSON["workflows"], ids=[w["name"] for w in JSON["workflows"]])
def test_workflow_vector_combines_to_the_expected_psbt(case):
    combined = combine([parse_psbt(b64) for b64 in case["input_base64"]])
    assert serialize_psbt(combined) == case["expected_base64"]


@pytest.mark.parametrize("case", BIP_INVALID, ids=[c[0] for c in BIP_INVALID])
def test_bip_text_invalid_psbt_is_refused(case):
    with pytest.raises(PsbtFormatError):
        parse_psbt(bytes.fromhex(case[1]))


@pytest.mark.parametrize("case", BIP_VALID, ids=[c[0] for c in BIP_VALID])
def test_bip_text_valid_psbt_round_trips(case):
    assert parse_psbt(bytes.fromhex(case[1])).serialize().hex() == case[1]


def test_bip_workflow_has_all_roles():
    assert len(BIP_INVALID) >= 13 and len(BIP_VALID) >= 7 and len(BIP_WORKFLOW) == 11


def test_bip_workflow_signer_with_rfc6979_matches_first_signer():
    psbt = parse_psbt(bytes.fromhex(_WITH_SIGHASH))
    check_signable(psbt)
    for wif in ("cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQr", "cR6SXDoyfQrcp4piaiHE97Rsgta9mNhGTen9XeonVgwsh4iSgw6d"):
        psbt.sign_with(ec.PrivateKey.from_wif(wif), sighash=None)
    assert psbt.serialize().hex() == SIGNED_A


def test_bip_workflow_combiner():
    combined = combine([parse_psbt(bytes.fromhex(SIGNED_A)), parse_psbt(bytes.fromhex(SIGNED_B))])
    assert combined.serialize().hex() == COMBINED


def test_bip_workflow_finalizer_p2sh_multisig_and_p2sh_p2wsh():
    assert finalize(parse_psbt(bytes.fromhex(COMBINED))).serialize().hex() == FINALIZED


def test_bip_workflow_extractor():
    assert extract(parse_psbt(bytes.fromhex(FINALIZED))).hex() == EXTRACTED


def test_bip_workflow_combiner_for_unknown_keys_orders_keys_lexicographically():
    first, second, expected = BIP_WORKFLOW[8:11]
    combined = combine([parse_psbt(bytes.fromhex(first)), parse_psbt(bytes.fromhex(second))])
    assert combined.serialize().hex() == expected


def test_mutated_vectors_fail_only_with_typed_errors():
    """Random byte edits of every vector: parsing and every role raise CustodyErrors only."""
    import random

    from backends.errors import CustodyError

    seeds = [bytes.fromhex(c["hex"]) for c in JSON["valid"] + JSON["signer_check_failures"]]
    rng = random.Random(174)
    for _ in range(3000):
        raw = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(raw))
            roll = rng.random()
            if roll < 0.6:
                raw[pos] = rng.randrange(256)
            elif roll < 0.8:
                del raw[pos]
            else:
                raw.insert(pos, rng.randrange(256))
        try:
            psbt = parse_psbt(bytes(raw))
        except CustodyError:
            continue
        for role in (lambda: finalize(psbt), lambda: check_signable(psbt), lambda: combine([psbt, psbt]), psbt.fee):
            try:
                role()
            except CustodyError:
                pass
