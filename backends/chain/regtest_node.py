"""A regtest Bitcoin Core node started from a given binary: loopback only, cookie auth, free ports.

The demo rig (``custody-tui demo --bitcoind PATH``) and the tests that check custody-tui against
the real node start it the same way. The node keeps its blocks and wallets in ``datadir``, so a
node started again on the same directory carries on where it stopped.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .errors import ChainUnavailable
from .rpc import RpcClient

_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cannot_run(binary: str | Path) -> str | None:
    """Why ``binary --version`` fails (a missing shared library, not executable...), None if it runs."""
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{binary} cannot run: {exc}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return f"{binary} cannot run: {said[-1] if said else f'exit status {done.returncode}'}"
    return None


_COOKIE_DIR = {"main": "", "test": "testnet3", "testnet4": "testnet4", "signet": "signet", "regtest": "regtest"}


class RegtestNode:
    """``bitcoind -regtest`` with its data in ``datadir``; ``start`` waits until RPC answers.

    ``chain`` may name another network for an offline node (no peers): the tests use one to
    compare that network's address encodings with Core's."""

    def __init__(self, binary: str | Path, datadir: Path, *, chain: str = "regtest", rpc_port: int | None = None) -> None:
        if chain not in _COOKIE_DIR:
            raise ValueError(f"unknown chain {chain!r}")
        self.binary = str(binary)
        self.datadir = Path(datadir)
        self.chain = chain
        self.rpc_port = rpc_port or 0
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.rpc_port}"

    @property
    def cookie_file(self) -> Path:
        return self.datadir / _COOKIE_DIR[self.chain] / ".cookie"

    def start(self, timeout: float = _START_TIMEOUT) -> "RegtestNode":
        """Start the node (on ``rpc_port`` when given, else a free one) and wait until it answers."""
        self.datadir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        self.cookie_file.unlink(missing_ok=True)  # a stale cookie of a killed node is not the new one
        self.rpc_port = self.rpc_port or free_port()
        log = open(self.datadir / "bitcoind-start.log", "wb")
        try:
            self.process = subprocess.Popen(
                [self.binary, f"-chain={self.chain}", f"-datadir={self.datadir}", f"-rpcport={self.rpc_port}",
                 "-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-listen=0", "-dnsseed=0", "-fixedseeds=0",
                 "-server=1", "-txindex=1", "-fallbackfee=0.0001", "-printtoconsole=0", "-disablewallet=0",
                 "-rpcthreads=8", "-rpcworkqueue=64", *([] if self.chain == "regtest" else ["-connect=0"])],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        except OSError as exc:
            raise ChainUnavailable(f"cannot start {self.binary}: {exc}") from None
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                said = (self.datadir / "bitcoind-start.log").read_text(errors="replace").strip()
                raise ChainUnavailable(f"bitcoind exited while starting: {said[-400:] or self.process.returncode}",
                                       hint=f"see {self.cookie_file.parent / 'debug.log'}")
            if self.cookie_file.exists():
                rpc = self.rpc()
                try:
                    rpc.call("getblockchaininfo")
                    return self
                except ChainUnavailable:
                    pass  # still warming up
                finally:
                    rpc.close()
            if time.monotonic() > deadline:
                self.stop()
                raise ChainUnavailable(f"bitcoind did not answer within {timeout:.0f} s",
                                       hint=f"see {self.cookie_file.parent / 'debug.log'}")
            time.sleep(0.05)

    def _stop_leftover(self) -> None:
        """A node of this datadir left running by a process killed before it could stop it holds
        the datadir's lock: stop it (SIGTERM, a clean shutdown) before starting again."""
        pid_file = self.cookie_file.parent / "bitcoind.pid"
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            return
        if f"-datadir={self.datadir}".encode() not in cmdline:
            return  # the pid was reused by another process
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_TIMEOUT
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def rpc(self) -> RpcClient:
        """A node-level RPC client (close it after use)."""
        return RpcClient(self.url, cookie_file=self.cookie_file, timeout=120)

    def stop(self) -> None:
        """Stop the node cleanly (SIGTERM flushes its wallets and chainstate); kill it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "RegtestNode":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
