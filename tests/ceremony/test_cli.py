"""``custody-tui ceremony ...`` in process: node selection, refusals with a reason, the
audit record, and a full message signature driven from the command line alone."""

from __future__ import annotations

import json

import pytest

from backends.audit import AuditLog
from backends.board import init_board
from custody_tui.cli import main

from .rig import PASSPHRASE


@pytest.fixture
def cli(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.toml").write_text(
        'network = "regtest"\n[keystore]\nkdf_opslimit = 1\nkdf_memlimit_mib = 8\n[chain]\nbackend = "none"\n')
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(tmp_path), "ceremony", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.root = tmp_path
    return run


def test_without_a_node_the_commands_say_how_to_make_one(cli):
    code, _, err = cli("list")
    assert code == 1 and "no ceremony node" in err and "node init" in err


def test_with_several_nodes_one_must_be_named(cli):
    board = init_board(cli.root / "board.git")
    for name in ("alice", "bob"):
        assert cli("node", "init", "--name", name, "--board", str(board))[0] == 0
    code, _, err = cli("list")
    assert code == 1 and "--node" in err and "alice" in err
    code, out, _ = cli("--node", "bob", "node", "show", "--json")
    assert code == 0 and json.loads(out)["name"] == "bob"


def test_bad_input_is_refused_with_a_reason_and_changes_nothing(cli):
    board = init_board(cli.root / "board.git")
    cli("node", "init", "--name", "alice", "--board", str(board))
    code, _, err = cli("roster", "add", "bob", "zz")
    assert code == 1 and "66 hex" in err
    code, _, err = cli("roster", "add", "bob", "02" + "00" * 32)
    assert code == 1 and "point" in err
    code, _, err = cli("dkg", "start", "--name", "k", "--participants", "alice,mallory", "-t", "2")
    assert code == 1 and "mallory" in err and "roster" in err
    code, _, err = cli("sign", "approve", "ab" * 16)
    assert code == 1 and "no ceremony" in err
    code, out, _ = cli("list", "--json")
    assert code == 0 and json.loads(out) == []


def test_a_message_is_signed_from_the_command_line_and_every_step_is_audited(cli):
    board = init_board(cli.root / "board.git")
    keys = {}
    for name in ("alice", "bob", "carol"):
        _, out, _ = cli("node", "init", "--name", name, "--board", str(board), "--json")
        keys[name] = json.loads(out)["hostkey"]
    for name in keys:
        for other, key in keys.items():
            if other != name:
                assert cli("--node", name, "roster", "add", other, key)[0] == 0
    code, out, err = cli("--node", "alice", "dkg", "start", "--name", "k", "--participants", "alice,bob,carol",
                         "-t", "2", "--json")
    assert code == 0, err
    cid = json.loads(out)["ceremony"]
    for name in ("bob", "carol"):  # an id the node has not seen yet is looked up on the board
        code, out, err = cli("--node", name, "dkg", "join", cid[:8])
        assert code == 0 and "params hash" in out, err
    for _ in range(3):
        for name in keys:
            assert cli("--node", name, "sync")[0] == 0
    code, out, _ = cli("--node", "carol", "dkg", "status", cid, "--json")
    assert json.loads(out)[0]["state"] == "complete" and json.loads(out)[0]["address"].startswith("bcrt1p")
    code, out, err = cli("--node", "bob", "sign", "request", "--dkg", cid[:10], "--message", "proof of reserves",
                         "--reason", "auditor", "--json")
    assert code == 0, err
    sid = json.loads(out)["ceremony"]
    code, _, err = cli("--node", "alice", "sign", "review", sid)
    assert code == 1 and "sync first" in err  # review reads only what this node has
    cli("--node", "alice", "sync")
    code, out, _ = cli("--node", "alice", "sign", "review", sid)
    assert code == 0 and "proof of reserves" in out and "auditor" in out
    for name in ("alice", "carol"):
        assert cli("--node", name, "sign", "approve", sid)[0] == 0
    for _ in range(2):
        for name in keys:
            cli("--node", name, "sync")
    code, out, _ = cli("--node", "bob", "status", sid, "--json")
    (status,) = json.loads(out)
    assert status["state"] == "complete" and status["result"]["signatures"] and not status["mismatches"]
    with AuditLog(cli.root / "audit.sqlite3") as log:
        actions = {entry.action for entry in log.entries() if entry.area == "ceremony"}
    assert {"node init", "roster add", "dkg start", "dkg join", "sign request", "sign approve", "sync"} <= actions
