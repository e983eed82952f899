"""The file format refuses every modification, truncation and swap, and writes nothing."""

from __future__ import annotations

import pytest

from backends.keystore import KdfParams, Keystore, KeystoreCorrupt, WrongPassphrase
from tests.keystore.conftest import PASSPHRASE
from tests.keystore.helpers import snapshot

SECRET = b"tamper-test-hmac-key-0123456789"

# offsets in an entry file: see the format table in backends.keystore
ENTRY_REGIONS = {
    "magic": 0,
    "version": 4,
    "salt": 10,
    "opslimit-high": 21,
    "opslimit-low": 24,
    "memlimit-high": 28,
    "memlimit-low": 30,
    "nonce": 40,
    "metadata-length": 60,
    "metadata": 75,
    "ciphertext": -20,
    "tag": -1,
}


@pytest.fixture
def entry_path(keystore, keystore_dir):
    keystore.add_secret("victim", "hmac", SECRET, public={"note": "public text"})
    return keystore_dir / "victim.entry"


def _flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", ENTRY_REGIONS.values(), ids=ENTRY_REGIONS.keys())
def test_flipped_byte_anywhere_in_an_entry_is_refused(keystore, keystore_dir, entry_path, clock, offset):
    _flip(entry_path, offset)
    before = snapshot(keystore_dir)
    with pytest.raises((KeystoreCorrupt, WrongPassphrase)) as caught:
        keystore.get_secret("victim")
    assert "victim.entry" in str(caught.value)
    fresh = Keystore(keystore_dir, KdfParams.fast(), clock=clock)
    fresh.unlock(PASSPHRASE, 60)
    with pytest.raises((KeystoreCorrupt, WrongPassphrase)):
        fresh.get_secret("victim")
    assert snapshot(keystore_dir) == before


def test_modified_ciphertext_under_the_verified_key_reads_as_corrupt(keystore, entry_path):
    _flip(entry_path, -5)
    with pytest.raises(KeystoreCorrupt, match="integrity"):
        keystore.get_secret("victim")


@pytest.mark.parametrize("offset", [0, 4, 8, 30, 40, 60, -1], ids=lambda o: f"offset{o}")
def test_flipped_byte_in_the_header_refuses_unlock_and_changes_nothing(keystore, keystore_dir, offset):
    keystore.lock()
    _flip(keystore_dir / "keystore.hdr", offset)
    before = snapshot(keystore_dir)
    with pytest.raises((KeystoreCorrupt, WrongPassphrase)):
        keystore.unlock(PASSPHRASE, 60)
    assert not keystore.is_unlocked
    assert snapshot(keystore_dir) == before


@pytest.mark.parametrize("keep", [0, 3, 20, 57, 60, 70, -17, -1], ids=lambda k: f"keep{k}")
def test_truncated_entry_is_corrupt(keystore, entry_path, keep):
    data = entry_path.read_bytes()
    entry_path.write_bytes(data[:keep])
    with pytest.raises(KeystoreCorrupt, match="victim.entry"):
        keystore.get_secret("victim")


def test_truncated_header_is_corrupt(keystore, keystore_dir):
    header = keystore_dir / "keystore.hdr"
    header.write_bytes(header.read_bytes()[:-1])
    with pytest.raises(KeystoreCorrupt, match="keystore.hdr"):
        keystore.unlock(PASSPHRASE, 60)


def test_unknown_version_is_named(keystore, entry_path):
    data = bytearray(entry_path.read_bytes())
    data[4] = 2
    entry_path.write_bytes(bytes(data))
    with pytest.raises(KeystoreCorrupt, match="format version 2"):
        keystore.entries()


def test_listing_refuses_a_file_that_is_not_an_entry(keystore, keystore_dir):
    (keystore_dir / "junk.entry").write_bytes(b"hello world, not an entry at all" * 3)
    with pytest.raises(KeystoreCorrupt, match="junk.entry.*bad magic"):
        keystore.entries()


def test_swapped_entry_files_are_detected(keystore, keystore_dir):
    keystore.add_secret("alice", "hmac", b"alice-key")
    keystore.add_secret("bob", "hmac", b"bob-key")
    alice, bob = keystore_dir / "alice.entry", keystore_dir / "bob.entry"
    alice_bytes = alice.read_bytes()
    alice.write_bytes(bob.read_bytes())
    bob.write_bytes(alice_bytes)
    with pytest.raises(KeystoreCorrupt, match="renamed or swapped"):
        keystore.get_secret("alice")


def test_secrets_stay_out_of_errors_and_reprs(keystore, entry_path):
    info = keystore.entry("victim")
    texts = [repr(keystore), repr(info), str(info), repr(keystore.kdf)]
    _flip(entry_path, -3)
    try:
        keystore.get_secret("victim")
    except KeystoreCorrupt as error:
        texts += [str(error), repr(error), error.hint or ""]
        assert error.__cause__ is None and error.__suppress_context__
    joined = "\n".join(texts)
    assert SECRET.decode() not in joined and SECRET.hex() not in joined
    assert PASSPHRASE not in joined
