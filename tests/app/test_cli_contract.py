"""What a script can rely on from the command line: with --json, stdout is one JSON value
even when the command fails (an object with ``error``); exit codes 0/1/2, and 70 for a
bug, which prints no traceback and no exception text (it may quote a secret)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from custody_tui.cli import main

from .conftest import cli_runner, test_config


@pytest.fixture
def cli(data_dir, monkeypatch, capsys):
    return cli_runner(data_dir, test_config(), monkeypatch, capsys)


def test_a_refused_command_with_json_prints_one_error_object(cli):
    code, out, err = cli("keys", "list", "--json")  # no keystore yet
    assert code == 1
    document = json.loads(out)
    assert document["type"] == "KeystoreNotInitialized" and "no keystore" in document["error"]
    assert document["hint"]
    assert "error: no keystore" in err  # people still read stderr


def test_a_usage_error_with_json_prints_one_error_object(data_dir, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(data_dir), "audit", "list", "--limit", "0", "--json"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["type"] == "usage" and "--limit" in document["error"]
    assert "usage:" in captured.err


def test_a_bug_exits_70_without_traceback_or_exception_text(cli, monkeypatch, data_dir):
    from custody_tui.commands import audit as audit_cmd

    def broken(args, services):
        raise ValueError("xprv9s21ZrQH143K-would-leak")

    monkeypatch.setattr(audit_cmd, "run", broken)
    code, out, err = cli("audit", "list")
    assert code == 70
    assert "Traceback" not in err and "xprv" not in err and "ValueError" in err
    # the traceback is kept for the bug report, in the private log file the error names
    log = data_dir / "logs" / "custody-tui.log"
    assert str(log) in err and "Traceback" in log.read_text() and log.stat().st_mode & 0o777 == 0o600
    code, out, err = cli("audit", "list", "--json")
    assert code == 70 and json.loads(out)["type"] == "internal" and "xprv" not in out


def test_a_lifetime_with_thousands_of_digits_is_refused_not_a_traceback(cli):
    code, out, err = cli("bunker", "token", "create", "--key", "k", "--client", "atm",
                         "--perm", "sign_event:21000", "--expires", "1" * 5000 + "d")
    assert code == 1 and "lifetime" in err and "Traceback" not in err


class _NotARelay(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args):
        pass


def test_demo_client_against_something_that_is_not_a_relay_is_refused(cli):
    server = HTTPServer(("127.0.0.1", 0), _NotARelay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"bunker://{'79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798'}" \
              f"?relay=ws://127.0.0.1:{server.server_port}/&secret=ab"
        code, out, err = cli("bunker", "demo-client", url, "--json")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 1 and "Traceback" not in err
    assert json.loads(out)["type"] == "RelayError"
