"""The demo rig's bunker part: a fleet key, two tokens, a relay and a bunker that signs."""

from __future__ import annotations

import json

from custody_tui.cli import main
from custody_tui.demo import prepare_demo
from custody_tui.demo_bunker import RunningBunker, pairing_file, status_file
from custody_tui.services import Services

from .demo_rig import new_demo_dir


def test_demo_bunker_pairs_an_atm_and_signs_kind_21000(tmp_path, capsys) -> None:
    config, data_dir = prepare_demo(new_demo_dir(tmp_path / "demo"))  # its relay on a free port
    (relay,) = config.bunker.relay_list()
    urls = pairing_file(data_dir).read_text().split()
    assert len(urls) == 2 and all(u.startswith("bunker://") for u in urls)
    prepare_demo(data_dir)  # a restart issues no new tokens
    assert pairing_file(data_dir).read_text().split() == urls
    pairing_file(data_dir).unlink()  # as if killed before the URLs were saved
    prepare_demo(data_dir)
    urls = pairing_file(data_dir).read_text().split()
    assert len(urls) == 2

    services = Services(config, data_dir)
    running = RunningBunker(services)
    try:
        assert json.loads(status_file(data_dir).read_text()) == {relay: "connected"}
        assert main(["--data-dir", str(data_dir), "bunker", "demo-client", urls[0], "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["connect"] == "ack" and report["kind_1"].startswith("refused")
        assert main(["--data-dir", str(data_dir), "bunker", "token", "list", "--json"]) == 0
        states = [t["state"] for t in json.loads(capsys.readouterr().out)]
        assert states == ["active", "unpaired"]  # still two tokens, not four
    finally:
        running.stop()
        services.close()
    assert json.loads(status_file(data_dir).read_text()) == {relay: "bunker stopped"}
