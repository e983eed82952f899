"""``custody-tui bunker``: tokens from the command line, and a demo ATM against a live bunker."""

from __future__ import annotations

import json

import pytest

from backends.bunker.local_relay import LocalRelay
from custody_tui.commands.bunker import build_service, parse_duration
from backends.bunker.errors import InvalidTokenRequest
from custody_tui.config import BunkerConfig
from custody_tui.services import Services

from .conftest import PASSPHRASE, cli_runner, test_config


@pytest.fixture(scope="module")
def relay_url():
    with LocalRelay() as relay:
        yield relay.url


@pytest.fixture
def config(relay_url):
    return test_config(bunker=BunkerConfig(relays=relay_url))


@pytest.fixture
def cli(data_dir, config, monkeypatch, capsys):
    run = cli_runner(data_dir, config, monkeypatch, capsys)
    run("keys", "init", stdin=PASSPHRASE + "\n")
    return run


def _json(result):
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


def test_token_lifecycle_from_the_command_line(cli, data_dir) -> None:
    pubkey = _json(cli("bunker", "key", "add", "fleet", "--json"))["pubkey"]
    created = _json(cli("bunker", "token", "create", "--key", "fleet", "--client", "atm-lisbon",
                        "--perm", "sign_event:21000", "--expires", "30d", "--json"))
    assert set(created) == {"id", "url", "expires_at"}
    assert created["url"].startswith(f"bunker://{pubkey}?relay=ws%3A%2F%2F127.0.0.1")
    listed = _json(cli("bunker", "token", "list", "--json"))
    assert [(t["id"], t["state"], t["permissions"]) for t in listed] == [(created["id"], "unpaired", "sign_event:21000")]
    reissued = _json(cli("bunker", "token", "reissue", created["id"], "--json"))
    assert reissued["url"] != created["url"]
    assert _json(cli("bunker", "token", "revoke", created["id"], "--json"))["state"] == "revoked"
    assert _json(cli("bunker", "token", "revoke-all", "--json")) == {"revoked": 0}
    code, _, err = cli("bunker", "token", "create", "--key", "fleet", "--client", "x", "--perm", "sign_event:1e3")
    assert code == 1 and "sign_event:1e3" in err
    code, _, err = cli("bunker", "token", "revoke", "nope")
    assert code == 1 and "no token 'nope'" in err
    audit = _json(cli("audit", "list", "--json"))
    actions = [(e["action"], e["outcome"]) for e in audit if e["area"] == "bunker"]
    assert ("token create", "ok") in actions and ("token revoke", "ok") in actions
    assert ("token create", "refused") in actions
    assert created["url"].split("secret=")[1] not in json.dumps(audit)


def test_demo_client_pairs_signs_21000_and_is_refused_kind_1(cli, config, data_dir) -> None:
    cli("bunker", "key", "add", "fleet")
    created = _json(cli("bunker", "token", "create", "--key", "fleet", "--client", "atm-1",
                        "--perm", "sign_event:21000", "--json"))
    services = Services(config, data_dir)
    services.keystore.unlock(PASSPHRASE, 60)
    service = build_service(services, services.keystore).start()
    try:
        report = _json(cli("bunker", "demo-client", created["url"], "--json"))
        assert report["connect"] == "ack" and len(report["kind_21000"]) == 64
        assert report["kind_1"].startswith("refused") and "not allowed" in report["kind_1"]
        log = _json(cli("bunker", "token", "log", created["id"], "--json"))
        assert [(r["method"], r["kind"], r["allowed"]) for r in log][:2] == [
            ("sign_event", 1, False), ("sign_event", 21000, True)]
        # the same URL from a second device (read from stdin, off argv): refused, and said so
        code, _, err = cli("bunker", "demo-client", "-", stdin=created["url"] + "\n")
        assert code == 1 and "redeemed by another device" in err
    finally:
        service.stop()
        services.close()


@pytest.mark.parametrize("text, seconds", [("90m", 5400), ("12h", 43200), ("30d", 2592000), ("4w", 2419200)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration_is_a_usage_error() -> None:
    with pytest.raises(InvalidTokenRequest):
        parse_duration("30 days")


def test_serve_runs_until_interrupted_and_a_rotated_device_is_served(cli, data_dir, relay_url) -> None:
    import os
    import signal
    import subprocess
    import sys

    from backends.bunker.nostr import SecretKey

    cli("bunker", "key", "add", "fleet")
    created = _json(cli("bunker", "token", "create", "--key", "fleet", "--client", "atm-1",
                        "--perm", "sign_event:21000", "--json"))
    env = {**os.environ, "CUSTODY_TUI_PASSPHRASE": PASSPHRASE}
    serve = subprocess.Popen([sys.executable, "-m", "custody_tui", "--data-dir", str(data_dir),
                              "bunker", "serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=env)
    try:
        assert serve.stderr.readline().strip() == f"{relay_url}: connected"
        assert _json(cli("bunker", "demo-client", created["url"], "--json"))["connect"] == "ack"
        # the ATM was rebuilt with a new client key: rotate binds the token to it
        import asyncio

        from backends.bunker.client import BunkerClient
        from backends.bunker.url import parse_bunker_url

        new_key = SecretKey.generate()
        assert _json(cli("bunker", "token", "rotate", created["id"], new_key.public_hex,
                         "--json"))["device_pubkey"] == new_key.public_hex

        async def rebuilt() -> dict:
            async with BunkerClient(parse_bunker_url(created["url"]), new_key) as atm:
                return await atm.sign_event(21000, "rebuilt ATM")

        assert asyncio.run(rebuilt())["kind"] == 21000
    finally:
        serve.send_signal(signal.SIGINT)
        assert serve.wait(10) == 0
    assert "bunker serving fleet" in serve.stdout.read()


@pytest.mark.parametrize("argv", [("token", "log", "any-id", "--limit", "99999999999999999999"),
                                  ("token", "log", "any-id", "--limit", "-1"),
                                  ("relay", "--port", "99999")])
def test_an_out_of_range_count_is_bad_usage_not_a_traceback(cli, argv) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli("bunker", *argv)
    assert stopped.value.code == 2
