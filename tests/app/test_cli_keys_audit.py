"""The keys and audit command lines, run in-process against a real keystore and log."""

from __future__ import annotations

import json

import pytest

from backends.keystore import verify_message
from custody_tui.cli import main

from .conftest import PASSPHRASE, cli_runner, fail_audit_after, test_config

ABANDON = " ".join(["abandon"] * 11 + ["about"])


@pytest.fixture
def cli(data_dir, monkeypatch, capsys):
    return cli_runner(data_dir, test_config(), monkeypatch, capsys)


def test_scripted_keystore_session_from_init_to_verified_signature(cli):
    assert cli("keys", "init", stdin=PASSPHRASE + "\n")[0] == 0
    code, out, _ = cli("keys", "import", "cold", "--json", stdin=ABANDON + "\n")
    assert code == 0
    assert json.loads(out)["fingerprint"] == "73c5da0a"  # the BIP-84 test mnemonic's xfp

    code, out, _ = cli("keys", "list", "--json")
    listed = json.loads(out)
    assert [(e["label"], e["kind"]) for e in listed] == [("cold", "mnemonic")]
    assert "abandon" not in out

    code, out, _ = cli("keys", "address", "cold", "m/84h/1h/0h/0/0", "--json")
    assert json.loads(out)["address"] == "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"

    code, out, _ = cli("keys", "sign", "cold", "proof of control", "--json")
    signed = json.loads(out)
    assert verify_message(signed["address"], "proof of control", signed["signature"], "regtest")
    code, out, _ = cli("keys", "verify", signed["address"], "proof of control", signed["signature"])
    assert (code, out.strip()) == (0, "valid")
    code, out, _ = cli("keys", "verify", signed["address"], "proof of contro1", signed["signature"])
    assert (code, out.strip()) == (1, "INVALID")
    code, out, _ = cli("keys", "verify", signed["address"], "proof of control", signed["signature"][:-8])
    assert (code, out.strip()) == (1, "INVALID (a message signature is 65 bytes, this one is 60)")


def test_wrong_passphrase_is_refused_and_audited(cli, monkeypatch):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", "not the passphrase")
    code, out, err = cli("keys", "import", "cold", stdin=ABANDON + "\n")
    assert code == 1
    assert "passphrase" in err.lower()
    assert "not the passphrase" not in err
    assert cli("keys", "list", "--json")[1].strip() == "[]"

    code, out, _ = cli("audit", "list", "--json")
    outcomes = [(e["action"], e["outcome"]) for e in json.loads(out)]
    assert ("unlock", "refused") in outcomes
    assert ABANDON not in out


def test_every_action_lands_in_a_verifiable_audit_chain(cli, tmp_path):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    cli("keys", "create", "hot", "--words", "12")
    code, out, _ = cli("audit", "verify", "--json")
    status = json.loads(out)
    assert code == 0 and status["ok"] and status["entries_checked"] == 3

    export = tmp_path / "audit.json"
    assert cli("audit", "export", str(export))[0] == 0
    document = json.loads(export.read_text())
    assert [e["action"] for e in document["entries"]] == ["initialise", "unlock", "create-mnemonic"]


def test_reveal_refuses_without_a_terminal_confirmation(cli):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    cli("keys", "import", "cold", stdin=ABANDON + "\n")
    code, out, err = cli("keys", "reveal", "cold")
    assert code == 1
    assert "abandon" not in out + err


def test_a_piped_passphrase_keeps_its_spaces_as_a_typed_one_would(cli, monkeypatch):
    from backends.keystore import mnemonic_to_seed
    from backends.keystore.bip32 import fingerprint_of, master_key

    spaced = "  my 25th word "
    monkeypatch.delenv("CUSTODY_TUI_PASSPHRASE")
    assert cli("keys", "init", stdin=" " + PASSPHRASE + "\n")[0] == 0
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", " " + PASSPHRASE)  # as set for scripts
    code, out, _ = cli("keys", "import", "cold", "--bip39-passphrase", "--json",
                       stdin=f"{spaced}\n{ABANDON}\n")
    assert code == 0
    expected = fingerprint_of(master_key(mnemonic_to_seed(ABANDON, spaced)))
    assert json.loads(out)["fingerprint"] == expected


def test_the_app_keystore_locks_after_a_suspend_longer_than_its_ttl(data_dir, monkeypatch):
    import time

    from custody_tui.services import Services

    asleep = {"seconds": 0.0}
    monkeypatch.setattr(time, "monotonic", lambda: 500.0)  # stops while the machine sleeps
    real_clock_gettime = time.clock_gettime
    monkeypatch.setattr(time, "clock_gettime",
                        lambda clock_id: 500.0 + asleep["seconds"] if clock_id in (
                            getattr(time, "CLOCK_BOOTTIME", None), time.CLOCK_MONOTONIC)
                        else real_clock_gettime(clock_id))
    keystore = Services(test_config(), data_dir).keystore
    keystore.initialize(PASSPHRASE)
    keystore.unlock(PASSPHRASE, 300)
    asleep["seconds"] = 3600.0
    assert not keystore.is_unlocked


def test_an_action_done_but_not_recorded_says_so_and_not_that_it_failed(cli, monkeypatch):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    fail_audit_after(monkeypatch, "create-mnemonic")
    code, _, err = cli("keys", "create", "hot", "--words", "12")
    monkeypatch.undo()
    assert code == 1
    assert "keys create-mnemonic was done, but the audit log could not record it (database or disk is full)" in err
    assert "do not repeat it" in err
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)
    assert [e["label"] for e in json.loads(cli("keys", "list", "--json")[1])] == ["hot"]  # it was done


def test_a_path_that_cannot_be_used_is_an_error_not_a_traceback(cli, tmp_path):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    code, out, err = cli("audit", "export", str(tmp_path))  # a directory, not a file
    assert code == 1 and err.strip() == f"error: cannot use {tmp_path}: Is a directory"
    assert "Traceback" not in err


@pytest.mark.parametrize(("value", "says"), [("", "must name a directory"), ("FILE", "is not a directory")])
def test_a_data_dir_that_is_not_a_directory_is_refused(tmp_path, capsys, value, says):
    afile = tmp_path / "afile"
    afile.write_text("")
    with pytest.raises(SystemExit) as exit_:
        main(["--data-dir", str(afile) if value == "FILE" else value, "audit", "list"])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err
    assert not (tmp_path / "audit.sqlite3").exists()


def test_an_export_never_replaces_a_file_unless_forced(cli, tmp_path):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    target = tmp_path / "someone-elses.json"
    target.write_text("precious")
    code, _, err = cli("audit", "export", str(target))
    assert code == 1 and "already exists; nothing was written" in err
    assert target.read_text() == "precious"
    assert cli("audit", "export", str(target), "--force")[0] == 0
    assert json.loads(target.read_text())["verification"]["ok"]


def test_audit_verify_names_the_anchor_mismatches_the_log_recorded(cli, data_dir):
    """A deleted anchor (with the tail cut) heals at the next append, which records what it
    found; `audit verify` says intact for the chain and names that record beside it."""
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    cli("audit", "export", str(data_dir / "first.json"))
    (data_dir / "audit.sqlite3.head").unlink()
    cli("audit", "export", str(data_dir / "second.json"))  # an action: it heals the anchor
    code, out, _ = cli("audit", "verify")
    assert code == 0 and out.startswith("intact")
    assert "warning: 1 anchor mismatch recorded" in out and "#3" in out
    code, out, _ = cli("audit", "verify", "--json")
    assert json.loads(out)["recorded_anchor_mismatches"] == [3]


def test_passphrase_change_reseals_every_entry_and_a_wrong_current_one_changes_nothing(cli, monkeypatch):
    cli("keys", "init", stdin=PASSPHRASE + "\n")
    cli("keys", "import", "cold", stdin=ABANDON + "\n")
    new = "a longer new passphrase"

    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", "not the passphrase")
    code, _, err = cli("keys", "passphrase", stdin=new + "\n")
    assert code == 1 and "passphrase" in err.lower() and new not in err
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)
    assert cli("keys", "address", "cold", "m/84h/1h/0h/0/0")[0] == 0  # still the old one

    assert cli("keys", "passphrase", stdin=new + "\n")[0] == 0
    assert cli("keys", "address", "cold", "m/84h/1h/0h/0/0")[0] == 1  # the old one no longer opens it
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", new)
    code, out, _ = cli("keys", "address", "cold", "m/84h/1h/0h/0/0", "--json")
    assert json.loads(out)["address"] == "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"

    code, out, _ = cli("audit", "list", "--json")
    outcomes = [(e["action"], e["outcome"]) for e in json.loads(out)]
    assert ("change-passphrase", "refused") in outcomes and ("change-passphrase", "ok") in outcomes
    assert new not in out and PASSPHRASE not in out
