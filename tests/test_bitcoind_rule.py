"""Which Bitcoin Core the suite uses (tests/bitcoind.py): the rule CI relies on, checked with
small executables standing where the oracle would be."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.bitcoind import ORACLE, locate_bitcoind


def _executable(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _clone(tmp_path: Path) -> Path:
    repo = tmp_path / "ci" / "custody-tui"
    repo.mkdir(parents=True)
    return repo


def test_a_fresh_clone_without_core_skips_saying_how_to_provide_it(tmp_path):
    binary, why = locate_bitcoind({}, _clone(tmp_path))
    assert binary is None
    assert "BITCOIND=" in why and "shared/oracles/bitcoind/bitcoind" in why


def test_the_oracle_beside_the_clone_is_used_when_bitcoind_is_unset(tmp_path):
    repo = _clone(tmp_path)
    oracle = _executable((repo / ORACLE).resolve(), 'echo "Bitcoin Core daemon version v29.2.0"')
    assert locate_bitcoind({}, repo) == (str(oracle), "")


def test_an_oracle_that_cannot_load_its_libraries_skips_with_the_loaders_reason(tmp_path):
    repo = _clone(tmp_path)
    said = "bitcoind: error while loading shared libraries: libevent_extra-2.1.so.7: cannot open shared object file"
    _executable((repo / ORACLE).resolve(), f'echo "{said}" >&2; exit 127')
    binary, why = locate_bitcoind({}, repo)
    assert binary is None and why.endswith(said)


def test_bitcoind_set_wins_over_the_oracle_and_must_be_a_file(tmp_path):
    repo = _clone(tmp_path)
    _executable((repo / ORACLE).resolve(), "exit 0")
    named = _executable(tmp_path / "bin" / "my-bitcoind", "exit 0")
    assert locate_bitcoind({"BITCOIND": str(named)}, repo) == (str(named), "")
    binary, why = locate_bitcoind({"BITCOIND": str(tmp_path / "missing")}, repo)
    assert binary is None and "is not a file" in why
