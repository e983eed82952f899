"""The backend-contract fixture: every contract test runs against the embedded chain, against
the embedded chain served over a socket to a RemoteChain, and against a real regtest bitcoind
when BITCOIND names its binary."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from backends.chain import ChainUnavailable

BACKENDS = ["embedded", "remote", "bitcoind"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RegtestNode:
    """A bitcoind on a free loopback port with a temporary datadir."""

    def __init__(self, binary: str, datadir: Path) -> None:
        self.datadir = datadir
        self.rpc_port = _free_port()
        self.url = f"http://127.0.0.1:{self.rpc_port}"
        datadir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "-regtest", f"-datadir={datadir}", f"-rpcport={self.rpc_port}", f"-port={_free_port()}",
             "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-listen=0", "-server=1", "-txindex=1",
             "-fallbackfee=0.0001", "-printtoconsole=0", "-disablewallet=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.cookie = datadir / "regtest" / ".cookie"

    def open(self, timeout: float = 60.0):
        from backends.chain import Bitcoind

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"bitcoind exited: {self.process.stderr.read().decode(errors='replace')}")
            try:
                if self.cookie.exists():
                    return Bitcoind(self.url, cookie_file=self.cookie, wallet="custody-watch", timeout=60)
            except ChainUnavailable:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("bitcoind did not start in time")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # bitcoind shuts down cleanly on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(params=BACKENDS)
def chain(request, tmp_path):
    if request.param == "embedded":
        from backends.chain import EmbeddedChain

        opened = EmbeddedChain(tmp_path / "embedded")
        yield opened
        opened.close()
        return
    if request.param == "remote":
        yield from _served_embedded_chain(tmp_path)
        return
    binary = os.environ.get("BITCOIND")
    if not binary:
        pytest.skip("set BITCOIND=/path/to/bitcoind (Bitcoin Core >= 26) to run the contract suite against a real node")
    if not shutil.which(binary) and not Path(binary).is_file():
        pytest.skip(f"BITCOIND={binary} is not an executable")
    node = RegtestNode(binary, tmp_path / "bitcoind")
    try:
        opened = node.open()
        yield opened
        opened.close()
    finally:
        node.stop()


def _served_embedded_chain(tmp_path):
    """A RemoteChain talking to a ChainServer that wraps an EmbeddedChain, all in this process."""
    from backends.chain import ChainServer, EmbeddedChain, RemoteChain

    served = EmbeddedChain(tmp_path / "embedded")
    server = ChainServer(served, tmp_path / "chain.sock")
    try:
        server.start()
        remote = RemoteChain(server.socket_path, timeout=60)
        try:
            yield remote
        finally:
            remote.close()
    finally:
        server.stop()
        served.close()


@pytest.fixture
def embedded(tmp_path):
    from backends.chain import EmbeddedChain

    opened = EmbeddedChain(tmp_path / "chain")
    yield opened
    opened.close()
