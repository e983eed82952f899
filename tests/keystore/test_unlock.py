"""Unlocking: passphrase checks, one Argon2 run, TTL expiry, wiping, passphrase change."""

from __future__ import annotations

import pytest

from backends.keystore import (
    EntryKind,
    InvalidPassphrase,
    KdfParams,
    Keystore,
    KeystoreError,
    KeystoreLocked,
    WrongPassphrase,
)
from backends.keystore import store as store_module
from tests.keystore.conftest import ABANDON, PASSPHRASE
from tests.keystore.helpers import snapshot


def _fill(keystore: Keystore) -> None:
    keystore.import_mnemonic("seed", ABANDON)
    keystore.add_secret("otp", EntryKind.TOTP, b"12345678901234567890")
    keystore.add_secret("nsec", EntryKind.NOSTR, bytes.fromhex("11" * 32))


def test_wrong_passphrase_is_refused_and_changes_nothing(keystore, keystore_dir):
    _fill(keystore)
    keystore.lock()
    before = snapshot(keystore_dir)
    with pytest.raises(WrongPassphrase) as caught:
        keystore.unlock("not the passphrase", 60)
    assert "not the passphrase" not in str(caught.value) + (caught.value.hint or "")
    assert not keystore.is_unlocked
    assert snapshot(keystore_dir) == before


def test_unlock_runs_argon2_once_for_any_number_of_entries(keystore, monkeypatch):
    _fill(keystore)
    keystore.lock()
    calls = []
    real = store_module.derive_key
    monkeypatch.setattr(store_module, "derive_key", lambda *a: calls.append(1) or real(*a))
    keystore.unlock(PASSPHRASE, 60)
    assert len(calls) == 1
    assert keystore.get_secret("otp") and keystore.reveal_mnemonic("seed") and keystore.get_secret("nsec")
    assert len(calls) == 1


def test_unlock_expires_after_its_ttl(keystore, clock):
    keystore.add_secret("otp", "totp", b"12345678901234567890")
    keystore.lock()
    keystore.unlock(PASSPHRASE, ttl_seconds=120)
    assert keystore.seconds_left() == 120
    clock.advance(119.5)
    assert keystore.is_unlocked and keystore.seconds_left() == pytest.approx(0.5)
    keys = list(keystore._keys.values())
    clock.advance(0.5)
    assert keystore.seconds_left() is None
    assert not keystore.is_unlocked
    assert all(key == bytearray(len(key)) for key in keys)
    with pytest.raises(KeystoreLocked):
        keystore.get_secret("otp")


def test_expiry_is_enforced_even_without_polling(keystore, clock):
    keystore.add_secret("otp", "totp", b"12345678901234567890")
    clock.advance(10_000)
    with pytest.raises(KeystoreLocked):
        keystore.get_secret("otp")


def test_lock_zeroes_the_cached_key(keystore):
    keys = list(keystore._keys.values())
    assert keys and all(any(key) for key in keys)
    keystore.lock()
    assert all(len(key) == 32 and not any(key) for key in keys)
    assert not keystore.is_unlocked and keystore.seconds_left() is None


def test_unlock_time_must_be_positive(keystore):
    with pytest.raises(KeystoreError):
        keystore.unlock(PASSPHRASE, 0)


def test_change_passphrase_reencrypts_every_entry(keystore, keystore_dir, clock):
    _fill(keystore)
    before = {entry.label: entry for entry in keystore.entries()}
    old_files = snapshot(keystore_dir)
    keystore.change_passphrase(PASSPHRASE, "new passphrase")
    assert keystore.is_unlocked  # stays unlocked, under the new key
    assert {entry.label: entry for entry in keystore.entries()} == before
    new_files = snapshot(keystore_dir)
    assert set(new_files) == set(old_files)
    assert all(new_files[name][0] != old_files[name][0] for name in old_files)
    reopened = Keystore(keystore_dir, KdfParams.fast(), clock=clock)
    with pytest.raises(WrongPassphrase):
        reopened.unlock(PASSPHRASE, 60)
    reopened.unlock("new passphrase", 60)
    assert reopened.reveal_mnemonic("seed") == ABANDON
    assert reopened.get_secret("nsec") == bytes.fromhex("11" * 32)


def test_change_passphrase_with_wrong_old_passphrase_changes_nothing(keystore, keystore_dir):
    _fill(keystore)
    before = snapshot(keystore_dir)
    with pytest.raises(WrongPassphrase):
        keystore.change_passphrase("wrong", "new passphrase")
    with pytest.raises(InvalidPassphrase):
        keystore.change_passphrase(PASSPHRASE, "")
    assert snapshot(keystore_dir) == before


def test_interrupted_passphrase_change_leaves_every_file_readable_and_can_be_finished(
    keystore, keystore_dir, clock, monkeypatch
):
    _fill(keystore)
    real_write = Keystore._write_entry
    written = []

    def crash_after_first(self, info, *rest, **options):
        if written:
            raise OSError("power lost")
        written.append(info.label)
        real_write(self, info, *rest, **options)

    monkeypatch.setattr(Keystore, "_write_entry", crash_after_first)
    with pytest.raises(OSError):
        keystore.change_passphrase(PASSPHRASE, "new passphrase")
    monkeypatch.setattr(Keystore, "_write_entry", real_write)
    moved = written[0]
    assert (keystore_dir / "keystore.hdr.next").exists()

    def readable_with(passphrase: str) -> set[str]:
        store = Keystore(keystore_dir, KdfParams.fast(), clock=clock)
        store.unlock(passphrase, 60)
        opened = set()
        for entry in store.entries():
            try:
                if entry.kind is EntryKind.MNEMONIC:
                    store.reveal_mnemonic(entry.label)
                else:
                    store.get_secret(entry.label)
                opened.add(entry.label)
            except WrongPassphrase:
                pass
        return opened

    assert readable_with(PASSPHRASE) == {"seed", "otp", "nsec"} - {moved}
    assert readable_with("new passphrase") == {moved}

    finisher = Keystore(keystore_dir, KdfParams.fast(), clock=clock)
    finisher.change_passphrase(PASSPHRASE, "new passphrase")
    assert not (keystore_dir / "keystore.hdr.next").exists()
    assert readable_with("new passphrase") == {"seed", "otp", "nsec"}


def test_change_passphrase_adopts_the_configured_kdf_cost(keystore, keystore_dir, clock):
    _fill(keystore)
    stronger = KdfParams(opslimit=2, memlimit=8 * 1024 * 1024)
    Keystore(keystore_dir, stronger, clock=clock).change_passphrase(PASSPHRASE, "next passphrase")
    header = (keystore_dir / "keystore.hdr").read_bytes()
    assert int.from_bytes(header[21:25], "big") == 2
    assert int.from_bytes((keystore_dir / "seed.entry").read_bytes()[21:25], "big") == 2


def test_an_unlock_does_not_outlive_a_suspend_of_the_machine(keystore_dir, monkeypatch):
    import time

    # during a suspend the clock behind time.monotonic stops on Linux; time since boot runs on
    asleep = {"seconds": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: 500.0)
    real_clock_gettime = time.clock_gettime
    monkeypatch.setattr(time, "clock_gettime",
                        lambda clock_id: 500.0 + asleep["seconds"] if clock_id in (
                            getattr(time, "CLOCK_BOOTTIME", None), time.CLOCK_MONOTONIC)
                        else real_clock_gettime(clock_id))
    store = Keystore(keystore_dir, KdfParams.fast())
    store.initialize(PASSPHRASE)
    store.unlock(PASSPHRASE, ttl_seconds=300)
    asleep["seconds"] = 3600.0
    assert not store.is_unlocked


def test_a_planted_entry_with_its_own_argon2_cost_costs_unlock_nothing(keystore, keystore_dir, monkeypatch):
    from backends.keystore import KeystoreCorrupt

    # an entry sealed by another keystore (another salt and a huge cost), dropped in the dir
    other = Keystore(keystore_dir.parent / "other", KdfParams(opslimit=64, memlimit=8 * 1024 * 1024))
    other.initialize("attacker")
    other.unlock("attacker", 60)
    other.add_secret("planted", "hmac", b"x" * 32)
    (keystore_dir / "planted.entry").write_bytes((other.directory / "planted.entry").read_bytes())
    keystore.lock()
    calls = []
    real = store_module.derive_key
    monkeypatch.setattr(store_module, "derive_key", lambda *a: calls.append(a[2]) or real(*a))
    keystore.unlock(PASSPHRASE, 60)
    assert len(calls) == 1  # only the keystore's own header: a file cannot buy Argon2id runs
    with pytest.raises(KeystoreCorrupt):
        keystore.get_secret("planted")


def test_a_new_entry_never_replaces_one_another_process_just_created(tmp_path, monkeypatch):
    """Two processes creating the same label: the second gets EntryExists, the first seed stays."""
    from backends.keystore import EntryExists, KdfParams, Keystore

    first = Keystore(tmp_path / "ks", KdfParams.fast())
    first.initialize(PASSPHRASE)
    first.unlock(PASSPHRASE, 60)
    second = Keystore(tmp_path / "ks", KdfParams.fast())
    second.unlock(PASSPHRASE, 60)
    # the second process checked the label before the first one wrote its file
    monkeypatch.setattr(Keystore, "_check_new_entry", lambda self, label: None)
    created = first.create_mnemonic("hot", words=12)
    with pytest.raises(EntryExists):
        second.create_mnemonic("hot", words=12)
    assert second.entry("hot").fingerprint == created.fingerprint
    assert not list((tmp_path / "ks").glob(".*.tmp"))
