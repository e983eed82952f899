"""NIP-44 v2 against the official vectors, one parametrised test per vector file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from coincurve import PublicKeyXOnly

from backends.bunker import nip44
from backends.bunker.errors import BunkerError, DecryptionFailed, InvalidPlaintext

VECTORS = Path(__file__).parent.parent / "vectors" / "nip44"
# nips 733a047 (2026-06) made these lengths valid (6-byte prefix); the dev file predates it
SUPERSEDED_INVALID_LENGTHS = {100000, 10000000}


def _cases(name: str) -> list:
    data = json.loads((VECTORS / name).read_text())
    if "v2" not in data:
        return [pytest.param("extended", case, id=f"extended-{case['repeat']}")
                for case in data["encrypt_decrypt_long_msg_extended"]]
    valid, invalid = data["v2"]["valid"], data["v2"]["invalid"]
    cases = [pytest.param("conversation_key", c, id=f"conv-{i}") for i, c in enumerate(valid["get_conversation_key"])]
    keys = valid["get_message_keys"]
    cases += [pytest.param("message_keys", {"conversation_key": keys["conversation_key"], **c}, id=f"msgkeys-{i}")
              for i, c in enumerate(keys["keys"])]
    cases += [pytest.param("padded_len", c, id=f"padlen-{c[0]}") for c in valid["calc_padded_len"]]
    cases += [pytest.param("encrypt_decrypt", c, id=f"encdec-{i}") for i, c in enumerate(valid["encrypt_decrypt"])]
    cases += [pytest.param("long", c, id=f"long-{i}") for i, c in enumerate(valid["encrypt_decrypt_long_msg"])]
    cases += [pytest.param("invalid_length", n, id=f"badlen-{n}") for n in invalid["encrypt_msg_lengths"]]
    cases += [pytest.param("invalid_conversation_key", c, id=f"badconv-{c['note']}")
              for c in invalid["get_conversation_key"]]
    cases += [pytest.param("invalid_decrypt", c, id=f"baddec-{c['note']}") for c in invalid["decrypt"]]
    return cases


def _check_long(case: dict) -> None:
    plaintext = case["pattern"] * case["repeat"]
    assert hashlib.sha256(plaintext.encode()).hexdigest() == case["plaintext_sha256"]
    key = bytes.fromhex(case["conversation_key"])
    payload = nip44.encrypt(plaintext, key, bytes.fromhex(case["nonce"]))
    assert hashlib.sha256(payload.encode()).hexdigest() == case["payload_sha256"]
    assert nip44.decrypt(payload, key) == plaintext


def _check(kind: str, case) -> None:
    if kind == "conversation_key":
        key = nip44.get_conversation_key(bytes.fromhex(case["sec1"]), bytes.fromhex(case["pub2"]))
        assert key.hex() == case["conversation_key"]
    elif kind == "message_keys":
        keys = nip44.get_message_keys(bytes.fromhex(case["conversation_key"]), bytes.fromhex(case["nonce"]))
        assert [k.hex() for k in keys] == [case["chacha_key"], case["chacha_nonce"], case["hmac_key"]]
    elif kind == "padded_len":
        assert nip44.calc_padded_len(case[0]) == case[1]
    elif kind == "encrypt_decrypt":
        sec1, sec2 = bytes.fromhex(case["sec1"]), bytes.fromhex(case["sec2"])
        pub2 = PublicKeyXOnly.from_secret(sec2).format()
        key = nip44.get_conversation_key(sec1, pub2)
        assert key.hex() == case["conversation_key"]
        # the conversation key is the same from the other side
        assert nip44.get_conversation_key(sec2, PublicKeyXOnly.from_secret(sec1).format()) == key
        assert nip44.encrypt(case["plaintext"], key, bytes.fromhex(case["nonce"])) == case["payload"]
        assert nip44.decrypt(case["payload"], key) == case["plaintext"]
    elif kind in ("long", "extended"):
        _check_long(case)
        if kind == "extended":
            assert nip44.calc_padded_len(case["repeat"]) == case["padded_len"]
    elif kind == "invalid_length":
        if case in SUPERSEDED_INVALID_LENGTHS:
            padded = nip44.pad("a" * case)
            assert padded[:6] == b"\x00\x00" + case.to_bytes(4, "big")
            assert nip44.unpad(padded) == "a" * case
        else:
            with pytest.raises(InvalidPlaintext):
                nip44.pad("a" * case)
    elif kind == "invalid_conversation_key":
        with pytest.raises(BunkerError):
            nip44.get_conversation_key(bytes.fromhex(case["sec1"]), bytes.fromhex(case["pub2"]))
    elif kind == "invalid_decrypt":
        with pytest.raises(DecryptionFailed):
            nip44.decrypt(case["payload"], bytes.fromhex(case["conversation_key"]))
    else:  # pragma: no cover - a new section in a vector file must get a check
        raise AssertionError(kind)


@pytest.mark.parametrize(("kind", "case"), _cases("nip44.vectors.dev.json"))
def test_nip44_vectors(kind: str, case) -> None:
    _check(kind, case)


@pytest.mark.parametrize(("kind", "case"), _cases("nip44-extended-length-prefix.vectors.dev.json"))
def test_nip44_extended_length_prefix_vectors(kind: str, case) -> None:
    _check(kind, case)
