"""RFC 9474 vectors: every variant blinds, signs, unblinds and verifies to the published bytes."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

from backends.mint.blindrsa import SecretKey, Variant, blind, blind_sign, finalize, prepare, verify
from tests.mint.rsa_keys import der_from_numbers

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "rfc9474"


def _hex(value: str) -> str:
    return value[2:] if value.startswith("0x") else value


def _draft_text_vectors() -> list[dict[str, str]]:
    """The "Test Vectors" section of the draft: '## NAME Test Vector', then ~~~ key = hex ~~~."""
    text = (VECTORS / "draft-irtf-cfrg-rsa-blind-signatures.md").read_text()
    vectors = []
    for name, body in re.findall(r"^## (RSABSSA-\S+) Test Vector\n~~~\n(.*?)\n~~~", text, re.M | re.S):
        vector, key = {"name": name}, None
        for line in body.splitlines():
            if "=" in line:
                key, _, value = (part.strip() for part in line.partition("="))
                vector[key] = value
            else:
                vector[key] += line.strip()
        vectors.append(vector)
    return vectors


@lru_cache(maxsize=2)
def _secret_key(p: int, q: int, e: int, d: int) -> SecretKey:
    return SecretKey(der_from_numbers(p, q, e, d))  # loading validates the key: do it once


def _run(vector: dict[str, str]) -> None:
    p, q, n, e, d = (int(_hex(vector[k]), 16) for k in "pqned")
    sk = _secret_key(p, q, e, d)
    pk = sk.public_key
    assert pk.n == n
    variant = Variant.parse(vector["name"])
    prefix = bytes.fromhex(vector["msg_prefix"])
    prepared = prepare(bytes.fromhex(vector["msg"]), variant, prefix or None)
    assert prepared.hex() == vector.get("prepared_msg", vector.get("input_msg"))
    r = pow(int(_hex(vector["inv"]), 16), -1, n)
    blinded = blind(pk, prepared, variant, salt=bytes.fromhex(vector["salt"]), r=r)
    assert blinded.blinded_msg.hex() == vector["blinded_msg"]
    blind_sig = blind_sign(sk, blinded.blinded_msg)
    assert blind_sig.hex() == vector["blind_sig"]
    sig = finalize(pk, prepared, blind_sig, blinded.inv, variant)
    assert sig.hex() == vector["sig"]
    verify(pk, prepared, sig, variant)


CIRCL = json.loads((VECTORS / "test_vectors_rfc9474.dev.json").read_text())
DRAFT_JSON = json.loads((VECTORS / "rfc9474-draft-text-vectors.dev.json").read_text())["vectors"]
DRAFT_TEXT = _draft_text_vectors()


def test_the_draft_text_has_all_four_variants():
    assert sorted(v["name"] for v in DRAFT_TEXT) == sorted(v.value for v in Variant)


@pytest.mark.parametrize("vector", CIRCL, ids=[v["name"] for v in CIRCL])
def test_circl_vectors(vector):
    assert int(vector["sLen"], 16) == Variant.parse(vector["name"]).salt_len
    assert (vector["is_randomized"] == "0x01") == Variant.parse(vector["name"]).randomized
    _run(vector)


@pytest.mark.parametrize("vector", DRAFT_JSON, ids=[v["name"] for v in DRAFT_JSON])
def test_draft_json_vectors(vector):
    _run(vector)


@pytest.mark.parametrize("vector", DRAFT_TEXT, ids=[v["name"] for v in DRAFT_TEXT])
def test_draft_text_vectors(vector):
    _run(vector)
