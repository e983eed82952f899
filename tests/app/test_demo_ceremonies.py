"""The demo rig's ceremonies: three nodes with a completed, funded DKG and a spend waiting
for approval, usable with `ceremony --node NAME` from the command line, and from the app,
where the operator approves as two nodes and the spend is broadcast and confirmed."""

from __future__ import annotations

import json
import shutil

import pytest
from textual.widgets import DataTable, Input

from custody_tui.app import make_app
from custody_tui.cli import main
from custody_tui.demo import prepare_demo
from custody_tui.demo_ceremonies import NODE_NAMES, SPEND_REASON, SPEND_SAT, demo_payee

from .test_snapshots import settle


@pytest.fixture(scope="module")
def demo_rig(tmp_path_factory):
    _, data_dir = prepare_demo(tmp_path_factory.mktemp("ceremony-demo") / "demo")
    return data_dir


def cli_json(data_dir, capsys, *args: str):
    assert main(["--data-dir", str(data_dir), "ceremony", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_every_demo_node_holds_the_funded_key_and_the_waiting_spend(demo_rig, capsys):
    for name in NODE_NAMES:
        rows = cli_json(demo_rig, capsys, "--node", name, "list")
        assert [(r["kind"], r["state"]) for r in rows] == [("dkg", "complete"), ("sign", "review")]
    (key,) = cli_json(demo_rig, capsys, "--node", "carol", "dkg", "status")
    assert key["address"].startswith("bcrt1p") and (key["t"], key["n"]) == (2, 3)
    review = cli_json(demo_rig, capsys, "--node", "alice", "sign", "review", rows[1]["ceremony"][:8])
    assert review["reason"] == SPEND_REASON and review["inputs"][0]["group_coin"]
    assert [(o["address"], o["amount_sat"], o["change"]) for o in review["outputs"]][0] == \
        (demo_payee(), SPEND_SAT, False)
    assert review["outputs"][1]["address"] == key["address"] and review["outputs"][1]["change"]
    prepare_demo(demo_rig)  # a restart asks for nothing twice
    assert len(cli_json(demo_rig, capsys, "--node", "bob", "list")) == 2


async def test_the_operator_approves_as_two_nodes_and_the_spend_confirms(demo_rig, tmp_path):
    data_dir = tmp_path / "demo"
    shutil.copytree(demo_rig, data_dir)
    config, data_dir = prepare_demo(data_dir)
    app = make_app(config, data_dir, poll=False, actor="operator@test")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        await settle(pilot)
        for _ in ("alice", "bob"):
            table = app.screen.query_one("#ceremony-table", DataTable)
            table.move_cursor(row=1)
            await pilot.press("enter")
            await settle(pilot)
            await pilot.click("#approve")
            await settle(pilot)
            await pilot.press("n")  # the next demo node
            await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        status = next(s for s in app.screen.view.statuses if s.kind == "sign")
        assert status.state == "complete", status.lines()
        txid = status.result["txid"]
        chain = app.services.chain
        assert chain.tx_status(txid).confirmations == 0  # broadcast, in the mempool
        chain.mine(1, demo_payee())
        assert chain.tx_status(txid).confirmations == 1
        assert SPEND_SAT in [c.amount_sat for c in chain.utxos() if c.txid == txid]  # the hot wallet's coin

        # the next request, from the screen: a spend of the confirmed change
        await pilot.press("s")
        await settle(pilot)
        for field, value in (("to", demo_payee()), ("amount", "1,000,000"), ("reason", "second refill")):
            app.screen.query_one(f"#field-{field}", Input).value = value
        await pilot.click("#submit")
        await settle(pilot)
        requests = [s for s in app.screen.view.statuses if s.kind == "sign" and s.state == "review"]
        assert [s.title for s in requests] == ["sign psbt: second refill"]
