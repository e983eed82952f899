"""The demo rig's three emulated Coldcards: a 2-of-3 quorum enrolled once, funded on the
demo chain, served as separate processes while the rig runs, and able to spend."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from custody_tui import demo_coldcards as coldcards
from custody_tui.demo import prepare_demo, running_parts
from custody_tui.services import Services

from .demo_rig import new_demo_dir



@pytest.fixture(scope="module")
def prepared_rig(tmp_path_factory) -> Path:
    """One rig prepared for the module; each test works on its own copy."""
    _, data_dir = prepare_demo(new_demo_dir(tmp_path_factory.mktemp("template") / "demo"))
    return data_dir


@pytest.fixture
def rig(prepared_rig, tmp_path):
    data_dir = tmp_path / "demo"
    shutil.copytree(prepared_rig, data_dir, symlinks=True)
    config, data_dir = prepare_demo(data_dir)  # a no-op on a prepared rig; gives its config
    services = Services(config, data_dir)
    yield services
    services.close()


def _xfps(data_dir: Path) -> list[int]:
    from backends.wallet import REGTEST, parse_descriptor

    descriptor = parse_descriptor(coldcards.read_descriptor(data_dir), REGTEST, require_checksum=True)
    return [int.from_bytes(key.origin.fingerprint, "little") for key in descriptor.keys]


def _devices(running) -> list:
    """The rig's device processes among its running parts."""
    return next(part for part in running if isinstance(part, coldcards.RunningDevices)).devices


def _audit_entries(services: Services) -> list[tuple[str, str]]:
    return [(entry.area, entry.action) for entry in services.audit.entries(limit=None, newest_first=False)]


def test_prepare_enrols_one_two_of_three_wallet_on_all_three_devices_and_funds_it(rig):
    data_dir = rig.data_dir
    descriptor = coldcards.read_descriptor(data_dir)
    assert descriptor.startswith("wsh(sortedmulti(2,[") and "/48h/1h/0h/2h]tpub" in descriptor
    xfps = _xfps(data_dir)
    assert len(set(xfps)) == 3
    assert coldcards.wallet_file_path(data_dir).read_text().count("tpub") == 3
    with running_parts(rig):
        for device in coldcards.DEVICE_NAMES:
            client = coldcards.DeviceProcess(data_dir, device).client()
            assert client.has_multisig(2, 3, xfps)
            assert not client.has_multisig(2, 3, xfps[:2] + [xfps[2] ^ 1])
    coins = rig.chain.utxos(descriptor)
    assert len(coins) == coldcards.QUORUM_COINBASES
    assert all(c.coinbase and c.confirmations >= 100 and c.amount_sat == 50 * 100_000_000 for c in coins)
    actions = [action for area, action in _audit_entries(rig) if area == "quorum"]
    prepared = ["enrol", "enrol", "enrol", "save-descriptor", "watch", "fund", "mature", "configure"]
    assert actions[:len(prepared)] == prepared
    # running the rig armed the three devices (tests/app/test_demo_quorum.py)
    assert sorted(actions[len(prepared):]) == ["arm", "arm", "arm", "health"]


def test_preparing_a_prepared_rig_again_starts_no_device_and_changes_nothing(rig, monkeypatch):
    def no_device(self):
        raise AssertionError(f"device {self.name} started")

    monkeypatch.setattr(coldcards.DeviceProcess, "spawn", no_device)
    height, audit = rig.chain.tip().height, _audit_entries(rig)
    descriptor = coldcards.descriptor_file(rig.data_dir).read_bytes()
    rig.close()
    prepare_demo(rig.data_dir)
    assert rig.chain.tip().height == height
    assert _audit_entries(rig) == audit
    assert coldcards.descriptor_file(rig.data_dir).read_bytes() == descriptor


def test_a_rig_killed_before_saving_the_descriptor_finishes_without_enrolling_twice(rig):
    descriptor = coldcards.descriptor_file(rig.data_dir).read_text()
    coldcards.descriptor_file(rig.data_dir).unlink()  # killed after the enrolments
    audit = _audit_entries(rig)
    rig.close()
    prepare_demo(rig.data_dir)
    assert coldcards.descriptor_file(rig.data_dir).read_text() == descriptor
    assert _audit_entries(rig)[len(audit):] == [("quorum", "save-descriptor")]
    assert not coldcards.socket_dir(rig.data_dir).exists()


def test_running_devices_answer_the_ckcc_client_and_stop_leaving_no_process_or_socket(rig):
    sockets = coldcards.device_sockets(rig.data_dir)
    assert all(b"." not in os.fsencode(path.parent) and len(os.fsencode(path)) <= 107
               for path in sockets.values())
    with running_parts(rig) as running:
        devices = _devices(running)
        xfps = set()
        for device in devices:
            client = device.client()
            assert client.version().hw_label == "mk4"
            xfps.add(int.from_bytes(bytes.fromhex(client.master().xfp), "little"))
        assert xfps == set(_xfps(rig.data_dir))
        pids = [device.process.pid for device in devices]
        assert {path.name for path in coldcards.socket_dir(rig.data_dir).iterdir()} == {
            "cc-a.sock", "cc-b.sock", "cc-c.sock"}
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not any(path.exists() for path in sockets.values())
    assert not coldcards.socket_dir(rig.data_dir).exists()


def test_one_device_power_cycles_while_the_others_keep_answering(rig):
    with running_parts(rig) as running:
        a, b, c = _devices(running)
        b.stop()
        assert not b.answers
        assert a.client().version().hw_label == c.client().version().hw_label == "mk4"
        b.start()
        assert b.client().has_multisig(2, 3, _xfps(rig.data_dir))


def test_a_device_left_running_by_a_killed_rig_is_replaced_on_the_next_start(rig):
    orphan = coldcards.DeviceProcess(rig.data_dir, "a").start()  # its rig died without stopping it
    try:
        with running_parts(rig) as running:
            assert orphan.process.wait(5) == 0  # stopped with SIGTERM, cleanly
            assert _devices(running)[0].client().version()
    finally:
        orphan.stop()


def test_a_device_left_running_is_replaced_even_when_fresh_deleted_its_pid_file(rig):
    orphan = coldcards.DeviceProcess(rig.data_dir, "b").start()
    try:
        orphan.pid_file.unlink()
        with running_parts(rig):
            assert orphan.process.wait(5) == 0
    finally:
        orphan.stop()


def test_the_tui_demo_runs_the_rig_services_while_the_app_is_open(rig, monkeypatch):
    from custody_tui import cli
    from custody_tui.services import chain_socket

    seen = {}

    def fake_launch(config, data_dir):
        seen["devices"] = [coldcards.DeviceProcess(data_dir, n).answers for n in coldcards.DEVICE_NAMES]
        seen["chain"] = chain_socket(data_dir).exists()
        return 0

    monkeypatch.setattr(cli, "launch", fake_launch)
    rig.close()
    assert cli.main(["demo", "--data-dir", str(rig.data_dir)]) == 0
    assert seen == {"devices": [True, True, True], "chain": True}
    assert not coldcards.socket_dir(rig.data_dir).exists()



RIG_THAT_GETS_KILLED = """
import sys, time
from pathlib import Path
from custody_tui.config import load_config
from custody_tui.demo_coldcards import RunningDevices
from custody_tui.services import Services
data_dir = Path(sys.argv[1])
running = RunningDevices(Services(load_config(data_dir / "config.toml"), data_dir))
print(" ".join(str(d.process.pid) for d in running.devices), flush=True)
time.sleep(600)
"""


def test_a_rig_killed_outright_takes_its_devices_with_it(rig):
    """SIGKILL gives the rig no chance to stop its devices: they notice on their own (their
    lifeline pipe ends) and power off, leaving no process behind."""
    import signal
    import subprocess
    import sys
    import time

    from .demo_rig import first_line

    rig.close()
    sockets = coldcards.device_sockets(rig.data_dir)
    killed = subprocess.Popen([sys.executable, "-c", RIG_THAT_GETS_KILLED, str(rig.data_dir)],
                              stdout=subprocess.PIPE, text=True, cwd=coldcards._repository_root())
    try:
        pids = [int(pid) for pid in first_line(killed, 60).split()]
        assert [coldcards._is_our_emulator(pid, sockets[n]) for pid, n in zip(pids, "abc")] == [True] * 3
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
    deadline = time.monotonic() + 10
    while any(coldcards._is_our_emulator(pid, sockets[n]) for pid, n in zip(pids, "abc")):
        assert time.monotonic() < deadline, "a device outlived its rig"
        time.sleep(0.05)
    assert not any(coldcards.DeviceProcess(rig.data_dir, n).answers for n in "abc")
