from __future__ import annotations

from pathlib import Path

import pytest

from backends.keystore import KdfParams, Keystore

PASSPHRASE = "correct horse battery staple"
ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
VECTORS = Path(__file__).resolve().parent.parent / "vectors"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keystore_dir(tmp_path: Path) -> Path:
    return tmp_path / "keystore"


@pytest.fixture
def keystore(keystore_dir: Path, clock: FakeClock) -> Keystore:
    """An initialized, unlocked keystore with test-sized Argon2id cost."""
    store = Keystore(keystore_dir, KdfParams.fast(), clock=clock, wall_clock=lambda: 1_700_000_000)
    store.initialize(PASSPHRASE)
    store.unlock(PASSPHRASE, ttl_seconds=300)
    return store
