"""BIP-39 vectors (trezor/python-mnemonic): words → seed with passphrase "TREZOR"."""

from __future__ import annotations

import json

import pytest
from embit.bip39 import mnemonic_from_bytes

from backends.keystore import InvalidMnemonic, mnemonic_to_seed, validate_mnemonic
from backends.keystore.bip32 import master_key
from tests.keystore.conftest import VECTORS

_FILE = json.loads((VECTORS / "bip39" / "vectors.dev.json").read_text(encoding="utf-8"))
CASES = [
    pytest.param(language, *case, id=f"{language}-{index}-{len(case[1].split())}words")
    for language, cases in _FILE.items()
    for index, case in enumerate(cases)
]


@pytest.mark.parametrize(("language", "entropy", "mnemonic", "seed", "xprv"), CASES)
def test_bip39_vector_gives_the_published_seed(language, entropy, mnemonic, seed, xprv):
    # PBKDF2 with NFKD normalisation applies to every language (Japanese uses U+3000 spaces)
    assert mnemonic_to_seed(mnemonic, "TREZOR").hex() == seed
    if language != "english":
        return  # the keystore validates words against the English list only
    assert validate_mnemonic(mnemonic) == mnemonic
    assert mnemonic_from_bytes(bytearray.fromhex(entropy)) == mnemonic
    assert master_key(bytes.fromhex(seed)).to_base58() == xprv


def test_uppercase_and_extra_spaces_are_normalised():
    english = _FILE["english"][0][1]
    messy = "  " + english.upper().replace(" ", "   ") + "\n"
    assert validate_mnemonic(messy) == english


@pytest.mark.parametrize(
    ("mnemonic", "expected"),
    [
        pytest.param("abandon " * 11, "this one has 11", id="word-count"),
        pytest.param("abandon " * 11 + "zzzsecretword", "word 12 of 12", id="unknown-word"),
        pytest.param("abandon " * 12, "checksum", id="bad-checksum"),
    ],
)
def test_invalid_mnemonic_is_refused_without_echoing_words(mnemonic, expected):
    with pytest.raises(InvalidMnemonic) as caught:
        validate_mnemonic(mnemonic)
    text = str(caught.value) + (caught.value.hint or "")
    assert expected in text
    assert "abandon" not in text and "zzzsecretword" not in text
    assert caught.value.__cause__ is None and caught.value.__context__ is None
