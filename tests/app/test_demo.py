"""The demo rig: prepared once, reused, refreshed only on request, and usable headless
from another process through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from custody_tui.cli import main
from custody_tui.demo import prepare_demo
from custody_tui.demo_coldcards import QUORUM_COINBASES, socket_dir
from custody_tui.services import DEMO_PASSPHRASE

from .demo_rig import first_line, new_demo_dir


def test_prepare_creates_a_regtest_rig_with_demo_keys_and_reuses_it(tmp_path):
    config, data_dir = prepare_demo(tmp_path / "demo")
    assert config.demo and config.network == "regtest"
    keystore_files = sorted(p.name for p in (data_dir / "keystore").iterdir())
    first = {p: (data_dir / "keystore" / p).read_bytes() for p in keystore_files}

    prepare_demo(data_dir)  # a restart keeps the rig as it is
    assert {p: (data_dir / "keystore" / p).read_bytes() for p in keystore_files} == first


def test_demo_keys_are_the_same_on_every_machine(tmp_path, capsys):
    _, one = prepare_demo(tmp_path / "one")
    _, two = prepare_demo(tmp_path / "two")
    for data_dir in (one, two):
        assert main(["--data-dir", str(data_dir), "keys", "list", "--json"]) == 0
    first, second = capsys.readouterr().out.split("]\n", 1)
    # the mint's signing keys (RSA per denomination, the operator's HMAC key) are made fresh on
    # each rig, as a real mint makes them; every key of a published seed is the same everywhere
    keys = [{(e["label"], e["fingerprint"]) for e in json.loads(text) if not e["label"].startswith("mint-")}
            for text in (first + "]", second)]
    assert keys[0] == keys[1]
    assert {label for label, _ in keys[0]} == {"demo-treasury", "demo-ops", "demo-fleet", "demo-reserve"}


def test_fresh_starts_over_but_never_deletes_a_real_data_dir(tmp_path):
    _, data_dir = prepare_demo(tmp_path / "demo")
    (data_dir / "keystore" / "demo-ops.entry").unlink()
    prepare_demo(data_dir, fresh=True)
    assert (data_dir / "keystore" / "demo-ops.entry").exists()

    real = tmp_path / "real"
    real.mkdir()
    (real / "precious").write_text("keep me")
    assert main(["demo", "--data-dir", str(real), "--fresh", "--headless"]) == 1
    assert (real / "precious").read_text() == "keep me"


@pytest.mark.slow
def test_headless_rig_serves_the_cli_and_stops_on_sigterm(tmp_path):
    data_dir = new_demo_dir(tmp_path / "demo")
    rig = subprocess.Popen(
        [sys.executable, "-m", "custody_tui", "demo", "--headless", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert "demo rig running" in first_line(rig)
        env = {**os.environ, "CUSTODY_TUI_PASSPHRASE": DEMO_PASSPHRASE}
        out = subprocess.run(
            [sys.executable, "-m", "custody_tui", "--data-dir", str(data_dir), "keys", "address",
             "demo-treasury", "--json"],
            check=True, capture_output=True, text=True, env=env,
        ).stdout
        assert json.loads(out)["address"].startswith("bcrt1q")
        # the rig owns the chain; the CLI reaches it through the rig's socket
        out = subprocess.run(
            [sys.executable, "-m", "custody_tui", "--data-dir", str(data_dir), "chain", "status",
             "--json"], check=True, capture_output=True, text=True,
        ).stdout
        assert json.loads(out)["height"] >= 110
        # and runs the three Coldcards, each its own process
        from custody_tui.demo_coldcards import DEVICE_NAMES, DeviceProcess

        for name in DEVICE_NAMES:
            assert DeviceProcess(data_dir, name).client().version().hw_label == "mk4"
    finally:
        rig.send_signal(signal.SIGTERM)
        assert rig.wait(timeout=20) == 0
    assert not socket_dir(data_dir).exists()


def test_demo_chain_is_funded_and_watched(tmp_path, capsys):
    config, data_dir = prepare_demo(tmp_path / "demo")
    assert main(["--data-dir", str(data_dir), "chain", "utxos", "--json"]) == 0
    utxos = json.loads(capsys.readouterr().out)
    reserve = [u for u in utxos if u["descriptor"] == config.mint.reserve_descriptor.split("#")[0]]
    treasury = [u for u in utxos if u["descriptor"].startswith("wpkh(") and u not in reserve]
    mature = [u for u in treasury if u["confirmations"] >= 100]
    # one of its ten coinbases paid the mint's reserve (tests/app/test_demo_mint.py); its change came back
    assert len(treasury) == 10 and len(mature) == 9
    assert sum(u["amount_sat"] for u in mature) == 9 * 50 * 100_000_000
    # the rest is the Coldcard quorum's (tests/app/test_demo_coldcards.py) and the ceremony
    # group's coin (tests/app/test_demo_ceremonies.py)
    assert len(utxos) == 10 + QUORUM_COINBASES + len(reserve) + 1
    assert [u for u in utxos if u["descriptor"].startswith("tr(")][0]["confirmations"] >= 100


def test_demo_refuses_to_adopt_a_real_data_dir_so_fresh_can_never_delete_it(tmp_path):
    from backends.errors import CustodyError
    from custody_tui.demo import DEMO_MARKER

    real = tmp_path / "real"
    (real / "keystore").mkdir(parents=True)
    (real / "keystore" / "treasury.entry").write_text("keep me")
    with pytest.raises(CustodyError):
        prepare_demo(real)
    assert not (real / DEMO_MARKER).exists()
    assert not (real / "config.toml").exists()
    with pytest.raises(CustodyError):
        prepare_demo(real, fresh=True)
    assert (real / "keystore" / "treasury.entry").read_text() == "keep me"


def test_a_rig_killed_after_creating_its_keystore_is_completed_on_the_next_run(tmp_path):
    from custody_tui.demo import DEMO_MARKER, demo_config
    from custody_tui.services import Services

    data_dir = tmp_path / "demo"
    data_dir.mkdir()
    (data_dir / DEMO_MARKER).write_text("custody-tui demo rig\n")
    Services(demo_config(), data_dir).keystore.initialize(DEMO_PASSPHRASE)  # then: killed

    _, data_dir = prepare_demo(data_dir)
    assert {p.name for p in (data_dir / "keystore").glob("*.entry") if not p.name.startswith("mint-")} == {
        "demo-treasury.entry", "demo-ops.entry", "demo-fleet.entry", "demo-reserve.entry"}


def test_a_rig_killed_while_mining_finishes_its_chain_on_the_next_run(tmp_path, capsys):
    from backends.chain import EmbeddedChain
    from custody_tui.demo import DEMO_CHAIN_BLOCKS, demo_address

    data_dir = tmp_path / "demo"
    prepare_demo(data_dir)
    # a rig whose first run stopped after 3 blocks: start from a chain of that height
    import shutil

    shutil.rmtree(data_dir / "chain")
    chain = EmbeddedChain(data_dir / "chain")
    chain.mine(3, demo_address("demo-treasury"))
    chain.close()
    prepare_demo(data_dir)
    assert main(["--data-dir", str(data_dir), "chain", "utxos", "--json"]) == 0
    utxos = json.loads(capsys.readouterr().out)
    assert len(utxos) == 10 + QUORUM_COINBASES + 1  # and the ceremony group's coin
    assert main(["--data-dir", str(data_dir), "chain", "status", "--json"]) == 0
    # then the group's coinbase, the quorum's, and the blocks that mature the last of them (the
    # mint, prepared before the chain was lost, is not made again)
    assert json.loads(capsys.readouterr().out)["height"] == DEMO_CHAIN_BLOCKS + 1 + QUORUM_COINBASES + 99


@pytest.fixture
def core_binary():
    from tests.bitcoind import locate_bitcoind

    binary, why_not = locate_bitcoind()
    if binary is None:
        pytest.skip(why_not)
    return binary


def _answers(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", urlsplit(url).port)) == 0


@pytest.mark.slow
def test_the_rig_runs_on_bitcoind_restarts_and_starts_over(tmp_path, core_binary):
    from pathlib import Path

    from backends.errors import CustodyError
    from custody_tui.config import render_toml
    from custody_tui.demo import DEMO_MARKER, demo_config, demo_wallet_descriptor, running_parts
    from custody_tui.demo_bitcoind import running_node
    from custody_tui.paths import CONFIG_FILE_NAME
    from custody_tui.services import Services

    from custody_tui.demo_bitcoind import chain_config

    fresh_dir = tmp_path / "demo"
    config, data_dir = prepare_demo(new_demo_dir(fresh_dir, chain=chain_config(fresh_dir)),
                                    bitcoind=Path(core_binary))
    rpc = config.chain.bitcoind
    assert config.chain.backend == "bitcoind" and rpc.url.startswith("http://127.0.0.1:")
    assert Path(rpc.cookie_file).parent.parent == data_dir / "bitcoind"
    assert not _answers(rpc.url)  # the node ran while preparing, and stopped

    again, _ = prepare_demo(data_dir)  # a restart: the same rig, found without --bitcoind
    services = Services(again, data_dir)
    try:
        with running_parts(services):
            assert _answers(again.chain.bitcoind.url)
            chain = services.chain
            assert chain.backend_name == "bitcoind" and chain.tip().height >= 110
            treasury = demo_wallet_descriptor(services, "demo-treasury")
            assert treasury.split("#")[0] in {d.split("#")[0] for d in chain.watched()}  # watched by the first run
            assert len(chain.utxos(treasury)) == 10
            chain.mine(1, chain.utxos(treasury)[0].script_pubkey)
            height = chain.tip().height
    finally:
        services.close()
    assert not _answers(again.chain.bitcoind.url)  # stopped with the rig

    embedded_rig = tmp_path / "embedded-rig"  # as a first run on the embedded chain leaves it
    embedded_rig.mkdir()
    (embedded_rig / DEMO_MARKER).write_text("")
    (embedded_rig / CONFIG_FILE_NAME).write_text(render_toml(demo_config()))
    with pytest.raises(CustodyError, match="runs on the embedded chain") as refused:
        prepare_demo(embedded_rig, bitcoind=Path(core_binary))
    assert "--fresh" in refused.value.hint

    fresh, _ = prepare_demo(data_dir, fresh=True, bitcoind=Path(core_binary))
    services = Services(fresh, data_dir)
    try:
        with running_node(fresh, data_dir):
            assert services.chain.tip().height < height  # a new chain
    finally:
        services.close()
