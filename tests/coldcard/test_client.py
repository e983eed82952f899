"""The client: operations through ckcc's ColdcardDevice, typed errors keeping device words."""

from __future__ import annotations

import threading

import pytest

from backends.coldcard.client import ColdcardClient
from backends.coldcard.errors import BadRequest, DeviceError, DeviceUnreachable, HsmCommandsDisabled, SigningRefused
from backends.errors import CustodyError
from backends.wallet import REGTEST, Payment, Utxo, create_psbt, parse_address, parse_descriptor, serialize_psbt

from .quorum import Quorum, descriptor, wallet_file


def test_version_and_master_key(target):
    client = ColdcardClient(target.path)
    version = client.version()
    assert version.hw_label in ("mk4", "mk5") and version.version
    master = client.master()
    assert master.xfp == "0F056943" and master.xpub.startswith("tpub")
    assert client.xpub("m/48h/1h/0h/2h").startswith("tpub")


def test_device_words_are_kept_in_typed_errors(target):
    client = ColdcardClient(target.path)
    with pytest.raises(DeviceError) as err:
        client.xpub("m/not-a-path")
    assert err.value.device_text == "invalid characters in path"
    assert isinstance(err.value, CustodyError)


def test_hsm_commands_disabled_is_typed(target):
    client = ColdcardClient(target.path)
    client.sim_exec("settings.set('hsmcmd', 0)")
    with pytest.raises(HsmCommandsDisabled):
        client.hsm_status()
    client.sim_exec("settings.set('hsmcmd', 1)")
    status = client.hsm_status()
    assert status["active"] is False and "wallets" in status


def test_missing_socket_is_unreachable(tmp_path):
    with pytest.raises(DeviceUnreachable):
        ColdcardClient("/tmp/nosuchdir-x/cc-1.sock").version()


def test_operations_from_many_threads_are_serialised_per_device(target):
    client = ColdcardClient(target.path)
    results, errors = [], []

    def work():
        try:
            results.append(client.chain())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1


@pytest.mark.emulator_only
def test_client_signs_psbt_and_message_and_reports_refusal(target, tmp_path):
    q = Quorum().start()
    try:
        clients = [ColdcardClient(p) for p in q.paths]
        text = wallet_file(q.keys)
        for c in clients:
            c.enroll_multisig(text, press_ok_on_simulator=True)
        assert clients[0].has_multisig(2, 3, [k.xfp for k in q.keys])
        desc = parse_descriptor(descriptor(q.keys), REGTEST)
        spk = desc.script_pubkey(0, 0)
        coin = Utxo("11" * 32, 0, 1_000_000, spk, 0, 0)
        psbt = create_psbt(desc, [coin], [Payment(parse_address("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", REGTEST), 500_000)],
                           change_amount=499_000, change_index=0)
        events = []
        signed = clients[1].sign_psbt(serialize_psbt(psbt, "binary"), press_ok_on_simulator=True, progress=events.append,
                                      poll_interval=0.02)
        assert signed.startswith(b"psbt\xff") and events[0] == "uploading PSBT"
        msg = clients[2].sign_message("hello", "m/84h/1h/0h/0/0", press_ok_on_simulator=True, poll_interval=0.02)
        assert len(msg.signature) == 65 and msg.address[0] in "mn"  # classic by default
        import time

        from .rawlink import RawLink

        refused_on_screen = []

        def refuse_once_shown():
            raw = RawLink(q.paths[0])  # the operator's hand: outside the client and its lock
            try:
                deadline = time.monotonic() + 30  # a hang guard, not a speed check
                # a key pressed before the request is on screen would be dropped
                while b"OK TO SEND?" not in (raw.call(b"EVALsim_display.story") or b""):
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.02)
                raw.call(b"XKEYx")
                refused_on_screen.append(True)
            finally:
                raw.close()

        client = ColdcardClient(q.paths[0], timeout_ms=5000)
        operator = threading.Thread(target=refuse_once_shown)
        operator.start()
        with pytest.raises(SigningRefused):
            client.sign_psbt(serialize_psbt(psbt, "binary"), poll_interval=0.05, timeout=10)
        operator.join(10)
        assert refused_on_screen == [True]  # the refusal came from the key, not a timeout
    finally:
        q.stop()


# ---- client hygiene: nothing leaks, nothing hangs -------------------------------------

def _client_socket_files(device_path: str) -> list[str]:
    import glob
    import os

    token = device_path.split(".")[0].split("-")[-1]
    return glob.glob(f"/tmp/ckcc-client-{token}-{os.getpid()}-*.sock")


def _live_pipes() -> int:
    import gc

    from ckcc.client import UnixSimulatorPipe

    gc.collect()
    return sum(isinstance(o, UnixSimulatorPipe) for o in gc.get_objects())


def test_operations_leave_no_client_socket_behind(target):
    client = ColdcardClient(target.path)
    client.chain()
    before = _live_pipes()
    for _ in range(5):
        client.chain()
    assert _live_pipes() == before  # ckcc's atexit list would otherwise keep every pipe
    assert not _client_socket_files(target.path)


def test_device_that_never_answers_leaves_no_socket_behind():
    import os
    import shutil
    import socket

    from .emulators import short_tempdir

    base = short_tempdir()
    path = os.path.join(base, "cc-mute.sock")
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    mute.bind(path)  # takes datagrams, never answers
    try:
        before = _live_pipes()
        with pytest.raises(DeviceUnreachable):
            ColdcardClient(path, timeout_ms=100).version()
        assert not _client_socket_files(path)
        assert _live_pipes() == before
    finally:
        mute.close()
        shutil.rmtree(base, ignore_errors=True)


def test_signing_poll_to_a_hung_device_gives_up_instead_of_blocking_forever():
    """The device takes the request, then stops answering (stok): the client must return."""
    import os
    import select
    import shutil

    from backends.coldcard.emulator.device import Device
    from backends.coldcard.emulator.server import Server
    from backends.errors import CustodyError

    from .emulators import short_tempdir

    class HangsOnPoll(Device):
        def _dispatch(self, cmd, args):
            self.hung = cmd == b"stok"
            return super()._dispatch(cmd, args)

    class Dropping(Server):
        def serve_one(self):
            data, addr = self.sock.recvfrom(4096)
            replies = self.device.receive(data)
            if not getattr(self.device, "hung", False):
                for report in replies:
                    self.sock.sendto(report, addr)

    base = short_tempdir()
    server = Dropping(HangsOnPoll(os.path.join(base, "state")), os.path.join(base, "cc-hang.sock"))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            if select.select([server.sock], [], [], 0.05)[0]:
                server.serve_one()

    serving = threading.Thread(target=serve, daemon=True)
    serving.start()
    outcome = []

    def sign():
        try:
            ColdcardClient(server.path, timeout_ms=200).sign_psbt(b"psbt\xff" + bytes(80), timeout=0.5)
        except CustodyError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=sign, daemon=True)
    worker.start()
    worker.join(15)
    stop.set()
    serving.join()
    server.close()
    shutil.rmtree(base, ignore_errors=True)
    assert not worker.is_alive(), "sign_psbt blocked forever on a device that stopped answering"
    assert server.device.hung, "the request never reached the poll this test is about"
    assert isinstance(outcome[0], DeviceUnreachable)


@pytest.mark.parametrize(("call", "says"), [
    (lambda c: c.create_user("alice", "not base32!!"), "the TOTP secret is not valid base32"),
    (lambda c: c.create_user("bob", "MFRGG==="), "a TOTP secret is 10, 20 or 32 bytes"),
    (lambda c: c.create_user("x" * 17, None), "a Coldcard user name is 1 to 16 bytes, not 17"),
    (lambda c: c.user_auth("x" * 300, "123456"), "a Coldcard user name is 1 to 16 bytes, not 300"),
    (lambda c: c.user_auth("alice", "12"), "a user's code is 6 to 32 ASCII characters"),
    (lambda c: c.delete_user(""), "a Coldcard user name is 1 to 16 bytes, not 0"),
    (lambda c: c.sign_message("café", "m/84h/1h/0h/0/0"), "a Coldcard signs ASCII messages only"),
])
def test_requests_outside_the_protocol_limits_are_refused_clearly_and_the_device_keeps_serving(target, call, says):
    client = ColdcardClient(target.path)
    with pytest.raises(BadRequest, match=says) as caught:
        call(client)
    assert "not base32!!" not in str(caught.value)  # a secret is never repeated
    assert client.chain()


def test_link_encryption_is_renegotiated_for_every_operation(target):
    """Each operation opens its own session (v1 link keys): many in a row all work."""
    client = ColdcardClient(target.path)
    assert [client.chain() for _ in range(4)] == [client.chain()] * 4


def test_each_poll_read_waits_half_of_what_is_left_since_ckcc_reads_twice():
    import time

    client = ColdcardClient("/tmp/unused/cc.sock", timeout_ms=2000)
    deadline = time.monotonic() + 10
    assert 2 * client._poll_timeout_ms(deadline) <= 10_000
    assert client._poll_timeout_ms(time.monotonic() - 1) == 1000  # past the deadline: the floor
