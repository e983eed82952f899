"""``custody-tui chain ...`` against the embedded chain in a data dir."""

from __future__ import annotations

import json

import pytest

from backends.wallet import descriptor_checksum
from custody_tui.cli import main
from custody_tui.config import ChainConfig, render_toml
from custody_tui.demo import demo_address

from .conftest import test_config

# BIP-84 test mnemonic ("abandon ... about"), account 0 on test networks
TPUB = ("tpubDC8msFGeGuwnKG9Upg7DM2b4DaRqg3CUZa5g8v2SRQ6K4NSkxUgd7HsL2XVWbVm39yBA4LAxysQAm397"
        "zwQSQoQgewGiYZqrA9DsP4zbQ1M")


@pytest.fixture
def cli(data_dir, capsys):
    config = test_config(chain=ChainConfig(backend="embedded"))
    (data_dir / "config.toml").write_text(render_toml(config))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--data-dir", str(data_dir), *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_status_mine_watch_and_utxos(cli):
    code, out, _ = cli("chain", "status", "--json")
    status = json.loads(out)
    assert code == 0
    assert (status["backend"], status["network"], status["height"]) == ("embedded", "regtest", 0)
    assert len(status["tip_hash"]) == 64

    body = f"wpkh([73c5da0a/84h/1h/0h]{TPUB}/<0;1>/*)"
    assert cli("chain", "watch", f"{body}#{descriptor_checksum(body)}")[0] == 0
    first = "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"
    code, out, _ = cli("chain", "mine", "101", "--to", first, "--json")
    assert json.loads(out)["height"] == 101

    code, out, _ = cli("chain", "utxos", "--json")
    utxos = json.loads(out)
    assert len(utxos) == 101
    assert sum(1 for u in utxos if u["confirmations"] >= 100) == 2

    code, out, _ = cli("chain", "status", "--json")
    assert json.loads(out)["height"] == 101


def test_bad_descriptor_checksum_is_refused_before_the_chain_sees_it(cli):
    body = f"wpkh([73c5da0a/84h/1h/0h]{TPUB}/<0;1>/*)"
    code, _, err = cli("chain", "watch", f"{body}#qqqqqqqq")
    assert code == 1
    assert "checksum" in err


def test_mainnet_address_is_refused_on_regtest(cli):
    code, _, err = cli("chain", "mine", "1", "--to", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    assert code == 1
    assert "error:" in err


def test_garbage_broadcast_is_a_clear_error(cli):
    code, _, err = cli("chain", "broadcast", "zz")
    assert code == 1 and "not hex" in err
    code, _, err = cli("chain", "broadcast", "00")
    assert code == 1 and "error:" in err and "Traceback" not in err


def test_no_chain_configured_says_how_to_configure_one(data_dir, capsys):
    (data_dir / "config.toml").write_text(render_toml(test_config()))
    assert main(["--data-dir", str(data_dir), "chain", "status"]) == 1
    assert "chain.backend" in capsys.readouterr().err


def test_demo_address_is_deterministic():
    assert demo_address("demo-ops") == demo_address("demo-ops")
    assert demo_address("demo-ops").startswith("bcrt1q")


def test_a_broadcast_is_audited_before_it_runs_and_with_its_outcome(cli):
    cli("chain", "broadcast", "00")
    code, out, _ = cli("audit", "list", "--json")
    entries = [(e["action"], e["outcome"]) for e in reversed(json.loads(out))]
    assert entries[-2:] == [("broadcast", "started"), ("broadcast", "refused")]
