"""The file primitives every backend relies on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.fsutil import atomic_write, ensure_private_dir


def test_a_data_dir_and_every_parent_it_creates_are_private(tmp_path):
    previous = os.umask(0o022)  # the usual umask, which would leave new dirs 0755
    try:
        leaf = ensure_private_dir(tmp_path / "share" / "custody-tui" / "logs")
    finally:
        os.umask(previous)
    for path in (leaf, leaf.parent, leaf.parent.parent):
        assert path.stat().st_mode & 0o777 == 0o700
    assert ensure_private_dir(leaf) == leaf  # idempotent


def test_an_existing_parent_keeps_its_mode(tmp_path):
    tmp_path.chmod(0o755)
    ensure_private_dir(tmp_path / "data")
    assert tmp_path.stat().st_mode & 0o777 == 0o755


def test_atomic_write_replaces_and_exclusive_refuses(tmp_path):
    target = tmp_path / "file"
    atomic_write(target, b"one")
    atomic_write(target, b"two")
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        atomic_write(target, b"three", exclusive=True)
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_an_operator_path_in_a_missing_directory_is_refused_not_created(tmp_path):
    from backends.errors import os_error_message

    target = tmp_path / "typo" / "export.json"
    with pytest.raises(FileNotFoundError) as caught:
        atomic_write(target, b"{}", make_parents=False)
    assert os_error_message(caught.value) == f"cannot use {tmp_path / 'typo'}: no such directory"
    assert not (tmp_path / "typo").exists()


def test_a_failure_names_the_file_asked_for_not_the_temporary_one():
    from backends.errors import os_error_message

    target = Path("/proc/custody-tui-export.json")  # no file can be made here, even by root
    with pytest.raises(OSError) as caught:
        atomic_write(target, b"{}")
    assert os_error_message(caught.value).startswith(f"cannot use {target}: ")
