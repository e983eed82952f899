"""Bad input to the keystore's parsers: entry files, paths, extended keys, mnemonics.

A planted or damaged entry file is reported by name and never locks the operator out of
the other entries (issue 14: 3,000 nested lists in the public metadata did)."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.keystore import (
    InvalidExtendedKey,
    InvalidMnemonic,
    InvalidPath,
    KdfParams,
    Keystore,
    KeystoreCorrupt,
    KeystoreError,
    parse_extended_key,
    parse_path,
    validate_mnemonic,
)
from backends.keystore.format import PREFIX_BYTES, parse_entry

from ..outside import huge_numbers, mutations, odd_text, refused_or_parsed, snapshot, within
from .conftest import ABANDON, PASSPHRASE

TPRV = "tprv8ZgxMBicQKsPd9TeAdPADNnSyH9SSUUbTVeFszDE23Ki6TBB5nCefAdHkK8Fm3qMQR6sHwA56zqRmKmxnHk37JkiFzvncDqoKmPWubu7hDF"


def _with_metadata(entry: bytes, metadata: bytes) -> bytes:
    """``entry`` with its public metadata replaced, every length kept consistent."""
    (length,) = struct.unpack_from(">I", entry, PREFIX_BYTES)
    rest = entry[PREFIX_BYTES + 4 + length :]
    return entry[:PREFIX_BYTES] + struct.pack(">I", len(metadata)) + metadata + rest


@pytest.fixture
def two_entries(keystore, keystore_dir):
    keystore.import_mnemonic("victim", ABANDON)
    keystore.import_mnemonic("other", ABANDON)
    return keystore_dir / "victim.entry"


def test_a_planted_deeply_nested_entry_does_not_lock_the_operator_out(keystore, keystore_dir, two_entries, clock):
    planted = _with_metadata(two_entries.read_bytes(), b"[" * 3000 + b"]" * 3000)
    assert len(planted) < 64 * 1024
    (keystore_dir / "planted.entry").write_bytes(planted)
    with pytest.raises(KeystoreCorrupt, match="planted.entry"):
        parse_entry(planted, keystore_dir / "planted.entry")
    with pytest.raises(KeystoreCorrupt, match="planted.entry"):
        keystore.entries()  # the strict listing names the file
    listing = keystore.listing()
    assert [e.label for e in listing.entries] == ["other", "victim"]
    assert [str(p) for p in listing.unreadable] == [f"{keystore_dir / 'planted.entry'} has unreadable metadata"]
    # a fresh process with the correct passphrase unlocks and uses every good entry
    fresh = Keystore(keystore_dir, KdfParams.fast(), clock=clock)
    fresh.unlock(PASSPHRASE, ttl_seconds=60)
    assert fresh.reveal_mnemonic("other") == ABANDON
    assert fresh.reveal_mnemonic("victim") == ABANDON


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_planted_entry_is_reported_and_changes_nothing(keystore, keystore_dir, two_entries, data):
    valid = two_entries.read_bytes()
    (length,) = struct.unpack_from(">I", valid, PREFIX_BYTES)
    metadata = valid[PREFIX_BYTES + 4 : PREFIX_BYTES + 4 + length]
    blob = data.draw(
        mutations(valid)
        | mutations(metadata).map(lambda m: _with_metadata(valid, m))
        | st.integers(30, 20_000).map(lambda n: _with_metadata(valid, b'{"a":' * n + b"1" + b"}" * n))
        | odd_text.map(lambda t: _with_metadata(valid, json.dumps({"label": t}, ensure_ascii=True).encode()))
    )
    planted = keystore_dir / "planted.entry"
    planted.write_bytes(blob)
    before = snapshot(keystore_dir)
    with within():
        listing = keystore.listing()
        assert {"other", "victim"} <= {e.label for e in listing.entries}
        assert all(isinstance(p, KeystoreError) for p in listing.unreadable)
        assert keystore.reveal_mnemonic("other") == ABANDON
        keystore.lock()
        keystore.unlock(PASSPHRASE, ttl_seconds=60)
        try:
            keystore.reveal_mnemonic("planted")
        except KeystoreError:
            pass
    assert snapshot(keystore_dir) == before
    planted.unlink()


@pytest.mark.parametrize("path", ["1" * 4301, "m/" + "1" * 4301 + "h", "m/²", "m/٣", "m/1/\x00", "m/" + "0/" * 300 + "0"])
def test_odd_paths_are_invalid_paths_with_short_messages(path):
    with pytest.raises(InvalidPath) as caught:
        parse_path(path)
    assert len(str(caught.value)) < 200


@settings(max_examples=150)
@given(odd_text | huge_numbers | huge_numbers.map(lambda n: f"m/84h/{n}") | mutations(b"m/48h/1h/0h/2h").map(
    lambda b: b.decode("utf-8", "replace")))
def test_path_parsing_raises_only_invalid_path(text):
    refused_or_parsed(parse_path, text, InvalidPath)


@settings(max_examples=150)
@given(odd_text | mutations(TPRV.encode()).map(lambda b: b.decode("utf-8", "replace")))
def test_extended_key_parsing_raises_only_invalid_extended_key(text):
    refused_or_parsed(parse_extended_key, text, InvalidExtendedKey)


@settings(max_examples=150)
@given(odd_text | mutations(ABANDON.encode()).map(lambda b: b.decode("utf-8", "replace"))
       | st.lists(st.sampled_from(["abandon", "about", "zoo", "ａｂａｎｄｏｎ", "\u0301"]), max_size=30).map(" ".join))
def test_mnemonic_validation_raises_only_invalid_mnemonic(text):
    refused_or_parsed(validate_mnemonic, text, InvalidMnemonic)
