"""Two processes on one keystore: a passphrase change in one while the other, unlocked
under the old passphrase, adds or deletes an entry.

Before: the late entry was sealed under a key no header names any more (unreadable with
either passphrase through custody-tui, and every later passphrase change failed on it),
and a deletion made during the change was undone by the change rewriting the entry.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from backends.keystore import KdfParams, Keystore, KeystoreLocked

from .conftest import PASSPHRASE

NEW = "a brand new passphrase"
REPO = Path(__file__).resolve().parents[2]

CHANGE = """
import sys, time
from pathlib import Path
from backends.keystore import KdfParams, Keystore
from backends.keystore.store import Keystore as K

directory, old, new, pause = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "pause"
if pause:  # stop after the pending header is written, until the test says go
    original = K._write_entry
    def paused(self, *args, **kwargs):
        (directory.parent / "paused").touch()
        while not (directory.parent / "go").exists():
            time.sleep(0.01)
        return original(self, *args, **kwargs)
    K._write_entry = paused
Keystore(directory, KdfParams.fast()).change_passphrase(old, new)
"""


def _change_in_another_process(directory: Path, *, pause: bool = False) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHANGE, str(directory), PASSPHRASE, NEW,
                             "pause" if pause else "run"], cwd=REPO)


def _reopen(directory: Path, passphrase: str) -> Keystore:
    store = Keystore(directory, KdfParams.fast())
    store.unlock(passphrase, ttl_seconds=60)
    return store


def test_adding_after_another_process_changed_the_passphrase_is_refused(keystore, keystore_dir):
    keystore.add_secret("before", "hmac", b"k" * 32)
    assert _change_in_another_process(keystore_dir).wait(60) == 0
    with pytest.raises(KeystoreLocked, match="passphrase was changed"):
        keystore.add_secret("late", "hmac", b"x" * 32)
    assert not (keystore_dir / "late.entry").exists()
    assert not keystore.is_unlocked  # the stale key is gone
    fresh = _reopen(keystore_dir, NEW)
    assert fresh.get_secret("before") == b"k" * 32
    fresh.change_passphrase(NEW, "and yet another one")  # nothing sealed under a dead key


def test_reading_after_another_process_changed_the_passphrase_asks_to_unlock_again(keystore, keystore_dir):
    keystore.add_secret("before", "hmac", b"k" * 32)
    assert _change_in_another_process(keystore_dir).wait(60) == 0
    with pytest.raises(KeystoreLocked, match="passphrase was changed"):
        keystore.get_secret("before")


def _during_a_paused_change(keystore_dir: Path, action) -> list[BaseException | None]:
    changer = _change_in_another_process(keystore_dir, pause=True)
    try:
        deadline = time.monotonic() + 60
        while not (keystore_dir.parent / "paused").exists():
            assert changer.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        outcome: list[BaseException | None] = []

        def run() -> None:
            try:
                action()
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001 - the test reads it
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        worker.join(0.5)  # the action runs now if nothing holds it back
        (keystore_dir.parent / "go").touch()
        assert changer.wait(60) == 0
        worker.join(30)
        return outcome
    finally:
        if changer.poll() is None:
            changer.kill()
            changer.wait()


def test_an_entry_added_during_a_change_is_refused_not_sealed_under_the_old_key(keystore, keystore_dir):
    keystore.add_secret("before", "hmac", b"k" * 32)
    (outcome,) = _during_a_paused_change(keystore_dir, lambda: keystore.add_secret("late", "hmac", b"x" * 32))
    assert isinstance(outcome, KeystoreLocked)
    fresh = _reopen(keystore_dir, NEW)
    assert [e.label for e in fresh.entries()] == ["before"]
    fresh.change_passphrase(NEW, "and yet another one")


def test_an_entry_deleted_during_a_change_stays_deleted_or_is_refused(keystore, keystore_dir):
    keystore.add_secret("doomed", "hmac", b"d" * 32)
    (outcome,) = _during_a_paused_change(keystore_dir, lambda: keystore.delete("doomed"))
    fresh = _reopen(keystore_dir, NEW)
    labels = [e.label for e in fresh.entries()]
    # either the deletion waited and was refused (stale unlock), or it happened: never
    # "deleted" and back again
    assert (isinstance(outcome, KeystoreLocked) and labels == ["doomed"]) or (outcome is None and labels == [])
