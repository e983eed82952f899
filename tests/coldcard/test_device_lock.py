"""The per-device lock file every custody-tui process of a user shares: private to that user,
and a typed error (never a traceback) when it cannot be had."""

from __future__ import annotations

import os
import tempfile

import pytest

from backends.coldcard.client import ColdcardClient, _lock_file
from backends.coldcard.errors import ColdcardError


@pytest.fixture
def temp_root(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def lock_dir(root) -> str:
    return os.path.join(root, f"custody-tui-{os.getuid()}-devices")


def test_the_lock_directory_is_made_private(temp_root):
    path = _lock_file("/tmp/some-simulator-socket")
    assert os.path.dirname(path) == lock_dir(temp_root)
    assert os.stat(lock_dir(temp_root)).st_mode & 0o777 == 0o700


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_lock_directory_others_may_write_is_refused_by_name(temp_root, mode):
    # another user (or a careless chmod) could hold every device's lock or delete it
    os.mkdir(lock_dir(temp_root))
    os.chmod(lock_dir(temp_root), mode)
    with pytest.raises(ColdcardError, match="custody-tui-.*-devices"):
        ColdcardClient(str(temp_root / "no-device.sock")).hsm_status()


def test_a_lock_directory_that_is_a_symlink_is_refused(temp_root, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    os.chmod(elsewhere, 0o700)
    os.symlink(elsewhere, lock_dir(temp_root))
    with pytest.raises(ColdcardError, match="custody-tui-.*-devices"):
        ColdcardClient(str(temp_root / "no-device.sock")).hsm_status()


def test_a_lock_directory_that_cannot_be_made_is_a_typed_error(temp_root):
    (temp_root / f"custody-tui-{os.getuid()}-devices").write_text("not a directory")
    with pytest.raises(ColdcardError, match="custody-tui-.*-devices"):
        ColdcardClient(str(temp_root / "no-device.sock")).hsm_status()
