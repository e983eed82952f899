"""The demo rig's quorum from the command line: `custody-tui demo --headless` arms the
three demo Coldcards with the demo policy, and `custody-tui quorum ...` spends to the demo
sink (confirmed on the embedded chain) or is refused with the devices' words."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from custody_tui.cli import main
from custody_tui.demo_quorum import POLICY_ASSET, demo_sink
from custody_tui.paths import assets_dir

from .demo_rig import first_line, new_demo_dir

OFF_LIST = "bcrt1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqseac85"


def test_the_demo_policy_whitelists_only_the_demo_sink_whose_key_is_in_the_demo_keystore(tmp_path, capsys):
    from custody_tui.demo import prepare_demo

    policy = json.loads((assets_dir() / POLICY_ASSET).read_text())
    (rule,) = policy["rules"]
    assert rule["whitelist"] == [demo_sink()] and rule["wallet"] == "demo-quorum"
    _, data_dir = prepare_demo(tmp_path / "demo")
    assert main(["--data-dir", str(data_dir), "keys", "address", "demo-treasury", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["address"] == demo_sink()
    assert main(["--data-dir", str(data_dir), "config", "show", "--json"]) == 0
    quorum = json.loads(capsys.readouterr().out)["config"]["quorum"]
    assert [s["name"] for s in quorum["signers"]] == ["a", "b", "c"]
    assert (data_dir / quorum["policy_file"]).read_bytes() == (assets_dir() / POLICY_ASSET).read_bytes()


def cli(data_dir, capsys, *args) -> tuple[int, dict]:
    code = main(["--data-dir", str(data_dir), "quorum", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.slow
def test_headless_demo_spends_to_the_sink_and_the_devices_refuse_over_cap_and_off_list(tmp_path, capsys):
    data_dir = new_demo_dir(tmp_path / "demo")
    rig = subprocess.Popen([sys.executable, "-m", "custody_tui", "demo", "--headless", "--data-dir", str(data_dir)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert "demo rig running" in first_line(rig)
        code, status = cli(data_dir, capsys, "status")
        assert code == 0 and status["health"] == "ok", status
        assert [(s["name"], s["live"], s["policy_ok"]) for s in status["signers"]] == [
            ("a", True, True), ("b", True, True), ("c", True, True)]
        assert status["balance_sat"]["confirmed"] == 5 * 50 * 100_000_000

        code, spent = cli(data_dir, capsys, "spend", "--amount", "2000000", "--to", demo_sink())
        assert code == 0 and spent["ok"] and len(spent["signers"]) == 2 and spent["fee_sat"] > 0
        assert main(["--data-dir", str(data_dir), "chain", "mine", "1", "--to", demo_sink()]) == 0
        assert main(["--data-dir", str(data_dir), "chain", "tx", spent["txid"], "--json"]) == 0
        capsys.readouterr()
        code, status = cli(data_dir, capsys, "status")  # the demo's global cap counts it from the chain
        assert (status["global"]["used_sat"], status["global"]["limit_sat"], status["global"]["source"]) == (
            2_000_000 + spent["fee_sat"], 30_000_000, "chain")

        for amount, to, reason in ((6_000_000, demo_sink(), "Rejected: rule #1: amount exceeded"),
                                   (10_000, OFF_LIST, f"Rejected: rule #1: non-whitelisted address: {OFF_LIST}")):
            code, refused = cli(data_dir, capsys, "spend", "--amount", str(amount), "--to", to)
            assert code == 1 and refused == {"ok": False, "reason": refused["reason"],
                                             "refusals": {"a": reason, "b": reason, "c": reason}}

        code, flight = cli(data_dir, capsys, "preflight", "--amount", "6000000", "--to", demo_sink())
        assert code == 1 and not flight["would_pass"]
        assert {v["signer"]: v["reason"] for v in flight["signers"]} == {
            n: "Rejected: rule #1: amount exceeded" for n in "abc"}

        code, disabled = cli(data_dir, capsys, "disable", "a")
        assert code == 0 and disabled["health"] == "degraded" and not disabled["signer"]["live"]
        code, spent = cli(data_dir, capsys, "spend", "--amount", "1000000", "--to", demo_sink())
        assert code == 0 and spent["signers"] == ["b", "c"]
        code, enabled = cli(data_dir, capsys, "enable", "a")
        assert code == 0 and enabled["health"] == "ok"
        code, armed = cli(data_dir, capsys, "arm", "a")
        assert code == 0 and [s["live"] for s in armed["signers"]] == [True]

        code, proof = cli(data_dir, capsys, "sign-message", "demo proof of control")
        assert code == 0 and len(proof["signatures"]) == 2
        for signature in proof["signatures"]:
            code, verdict = cli(data_dir, capsys, "verify-message", signature["address"], proof["text"],
                                signature["signature"])
            assert code == 0 and verdict == {"valid": True}
    finally:
        rig.send_signal(signal.SIGTERM)
        assert rig.wait(timeout=30) == 0
