"""Sharing one chain between processes: ChainServer on a UNIX socket, RemoteChain as its client."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from backends.chain import (
    ChainDataDirInUse,
    ChainError,
    ChainServer,
    ChainUnavailable,
    NotRegtest,
    RemoteChain,
    Tip,
    TransactionRejected,
    TxStatus,
    Utxo,
)
from backends.chain.remote import ChainSocketInUse
from backends.chain.wire import MAX_REQUEST_BYTES, ChainProtocolError, error_from_wire, error_to_wire

from .funding import fund
from .wallets import spend

COIN = 100_000_000


class StubChain:
    """A chain that answers from memory, so the socket layer is tested without the kernel."""

    backend_name = "bitcoind"
    network = "signet"

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.closed = False
        self.delay = 0.0

    def tip(self) -> Tip:
        time.sleep(self.delay)
        return Tip(7, "ab" * 32, 1_700_000_000)

    def watch(self, descriptor, *, range_end=999, label=""):
        self.calls.append(("watch", descriptor, range_end, label))

    def watched(self):
        return [c[1] for c in self.calls if c[0] == "watch"]

    def utxos(self, descriptor=None):
        return [Utxo("cd" * 32, 1, 5_000, bytes.fromhex("0014" + "11" * 20), 0, None, "wpkh(x)", 1, 4, False)]

    def history(self, descriptor=None):
        return []

    def broadcast(self, raw_tx: bytes) -> str:
        self.calls.append(("broadcast", raw_tx))
        raise TransactionRejected("min relay fee not met, 100 < 110", txid="ef" * 32)

    def tx_status(self, txid):
        if txid == "boom":
            raise RuntimeError("a bug in the backend")
        return TxStatus("mempool", 0)

    def estimate_fee_rate(self, target_blocks):
        return 12.5

    def mine(self, n, address_or_script):
        self.calls.append(("mine", n, address_or_script))
        raise NotRegtest("mining needs regtest; this node is on signet", hint="use generatetoaddress on regtest")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def sock_path(tmp_path) -> Path:
    return tmp_path / "chain.sock"


@pytest.fixture
def stub():
    return StubChain()


@pytest.fixture
def server(stub, sock_path):
    with ChainServer(stub, sock_path) as running:
        yield running


@pytest.fixture
def remote(server):
    with RemoteChain(server.socket_path, timeout=5) as client:
        yield client


class RawClient:
    """Speaks the wire format by hand, to send what RemoteChain never would."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(os.fspath(path))
        self.reader = self.sock.makefile("rb")

    def send_line(self, data: bytes) -> dict:
        self.sock.sendall(data + b"\n")
        return json.loads(self.reader.readline())

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def raw(server):
    client = RawClient(server.socket_path)
    yield client
    client.close()


# -- the records and typed errors survive the wire


def test_remote_chain_reports_the_served_backend_and_network(remote):
    assert (remote.backend_name, remote.network) == ("bitcoind", "signet")


def test_records_arrive_with_their_types_and_bytes(remote):
    assert remote.tip() == Tip(7, "ab" * 32, 1_700_000_000)
    [utxo] = remote.utxos()
    assert utxo.script_pubkey == bytes.fromhex("0014" + "11" * 20) and utxo.outpoint == "cd" * 32 + ":1"
    assert remote.tx_status("00" * 32) == TxStatus("mempool", 0)
    assert remote.estimate_fee_rate(6) == 12.5
    remote.watch("wpkh(x)", range_end=20, label="hot")
    assert remote.watched() == ["wpkh(x)"]


def test_rejected_transaction_keeps_its_reason_and_txid(remote, stub):
    with pytest.raises(TransactionRejected) as excinfo:
        remote.broadcast(b"\x02\x00\x00\x00")
    assert excinfo.value.reason == "min relay fee not met, 100 < 110"
    assert excinfo.value.txid == "ef" * 32
    assert stub.calls[-1] == ("broadcast", b"\x02\x00\x00\x00")


def test_not_regtest_keeps_its_type_and_hint(remote, stub):
    with pytest.raises(NotRegtest) as excinfo:
        remote.mine(1, b"\x00\x14" + b"\x22" * 20)
    assert excinfo.value.hint == "use generatetoaddress on regtest"
    assert stub.calls[-1] == ("mine", 1, b"\x00\x14" + b"\x22" * 20)


def test_embedded_rejection_reason_is_intact_over_the_socket(embedded, sock_path):
    with ChainServer(embedded, sock_path), RemoteChain(sock_path) as remote:
        assert remote.backend_name == "embedded"
        funded = fund(remote)
        [coin] = funded.coins(remote, funded.wpkh)
        with pytest.raises(TransactionRejected) as excinfo:
            remote.broadcast(spend([coin], [(funded.wpkh.script(1), coin.amount_sat + 1)]))
    assert excinfo.value.reason == "bad-txns-in-belowout, value in (50.00) < value out (50.00000001)"


SERVING_PROCESS = textwrap.dedent("""
    import sys
    from backends.chain import ChainServer, EmbeddedChain

    with EmbeddedChain(sys.argv[1]) as chain, ChainServer(chain, sys.argv[2]):
        print("ready", flush=True)
        sys.stdin.read()  # serve until the test closes our stdin
""")


def test_another_process_uses_the_chain_its_owner_serves(tmp_path, sock_path):
    from backends.chain import EmbeddedChain

    with subprocess.Popen([sys.executable, "-c", SERVING_PROCESS, str(tmp_path / "chain"), str(sock_path)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).parents[2]) as owner:
        try:
            assert owner.stdout.readline() == b"ready\n"
            with pytest.raises(ChainDataDirInUse):
                EmbeddedChain(tmp_path / "chain")
            with RemoteChain(sock_path) as remote:
                [block_hash] = remote.mine(1, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
                assert remote.tip().hash_hex == block_hash
        finally:
            owner.stdin.close()
            assert owner.wait(timeout=30) == 0
    assert not sock_path.exists()


def test_unknown_error_type_becomes_a_chain_error_with_its_message():
    exc = error_from_wire({"type": "SomethingNew", "message": "the node is syncing", "hint": "wait"})
    assert type(exc) is ChainError and str(exc) == "the node is syncing" and exc.hint == "wait"
    rejected = error_from_wire(error_to_wire(TransactionRejected("dust", txid="aa" * 32)))
    assert (type(rejected), rejected.reason, rejected.txid) == (TransactionRejected, "dust", "aa" * 32)


def test_a_crash_in_the_served_chain_is_a_chain_error_and_the_server_goes_on(remote):
    with pytest.raises(ChainError, match="RuntimeError: a bug in the backend"):
        remote.tx_status("boom")
    assert remote.tip().height == 7


# -- bad requests get an error reply and never kill the server


def test_malformed_json_gets_an_error_reply_and_the_connection_keeps_serving(raw):
    reply = raw.send_line(b"{not json")
    assert reply["id"] is None and reply["error"]["type"] == "ChainProtocolError"
    assert raw.send_line(b'{"id": 2, "method": "tip", "params": {}}')["result"]["height"] == 7


def test_unknown_method_is_refused_with_the_request_id(raw, stub):
    reply = raw.send_line(b'{"id": "x1", "method": "close", "params": {}}')
    assert reply["id"] == "x1" and "unknown method 'close'" in reply["error"]["message"]
    assert not stub.closed
    assert raw.send_line(b'{"id": 3, "method": "info"}')["result"] == {"backend_name": "bitcoind", "network": "signet"}


@pytest.mark.parametrize("params", [
    '{"target_blocks": "6"}', '{"target_blocks": true}', '{}', '{"target_blocks": 6, "extra": 1}', '[6]',
], ids=["string", "bool", "missing", "unknown-param", "not-an-object"])
def test_bad_params_are_refused(raw, params):
    reply = raw.send_line(b'{"id": 4, "method": "estimate_fee_rate", "params": ' + params.encode() + b"}")
    assert reply["id"] == 4 and reply["error"]["type"] == "ChainProtocolError"


def test_bad_hex_and_ambiguous_mine_target_are_refused(raw):
    assert "hex" in raw.send_line(b'{"id": 5, "method": "broadcast", "params": {"raw_tx_hex": "zz"}}')["error"]["message"]
    both = b'{"id": 6, "method": "mine", "params": {"n": 1, "address": "bcrt1q", "script_hex": "00"}}'
    assert "exactly one" in raw.send_line(both)["error"]["message"]


def test_oversized_request_is_refused_and_the_server_keeps_serving(raw, server):
    huge = b'{"id": 1, "method": "broadcast", "params": {"raw_tx_hex": "' + b"00" * MAX_REQUEST_BYTES + b'"}}'
    reply = raw.send_line(huge)
    assert reply["id"] is None and "larger than 4 MiB" in reply["error"]["message"]
    assert raw.send_line(b'{"id": 2, "method": "tip"}')["result"]["height"] == 7
    with RemoteChain(server.socket_path) as other:
        assert other.tip().height == 7


def test_a_client_hanging_up_mid_request_does_not_disturb_others(server, remote):
    rude = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    rude.connect(os.fspath(server.socket_path))
    rude.sendall(b'{"id": 1, "meth')
    rude.close()
    assert remote.tip().height == 7


# -- lifecycle of the socket


def test_socket_is_private_to_its_owner(server):
    assert stat.S_IMODE(server.socket_path.lstat().st_mode) == 0o600


def test_stopped_server_leaves_clients_with_chain_unavailable_naming_the_socket(server, remote, sock_path):
    server.stop()
    assert not sock_path.exists()
    with pytest.raises(ChainUnavailable) as excinfo:
        remote.tip()
    assert str(sock_path) in str(excinfo.value)
    assert excinfo.value.hint == "is `custody-tui demo --headless` running?"
    with pytest.raises(ChainUnavailable, match="no socket there"):
        RemoteChain(sock_path)


def test_stop_hangs_up_on_idle_clients_instead_of_waiting_for_them(server, remote, raw):
    remote.tip()
    assert raw.send_line(b'{"id": 1, "method": "tip"}')["result"]["height"] == 7  # both are served, now idle
    assert server.client_count == 2
    server.stop()
    # a client thread left blocked on its read would outlive stop's join and still be counted
    assert server.client_count == 0
    assert raw.reader.readline() == b""  # the idle client was hung up on


def test_a_call_in_progress_gets_its_answer_before_stop_returns(server, remote, stub):
    in_progress, finished = threading.Event(), threading.Event()
    real_tip = stub.tip

    def slow_tip():
        in_progress.set()
        time.sleep(0.5)
        try:
            return real_tip()
        finally:
            finished.set()

    stub.tip = slow_tip
    answers = []
    caller = threading.Thread(target=lambda: answers.append(remote.tip().height))
    caller.start()
    assert in_progress.wait(10)
    server.stop()
    assert finished.is_set()  # stop waited for the call instead of cutting it off
    caller.join(10)
    assert answers == [7]
    with pytest.raises(ChainUnavailable):
        remote.tip()


def test_client_reconnects_once_after_the_server_restarts(stub, sock_path):
    first = ChainServer(stub, sock_path)
    first.start()
    remote = RemoteChain(sock_path, timeout=5)
    first.stop()
    with ChainServer(stub, sock_path):
        with pytest.raises(NotRegtest):  # reached the new server, though mine is never resent blindly
            remote.mine(1, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
        assert remote.tip().height == 7
    remote.close()


def test_slow_answer_times_out_as_chain_unavailable_and_the_next_call_reconnects(server, stub):
    with RemoteChain(server.socket_path, timeout=0.3) as remote:
        stub.delay = 1.0
        with pytest.raises(ChainUnavailable, match="no answer to tip within 0.3 s"):
            remote.tip()
        stub.delay = 0.0
        assert remote.tip().height == 7


def test_stale_socket_file_is_replaced(stub, sock_path):
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(os.fspath(sock_path))
    leftover.close()  # a crashed server's file: nobody listens on it
    assert stat.S_ISSOCK(sock_path.lstat().st_mode)
    with ChainServer(stub, sock_path), RemoteChain(sock_path) as remote:
        assert remote.tip().height == 7


def test_second_server_on_a_live_socket_refuses_and_the_first_keeps_serving(server, remote, sock_path):
    with pytest.raises(ChainSocketInUse, match="already listens"):
        ChainServer(StubChain(), sock_path).start()
    assert remote.tip().height == 7


def test_a_file_that_is_not_a_socket_is_never_replaced(stub, sock_path):
    sock_path.write_text("operator notes")
    with pytest.raises(ChainError, match="not a socket"):
        ChainServer(stub, sock_path).start()
    assert sock_path.read_text() == "operator notes"


def test_closing_the_remote_chain_leaves_the_served_chain_open(remote, stub):
    remote.close()
    assert not stub.closed
    with pytest.raises(ChainError, match="closed"):
        remote.tip()


def test_one_remote_chain_is_safe_to_share_between_threads(remote):
    heights, errors = [], []

    def worker():
        try:
            for _ in range(50):
                heights.append(remote.tip().height)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and heights == [7] * 400


class ScriptedServer:
    """A listener that answers each connection's lines from a script, to break the wire on purpose.

    Each script entry is the raw reply for one request line, or None to hang up without one.
    """

    def __init__(self, path: Path, script: list[bytes | None]) -> None:
        self.script = list(script)
        self.requests: list[dict] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(os.fspath(path))
        self.listener.listen()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.script:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                while self.script:
                    line = reader.readline()
                    if not line:
                        break
                    self.requests.append(json.loads(line))
                    reply = self.script.pop(0)
                    if reply is None:
                        break
                    conn.sendall(reply.replace(b"ID", str(self.requests[-1]["id"]).encode()))

    def close(self) -> None:
        self.script.clear()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as poke:  # wakes a pending accept()
            try:
                poke.connect(self.listener.getsockname())
            except OSError:
                pass
        self.listener.close()
        self.thread.join(5)


INFO_REPLY = b'{"id": ID, "result": {"backend_name": "embedded", "network": "regtest"}}\n'


def test_read_only_call_is_resent_once_when_the_connection_breaks_mid_call(sock_path):
    tip = b'{"id": ID, "result": {"height": 3, "hash_hex": "00", "time": 1}}\n'
    fake = ScriptedServer(sock_path, [INFO_REPLY, None, tip])
    try:
        with RemoteChain(sock_path, timeout=5) as remote:
            assert remote.tip().height == 3
        assert [r["method"] for r in fake.requests] == ["info", "tip", "tip"]
    finally:
        fake.close()


def test_mine_is_not_resent_when_the_connection_breaks_after_it_was_sent(sock_path):
    fake = ScriptedServer(sock_path, [INFO_REPLY, None, INFO_REPLY])
    try:
        with RemoteChain(sock_path, timeout=5) as remote:
            with pytest.raises(ChainUnavailable, match="mine may or may not have run"):
                remote.mine(1, "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080")
        assert [r["method"] for r in fake.requests] == ["info", "mine"]
    finally:
        fake.close()


def test_a_garbled_reply_is_chain_unavailable_naming_the_socket(sock_path):
    fake = ScriptedServer(sock_path, [b"HTTP/1.1 400 Bad Request\n"])
    try:
        with pytest.raises(ChainUnavailable, match="not a chain server reply") as excinfo:
            RemoteChain(sock_path, timeout=5)
        assert str(sock_path) in str(excinfo.value)
    finally:
        fake.close()
