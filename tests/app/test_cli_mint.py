"""``custody-tui mint ...`` against the embedded chain: keys, a deposit, a redemption paid by
the keystore's reserve key, the figures, and every change in the audit log."""

from __future__ import annotations

import json

import pytest

from backends.keystore import KdfParams, Keystore
from backends.wallet import parse_descriptor
from custody_tui.cli import main
from custody_tui.config import ChainConfig, MintConfig, render_toml
from custody_tui.services import Services

from .conftest import PASSPHRASE, test_config

ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
BURN = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture
def cli(data_dir, capsys, monkeypatch):
    keystore = Keystore(data_dir / "keystore", KdfParams(opslimit=1, memlimit=8 * 1024 * 1024))
    keystore.initialize(PASSPHRASE)
    keystore.unlock(PASSPHRASE, 60)
    keystore.import_mnemonic("reserve", ABANDON)
    descriptor = f"wpkh({keystore.descriptor_key('reserve', 'm/84h/1h/0h', 'regtest')}/<0;1>/*)"
    keystore.lock()
    config = test_config(chain=ChainConfig(backend="embedded"), mint=MintConfig(
        reserve_descriptor=descriptor, reserve_signer_label="reserve", finalization_depth=2, fee_rate=2.0))
    (data_dir / "config.toml").write_text(render_toml(config))
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.config, run.data_dir, run.descriptor = config, data_dir, descriptor
    return run


def _notes_redeemed(cli, deposit_ref: str, claim_secret: str) -> str:
    """What a user's wallet does (blind, get signed, unblind, redeem), through the backend."""
    from backends.mint.blindrsa import blind, finalize, prepare
    from backends.mint.issuance import BlindRequest
    from backends.mint.notes import Note

    services = Services(cli.config, cli.data_dir)
    try:
        services.keystore.unlock(PASSPHRASE, 60)
        mint = services.mint
        keyset = mint.keyset()
        message = prepare(b"serial-1", keyset.variant)
        blinded = blind(keyset.public_key(10_000), message, keyset.variant)
        [blind_sig] = mint.issue_blind(deposit_ref, [BlindRequest(10_000, blinded.blinded_msg)],
                                       claim_secret=claim_secret).blind_sigs
        sig = finalize(keyset.public_key(10_000), message, blind_sig, blinded.inv, keyset.variant)
        return mint.create_redemption([Note(keyset.keyset_id, 10_000, message, sig)], BURN).redemption_id
    finally:
        services.close()


def test_an_operator_runs_the_mint_from_the_command_line(cli):
    assert cli("chain", "watch", cli.descriptor)[0] == 0
    code, out, err = cli("mint", "keys", "create", "--denominations", "1000,10000", "--json")
    assert code == 0, err
    assert sorted(json.loads(out)["keys"]) == ["1000", "10000"]
    code, out, err = cli("mint", "deposit", "address", "--json")
    claim = json.loads(out)
    assert code == 0 and claim["address"] == parse_descriptor(cli.descriptor, "regtest").receive_address(0)
    assert cli("chain", "mine", "2", "--to", claim["address"])[0] == 0
    assert cli("chain", "mine", "100", "--to", BURN)[0] == 0

    coinbase = json.loads(cli("chain", "utxos", "--json")[1])[0]
    code, out, _ = cli("mint", "deposit", "register", coinbase["txid"], "0", "--json")
    deposit = json.loads(out)
    assert (code, deposit["status"], deposit["finalization_depth_required"]) == (0, "registered", 2)
    assert cli("mint", "refresh")[0] == 0
    assert json.loads(cli("mint", "deposit", "list", "--json")[1])[0]["status"] == "credited"

    batch = _notes_redeemed(cli, deposit["mint_deposit_ref"], claim["claim_secret"])
    code, _, err = cli("mint", "redemptions", "approve", batch)
    assert code == 1 and "no mint operator key" in err and "mint operator create" in err
    assert cli("mint", "operator", "create", "op-carol")[0] == 0
    assert cli("mint", "pause", "--reason", "key ceremony")[0] == 0
    code, _, err = cli("mint", "redemptions", "approve", batch)
    assert code == 1 and "paused by" in err and "key ceremony" in err
    assert cli("mint", "resume")[0] == 0
    events = json.loads(cli("mint", "events", "list", "--json")[1])
    paused_event = next(e for e in events if e["message"].endswith("key ceremony"))
    assert cli("mint", "events", "ack", str(paused_event["event_id"]))[0] == 0
    assert cli("mint", "events", "silence", "health", "--hours", "2", "--reason", "drill")[0] == 0
    assert json.loads(cli("mint", "events", "silences", "--json")[1])[0]["reason"] == "drill"
    code, out, err = cli("mint", "redemptions", "approve", batch, "--json")
    assert code == 0, err
    paid = json.loads(out)
    assert paid["status"] == "broadcast" and len(paid["txid"]) == 64
    assert paid["approved_by"] == "op-carol"  # the operator key, not the local user

    books = json.loads(cli("mint", "accounting", "--json")[1])
    assert (books["issued_sat"], books["redemptions_broadcast_sat"]) == (10_000, 10_000)
    status = json.loads(cli("mint", "status", "--json")[1])
    assert status["redemptions"]["broadcast"] == 1 and status["health"]["status"] == "healthy"
    assert status["payout_allowance"] is None  # the hot key has no period limit of its own
    assert (status["deposit_addresses"]["outstanding"], status["deposit_addresses"]["cap"]) == (0, 1000)
    assert "deposit addresses: 0 waiting for a deposit (cap 1000)" in cli("mint", "status")[1]
    assert json.loads(cli("mint", "reserves", "--json")[1])["utxo_count"] == 1  # the other is in flight

    code, out, _ = cli("mint", "metrics")
    assert code == 0 and "mint_redemptions{status=\"broadcast\"} 1" in out

    attestation = cli.data_dir / "attestation.json"
    assert cli("mint", "attest", "--out", str(attestation))[0] == 0
    code, out, _ = cli("mint", "verify-attestation", str(attestation))
    assert code == 0 and "attestation verified" in out
    assert cli("mint", "attest", "--out", str(attestation))[0] == 1  # never replaced unless --force
    tampered = json.loads(attestation.read_text())
    tampered["reserves_sat"] += 1
    attestation.write_text(json.dumps(tampered))
    code, _, err = cli("mint", "verify-attestation", str(attestation))
    assert code == 1 and "field 'reserves_sat' was altered" in err

    code, out, _ = cli("mint", "consolidate", "plan", "--json")
    assert code == 0 and "nothing to consolidate" in json.loads(out)["reason"]
    code, _, err = cli("mint", "consolidate", "execute", "--operator", "op-dave")  # signed, so a known key
    assert code == 1 and "no operator key 'op-dave'" in err
    code, _, err = cli("mint", "consolidate", "execute")
    assert code == 1 and "nothing to consolidate" in err

    audit = cli("audit", "list", "--area", "mint", "--json")[1]
    assert claim["claim_secret"] not in audit
    for action in ("keys create", "deposit address", "deposit register", "refresh", "redemption approve", "pause", "resume",
                   "event ack", "event silence"):
        assert action in audit
    _approval_is_verifiable_like_an_http_one(cli, batch)


def _approval_is_verifiable_like_an_http_one(cli, batch: str) -> None:
    from backends.mint.operators import verify_recorded

    services = Services(cli.config, cli.data_dir)
    try:
        services.keystore.unlock(PASSPHRASE, 60)
        [approval] = [e for e in services.audit.export_dicts()
                      if e["action"] == "redemption approve" and e["outcome"] == "ok"]
        details = approval["details"]
        assert (details["via"], details["operator"], details["batch_id"]) == ("cli", "op-carol", batch)
        recorded = details["signed_request"]
        assert recorded["path"] == "/redemptions/approve_broadcast"
        assert json.loads(recorded["body"])["batch_id"] == batch
        assert verify_recorded(services.keystore, recorded) == "op-carol"
        # a record altered after the fact: another operator named, another batch, another body
        from backends.mint.operators import check_audited_requests

        for change in ({"operator": "op-mallory"}, {"batch_id": "another"},
                       {"signed_request": {**recorded, "body": recorded["body"].replace(batch, "x" * len(batch))}}):
            [row] = check_audited_requests(services.keystore, [{**approval, "details": {**details, **change}}])
            assert row["problem"], change
    finally:
        services.close()
    code, out, err = cli("mint", "verify-requests", "--json")
    assert code == 0, err
    assert [(r["action"], r["operator"], r["problem"]) for r in json.loads(out)] == [
        ("redemption approve", "op-carol", None)]


def test_a_refused_mint_action_exits_1_with_the_reason_and_is_audited(cli):
    assert cli("mint", "operator", "create", "op-carol")[0] == 0
    code, _, err = cli("mint", "redemptions", "reject", "nope", "--reason", "test", "--operator", "op-carol")
    assert code == 1 and "no redemption has id 'nope'" in err
    assert "refused" in cli("audit", "list", "--area", "mint", "--json")[1]


@pytest.mark.parametrize("line, message", [
    ("max_inputs = 0", "mint.max_inputs must be 1 to 500"),
    ("deposit_address_cap = 0", "mint.deposit_address_cap must be 1 to 1000000"),
    ("deposit_address_expiry_hours = nan", "mint.deposit_address_expiry_hours must be a finite number"),
    ("deposit_address_expiry_hours = 0.001", "mint.deposit_address_expiry_hours must be 1/60"),
    ("deposit_address_rate_per_hour = inf", "mint.deposit_address_rate_per_hour must be a finite number"),
    ("deposit_address_rate_per_hour = 0", "mint.deposit_address_rate_per_hour must be above 0"),
    ("deposit_address_burst = 0", "mint.deposit_address_burst must be 1 to 10000"),
    ("deposit_address_burst = 'many'", "mint.deposit_address_burst"),
])
def test_a_bad_mint_config_names_the_key(data_dir, capsys, line, message):
    (data_dir / "config.toml").write_text(f"network = 'regtest'\n[mint]\n{line}\n")
    assert main(["--data-dir", str(data_dir), "mint", "status"]) == 1
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_serve_refuses_a_port_outside_1_to_65535_as_bad_usage(cli, port) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli("mint", "serve", "--port", port)
    assert stopped.value.code == 2


def test_serve_on_a_port_already_taken_fails_with_a_message_and_exit_1(cli) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli("chain", "watch", cli.descriptor)[0] == 0
        code, out, err = cli("mint", "serve", "--port", str(port))
    assert code == 1 and "Traceback" not in err
    assert f"cannot serve the mint API on 127.0.0.1:{port}" in err
    assert "mint API on" not in out  # never claimed to be serving


def test_events_list_refuses_a_limit_no_database_can_hold(cli) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli("mint", "events", "list", "--limit", "99999999999999999999")
    assert stopped.value.code == 2


READ_ONLY = [("status",), ("status", "--json"), ("reserves",), ("health",), ("accounting", "--json"), ("metrics",),
             ("keys", "list"), ("deposit", "list"), ("redemptions", "list"), ("consolidate", "plan"),
             ("consolidate", "list"), ("events", "list"), ("events", "silences")]


@pytest.mark.parametrize("command", READ_ONLY, ids=" ".join)
def test_a_read_only_mint_command_on_a_data_dir_without_a_mint_says_so_and_creates_nothing(tmp_path, capsys, command):
    data_dir = tmp_path / "nothing-here"
    assert main(["--data-dir", str(data_dir), "mint", *command]) == 1
    err = capsys.readouterr().err
    assert "no mint here yet" in err and "mint keys create" in err
    assert not data_dir.exists()


@pytest.mark.parametrize("hours", ["nan", "NaN", "inf", "-inf", "1e400", "0", "-1", "721", "two", "²"])
def test_silence_hours_that_are_not_a_finite_number_up_to_720_are_bad_usage_with_a_clear_message(
        tmp_path, capsys, hours):
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(tmp_path / "d"), "mint", "events", "silence", "health", f"--hours={hours}",
              "--reason", "drill"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--hours: must be a number of hours above 0 and at most 720" in err and repr(hours) in err
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("hours", ["nan", "inf", "0"])
def test_serve_unlock_hours_must_be_a_finite_number_too(tmp_path, capsys, hours):
    with pytest.raises(SystemExit) as stopped:
        main(["--data-dir", str(tmp_path / "d"), "mint", "serve", "--unlock-hours", hours])
    assert stopped.value.code == 2
    assert "--unlock-hours: must be a number of hours above 0 and at most 720" in capsys.readouterr().err


@pytest.mark.parametrize("setting, message", [
    ("reserve_signer = 'cold'", "mint.reserve_signer must be 'hot' or 'quorum'"),
    ("reserve_signer = 'quorum'", "mint.reserve_signer = 'quorum' needs [quorum] and its signers"),
])
def test_the_reserve_signer_setting_is_checked_naming_the_key(data_dir, capsys, setting, message):
    (data_dir / "config.toml").write_text(f"network = 'regtest'\n[mint]\n{setting}\n")
    assert main(["--data-dir", str(data_dir), "mint", "status"]) == 1
    assert message in capsys.readouterr().err
