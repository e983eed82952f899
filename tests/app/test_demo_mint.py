"""The demo rig's mint: a fragmented reserve, deposits, notes and a redemption queue with one
that cannot be funded, shown by the Reserves screen with no setup; and the demo wallet, which
blinds, gets issued, unblinds and redeems notes against `custody-tui mint serve` over HTTP."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from custody_tui.app import make_app
from custody_tui.cli import main
from custody_tui.demo import prepare_demo
from custody_tui.demo_mint import DEMO_RESERVE, reserve_file
from custody_tui.services import DEMO_PASSPHRASE, Services


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    return prepare_demo(tmp_path_factory.mktemp("demo-mint") / "demo")


def test_the_demo_mint_has_a_fragmented_reserve_and_a_queue_with_one_unfundable(rig):
    config, data_dir = rig
    services = Services(config, data_dir)
    try:
        mint = services.mint
        inventory = mint.inventory()
        assert inventory.utxo_count == len(DEMO_RESERVE.amounts()) > 300
        assert inventory.fragmentation > 0.5
        queue = sorted((r.amount_sat, bool(r.reason)) for r in mint.redemptions("pending"))
        assert queue == [(2_000_000, False), (3_000_000, False), (5_000_000, False), (100_000_000, True)]
        assert mint.health().status == "critical" and not mint.pause_state().auto_pause
        books = mint.accounting()
        assert books.outstanding_notes_sat == DEMO_RESERVE.notes_held * 10_000_000 and books.surplus_sat > 0
        listed = reserve_file(data_dir).read_text().split()
        assert listed and all(mint.deposit(d.reference).issued_sat == 0
                              for d in mint.deposits("credited") if d.outpoint in listed)
    finally:
        services.close()


async def test_custody_tui_demo_shows_the_reserves_area_with_no_setup(rig):
    config, data_dir = rig
    app = make_app(config, data_dir, poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        for _ in range(3):
            await app.workers.wait_for_complete()
            await pilot.pause()
        screen = app.screen
        assert "critical" in str(screen.query_one("#reserves-health").render())
        assert screen.query_one("#reserves-coins").rows == len(DEMO_RESERVE.amounts())
        assert len(screen.state.redemptions) == 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_demo_wallet_redeems_notes_through_mint_serve_over_http(rig, capsys, monkeypatch):
    config, data_dir = rig
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "custody_tui", "--data-dir", str(data_dir), "mint", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CUSTODY_TUI_PASSPHRASE": DEMO_PASSPHRASE})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mint serve did not start"
            time.sleep(0.1)
        assert main(["--data-dir", str(data_dir), "mint", "demo-wallet", "--url", url, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["notes"] == 7  # 2,500,000 sat: two 1,000,000 and five 100,000 notes
        batch = result["redemption"]
        assert (batch["amount_sat"], batch["status"]) == (2_500_000, "pending")
        # a deposit typed wrong: the mint refuses it, the wallet says why (the claim comes on stdin)
        monkeypatch.setattr("sys.stdin", io.StringIO("ab" * 32 + "\n"))
        code = main(["--data-dir", str(data_dir), "mint", "demo-wallet", "--url", url, "--deposit", "00:0"])
        assert code == 1 and "is not a txid" in capsys.readouterr().err
        # a listed deposit with a claim secret that is not its own: no notes
        outpoint, _ = reserve_file(data_dir).read_text().split("\n")[1].split()
        monkeypatch.setattr("sys.stdin", io.StringIO("ab" * 32 + "\n"))
        code = main(["--data-dir", str(data_dir), "mint", "demo-wallet", "--url", url, "--deposit", outpoint])
        assert code == 1 and "claim secret is not the one" in capsys.readouterr().err
    finally:
        server.terminate()
        server.wait(timeout=30)
    services = Services(config, data_dir)
    try:
        redeemed = services.mint.redemption(batch["batch_id"])
        assert redeemed.status == "pending" and redeemed.amount_sat == 2_500_000
        deposit = services.mint.deposit(result["deposit"])
        assert deposit.issued_sat == 2_500_000
    finally:
        services.close()
