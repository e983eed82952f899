"""Keystore lifecycle, entry kinds and their round trips, labels, BIP-32 use."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from embit import base58

from backends.keystore import (
    EntryExists,
    EntryKind,
    EntryNotFound,
    InvalidLabel,
    InvalidMnemonic,
    InvalidPassphrase,
    InvalidPath,
    InvalidSecret,
    KdfParams,
    Keystore,
    KeystoreAlreadyInitialized,
    KeystoreCorrupt,
    KeystoreError,
    KeystoreLocked,
    KeystoreNotInitialized,
    UnsupportedNetwork,
    UnsupportedScript,
    WrongEntryKind,
    passphrase_from_env,
    validate_mnemonic,
)
from tests.keystore.conftest import ABANDON, PASSPHRASE
from tests.keystore.helpers import snapshot

RAW_SECRETS = {
    EntryKind.TOTP: b"12345678901234567890",
    EntryKind.HMAC: os.urandom(32),
    EntryKind.NOSTR: bytes.fromhex("7f" * 32),
    EntryKind.RSA: b"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg...\n-----END PRIVATE KEY-----\n",
    EntryKind.MPC_SHARE: os.urandom(97),
}


def test_keystore_files_are_private(keystore, keystore_dir):
    keystore.import_mnemonic("seed", ABANDON)
    keystore.add_secret("otp", "totp", RAW_SECRETS[EntryKind.TOTP])
    assert stat.S_IMODE(keystore_dir.stat().st_mode) == 0o700
    names = sorted(path.name for path in keystore_dir.iterdir())
    assert names == ["keystore.hdr", "otp.entry", "seed.entry"]
    for path in keystore_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_initialize_refuses_an_existing_keystore_and_an_empty_passphrase(keystore, tmp_path):
    assert keystore.exists()
    with pytest.raises(KeystoreAlreadyInitialized):
        keystore.initialize("another")
    with pytest.raises(InvalidPassphrase):
        Keystore(tmp_path / "other", KdfParams.fast()).initialize("")


def test_initialize_refuses_a_directory_whose_header_is_lost_but_entries_remain(keystore, keystore_dir):
    """A lost keystore.hdr beside entries: a new header (new salt) made every entry
    unopenable under it and the screens said 'restore from a backup' for each one, while
    the header was what needed restoring."""
    keystore.add_secret("otp", "totp", b"s" * 20)
    (keystore_dir / "keystore.hdr").unlink()
    before = snapshot(keystore_dir)
    fresh = Keystore(keystore_dir, KdfParams.fast())
    with pytest.raises(KeystoreCorrupt, match="keystore.hdr is missing"):
        fresh.initialize("another passphrase")
    assert snapshot(keystore_dir) == before


# "pass\xffword" read from a terminal or environment that is not UTF-8
UNDECODABLE = b"pass\xffword".decode("utf-8", "surrogateescape")


def test_an_undecodable_passphrase_is_refused_and_nothing_is_written(keystore, keystore_dir, tmp_path):
    fresh = tmp_path / "fresh"
    with pytest.raises(InvalidPassphrase, match="the keystore passphrase is not valid UTF-8") as caught:
        Keystore(fresh, KdfParams.fast()).initialize(UNDECODABLE)
    assert "word" not in str(caught.value)  # nothing of the passphrase is shown
    assert not fresh.exists()

    keystore.lock()
    with pytest.raises(InvalidPassphrase):
        keystore.unlock(UNDECODABLE, 60)
    keystore.unlock(PASSPHRASE, 60)
    before = sorted(p.name for p in keystore_dir.iterdir())
    with pytest.raises(InvalidPassphrase, match="the BIP-39 passphrase is not valid UTF-8"):
        keystore.import_mnemonic("seed", ABANDON, bip39_passphrase=UNDECODABLE)
    assert sorted(p.name for p in keystore_dir.iterdir()) == before


def test_missing_keystore_says_so(tmp_path):
    store = Keystore(tmp_path / "none", KdfParams.fast())
    assert not store.exists()
    with pytest.raises(KeystoreNotInitialized):
        store.unlock(PASSPHRASE, 60)
    with pytest.raises(KeystoreNotInitialized):
        store.entries()


def test_kdf_cost_is_read_from_the_file_not_the_caller(keystore_dir):
    custom = KdfParams(opslimit=2, memlimit=9 * 1024 * 1024)
    Keystore(keystore_dir, custom).initialize(PASSPHRASE)
    reopened = Keystore(keystore_dir)  # production default cost; the file's cost must win
    reopened.unlock(PASSPHRASE, 60)
    assert reopened.is_unlocked


def test_kdf_params_out_of_range_are_refused():
    with pytest.raises(KeystoreError):
        KdfParams(opslimit=0, memlimit=8 * 1024 * 1024)
    with pytest.raises(KeystoreError):
        KdfParams(opslimit=3, memlimit=1024)
    assert KdfParams.default() == KdfParams(3, 256 * 1024 * 1024)


def test_imported_mnemonic_round_trips_and_lists_while_locked(keystore, keystore_dir):
    info = keystore.import_mnemonic("treasury", "  " + ABANDON.upper() + " ")
    assert (info.label, info.kind, info.fingerprint, info.word_count) == (
        "treasury", EntryKind.MNEMONIC, "73c5da0a", 12,
    )
    assert keystore.reveal_mnemonic("treasury") == ABANDON
    stranger = Keystore(keystore_dir, KdfParams.fast())
    assert stranger.entries() == [info]
    assert stranger.entries()[0].public == {"words": 12, "bip39_passphrase": False}
    assert info.to_public_dict()["created_at"] == "2023-11-14T22:13:20Z"


def test_bip39_passphrase_changes_the_fingerprint_and_is_kept(keystore):
    plain = keystore.import_mnemonic("plain", ABANDON)
    salted = keystore.import_mnemonic("salted", ABANDON, bip39_passphrase="TREZOR")
    assert plain.fingerprint != salted.fingerprint
    assert salted.public["bip39_passphrase"] is True
    assert keystore.xpub("plain", "m/84h/0h/0h") != keystore.xpub("salted", "m/84h/0h/0h")


@pytest.mark.parametrize("words", [12, 24])
def test_created_mnemonic_is_valid_and_revealable(keystore, words):
    info = keystore.create_mnemonic("fresh", words=words)
    mnemonic = keystore.reveal_mnemonic("fresh")
    assert validate_mnemonic(mnemonic) == mnemonic
    assert len(mnemonic.split()) == words == info.word_count
    assert keystore.create_mnemonic("fresh2", words=words).fingerprint != info.fingerprint


def test_mnemonic_of_unsupported_length_is_refused(keystore):
    with pytest.raises(InvalidMnemonic):
        keystore.create_mnemonic("odd", words=18)


def test_import_of_a_bad_mnemonic_writes_nothing_and_echoes_nothing(keystore, keystore_dir):
    with pytest.raises(InvalidMnemonic) as caught:
        keystore.import_mnemonic("bad", "abandon " * 11 + "wrongword")
    assert "abandon" not in str(caught.value) and "wrongword" not in str(caught.value)
    assert not (keystore_dir / "bad.entry").exists()


@pytest.mark.parametrize("kind", list(RAW_SECRETS), ids=lambda kind: kind.value)
def test_raw_secret_round_trips(keystore, keystore_dir, kind):
    secret = RAW_SECRETS[kind]
    info = keystore.add_secret("s1", kind, secret, public={"issuer": "ACME", "digits": 6})
    assert keystore.get_secret("s1") == secret
    assert len(info.fingerprint) == 8 and info.fingerprint not in secret.hex()
    listed = Keystore(keystore_dir).entries()[0]
    assert (listed.kind, listed.public["issuer"], listed.fingerprint) == (kind, "ACME", info.fingerprint)


def test_secret_never_lands_on_disk_in_the_clear(keystore, keystore_dir):
    keystore.import_mnemonic("seed", ABANDON)
    keystore.add_secret("otp", EntryKind.TOTP, b"VERY-SECRET-TOTP-KEY")
    blob = b"".join(path.read_bytes() for path in keystore_dir.iterdir())
    assert b"abandon" not in blob and b"VERY-SECRET" not in blob


@pytest.mark.parametrize(
    ("kind", "secret"),
    [
        ("nostr", bytes(31)),
        ("nostr", bytes(32)),
        ("totp", b""),
        ("mnemonic", b"abandon"),
        ("ssh", b"x"),
    ],
)
def test_unacceptable_raw_secret_is_refused(keystore, kind, secret):
    with pytest.raises(InvalidSecret):
        keystore.add_secret("bad", kind, secret)


def test_public_metadata_must_be_flat_and_small(keystore):
    with pytest.raises(InvalidSecret):
        keystore.add_secret("x", "hmac", b"k", public={"nested": {"a": 1}})
    with pytest.raises(InvalidSecret):
        keystore.add_secret("x", "hmac", b"k", public={"bad key!": 1})


def test_wrong_kind_operations_are_refused(keystore):
    keystore.import_mnemonic("seed", ABANDON)
    keystore.add_secret("otp", "totp", b"12345678901234567890")
    with pytest.raises(WrongEntryKind):
        keystore.get_secret("seed")
    with pytest.raises(WrongEntryKind):
        keystore.reveal_mnemonic("otp")
    with pytest.raises(WrongEntryKind):
        keystore.xpub("otp", "m/0")


def test_duplicate_label_is_refused_even_in_another_case(keystore):
    keystore.add_secret("Hot-Wallet", "hmac", b"k")
    with pytest.raises(EntryExists):
        keystore.add_secret("Hot-Wallet", "hmac", b"k")
    with pytest.raises(EntryExists):
        keystore.import_mnemonic("hot-wallet", ABANDON)


@pytest.mark.parametrize("label", ["", "../escape", "a/b", ".hidden", "with space", "x" * 65, "ünï", "-lead"])
def test_unsafe_label_is_refused(keystore, label):
    with pytest.raises(InvalidLabel):
        keystore.add_secret(label, "hmac", b"k")


def test_unknown_label_is_not_found(keystore):
    with pytest.raises(EntryNotFound, match="'ghost'"):
        keystore.get_secret("ghost")


def test_delete_removes_the_entry_and_frees_its_label(keystore, keystore_dir):
    keystore.add_secret("gone", "hmac", b"k")
    keystore.delete("gone")
    assert not (keystore_dir / "gone.entry").exists()
    with pytest.raises(EntryNotFound):
        keystore.delete("gone")
    keystore.add_secret("gone", "hmac", b"k2")
    assert keystore.get_secret("gone") == b"k2"


def test_every_secret_operation_needs_the_keystore_unlocked(keystore):
    keystore.import_mnemonic("seed", ABANDON)
    keystore.add_secret("otp", "totp", b"12345678901234567890")
    keystore.lock()
    calls = [
        lambda: keystore.reveal_mnemonic("seed"),
        lambda: keystore.get_secret("otp"),
        lambda: keystore.add_secret("new", "hmac", b"k"),
        lambda: keystore.import_mnemonic("new", ABANDON),
        lambda: keystore.create_mnemonic("new"),
        lambda: keystore.xpub("seed", "m/84h/0h/0h"),
        lambda: keystore.derive_address("seed", "m/84h/0h/0h/0/0"),
        lambda: keystore.sign_message("seed", "m/84h/0h/0h/0/0", "hi"),
        lambda: keystore.delete("otp"),
    ]
    for call in calls:
        with pytest.raises(KeystoreLocked):
            call()
    assert [entry.label for entry in keystore.entries()] == ["otp", "seed"]


# Published vectors for "abandon ... about": BIP-44/49/84/86 texts (bitcoin/bips)
@pytest.mark.parametrize(
    ("path", "network", "script", "address"),
    [
        ("m/44'/0'/0'/0/0", "main", "pkh", "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"),
        ("m/49'/1'/0'/0/0", "test", "sh-wpkh", "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"),
        ("m/84'/0'/0'/0/0", "main", "wpkh", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"),
        ("m/84'/0'/0'/0/1", "main", "wpkh", "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g"),
        ("m/86'/0'/0'/0/0", "main", "tr", "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"),
    ],
)
def test_derived_address_matches_the_bip_vectors(keystore, path, network, script, address):
    keystore.import_mnemonic("seed", ABANDON)
    derived = keystore.derive_address("seed", path, network, script)
    assert derived.address == address
    assert len(derived.public_key) == 33 and derived.path.startswith("m/")


def test_account_xpub_matches_bip84(keystore):
    keystore.import_mnemonic("seed", ABANDON)
    zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
    as_xpub = base58.encode_check(bytes.fromhex("0488b21e") + base58.decode_check(zpub)[4:])
    assert keystore.xpub("seed", "m/84'/0'/0'", "main") == as_xpub
    assert keystore.descriptor_key("seed", "m/84'/0'/0'") == f"[73c5da0a/84h/0h/0h]{as_xpub}"


@pytest.mark.parametrize(
    ("network", "prefix"), [("main", "bc1q"), ("test", "tb1q"), ("signet", "tb1q"), ("regtest", "bcrt1q")]
)
def test_addresses_follow_the_network(keystore, network, prefix):
    keystore.import_mnemonic("seed", ABANDON)
    assert keystore.derive_address("seed", "m/84h/1h/0h/0/0", network).address.startswith(prefix)
    assert keystore.xpub("seed", "m/84h/1h/0h", network)[:4] == ("xpub" if network == "main" else "tpub")


def test_bad_path_network_or_script_is_a_typed_error(keystore):
    keystore.import_mnemonic("seed", ABANDON)
    with pytest.raises(InvalidPath):
        keystore.xpub("seed", "m/84'/zero'")
    with pytest.raises(UnsupportedNetwork):
        keystore.derive_address("seed", "m/0", "mainnet")
    with pytest.raises(UnsupportedScript):
        keystore.derive_address("seed", "m/0", "main", "wsh")


def test_passphrase_comes_from_the_environment_when_set():
    assert passphrase_from_env({"CUSTODY_TUI_PASSPHRASE": "s3cret"}) == "s3cret"
    assert passphrase_from_env({"CUSTODY_TUI_PASSPHRASE": ""}) is None
    assert passphrase_from_env({}) is None


def test_keystore_package_never_imports_textual_or_rich():
    code = (
        "import sys, backends.keystore\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "assert not bad, bad\n"
    )
    repo_root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=repo_root)
