"""BIP-32 test vectors 1-5 (bitcoin/bips bip-0032.mediawiki), derivation and parsing."""

from __future__ import annotations

import json

import pytest

from backends.keystore import InvalidExtendedKey, InvalidPath, format_path, parse_extended_key, parse_path
from backends.keystore.bip32 import derive, master_key
from tests.keystore.conftest import VECTORS

_FILE = json.loads((VECTORS / "bip32" / "bip32-vectors.dev.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=f"vector{case['vector']}-{case['chain']}") for case in _FILE["valid"]],
)
def test_bip32_valid_vector_derives_and_round_trips(case):
    chain = case["chain"].replace("H", "h")
    indices = parse_path(chain)
    assert list(indices) == case["path_indices"]
    node = derive(master_key(bytes.fromhex(case["seed"])), indices)
    assert node.to_base58() == case["ext_prv"]
    assert node.to_public().to_base58() == case["ext_pub"]
    assert parse_extended_key(case["ext_prv"]).to_base58() == case["ext_prv"]
    assert parse_extended_key(case["ext_pub"]).to_base58() == case["ext_pub"]


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=f"vector{case['vector']}-{case['reason']}") for case in _FILE["invalid"]],
)
def test_bip32_invalid_vector_is_refused(case):
    with pytest.raises(InvalidExtendedKey):
        parse_extended_key(case["key"])


@pytest.mark.parametrize(
    ("text", "indices"),
    [
        ("m", ()),
        ("m/0", (0,)),
        ("m/84'/1'/0'/0/0", (0x80000054, 0x80000001, 0x80000000, 0, 0)),
        ("m/84h/1H/0'", (0x80000054, 0x80000001, 0x80000000)),
        ("44'/0", (0x8000002C, 0)),
        ("m/2147483647'", (0xFFFFFFFF,)),
    ],
)
def test_paths_parse_with_either_hardened_marker(text, indices):
    assert parse_path(text) == indices


def test_path_formats_with_h():
    assert format_path(parse_path("m/84'/1'/0'/0/5")) == "m/84h/1h/0h/0/5"


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("m/84'/x/0", "component 2"),
        ("m//0", "component 1"),
        ("m/2147483648", "2^31"),
        ("m/-1", "component 1"),
        ("m/01", "component 1"),
        ("m/1''", "component 1"),
        ("n/0", "component 1"),
    ],
)
def test_bad_path_names_the_bad_component(text, culprit):
    with pytest.raises(InvalidPath, match=culprit.replace("^", r"\^")):
        parse_path(text)
