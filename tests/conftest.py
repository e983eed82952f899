"""Fixtures shared by every test: a deterministic environment for Textual."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# the official Coldcard simulator for any test that asks for it (skips when absent)
from tests.official_sim import official_simulator, start_official_simulator  # noqa: F401

# The suite is a gate: the same tree passes or fails the same way on every run. Property
# tests draw a fixed sequence of examples unless HYPOTHESIS_PROFILE=explore asks for fresh ones.
settings.register_profile("gate", derandomize=True, deadline=None, database=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.fixture(autouse=True)
def deterministic_textual(monkeypatch: pytest.MonkeyPatch) -> None:
    # settings that leak into rendering (research/textual.md, snapshot gotchas)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TEXTUAL_THEME", raising=False)
    monkeypatch.delenv("CUSTODY_TUI_CONFIG", raising=False)
    monkeypatch.delenv("CUSTODY_TUI_PASSPHRASE", raising=False)


@pytest.fixture(scope="session")
def isolated_home(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def no_runner_config(monkeypatch: pytest.MonkeyPatch, isolated_home) -> None:
    """The runner's own config and data dirs never reach a test (a CLI call without
    --config would otherwise read ~/.config/custody-tui/config.toml)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(isolated_home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated_home / "data"))


@pytest.fixture(scope="session")
def bitcoind_node(tmp_path_factory: pytest.TempPathFactory):
    """One regtest Bitcoin Core for the session (see tests/bitcoind.py), or skip saying why not."""
    from tests.bitcoind import SessionNode, locate_bitcoind

    binary, why_not = locate_bitcoind()
    if binary is None:
        pytest.skip(why_not)
    node = SessionNode(binary, tmp_path_factory.mktemp("bitcoind"))
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def core_chain(bitcoind_node):
    """A Bitcoind chain on the session node with a wallet of its own, on a chain back at genesis."""
    chain = bitcoind_node.open_chain()
    try:
        yield chain
    finally:
        chain.close()
        bitcoind_node.reset(chain)
