"""The demo rig on a real Bitcoin Core: ``custody-tui demo --bitcoind PATH``.

A regtest node from that binary keeps its blocks and wallets in ``DATA_DIR/bitcoind``
(loopback only, cookie auth, a port that was free when the rig was created). The rig's config
points ``chain.backend`` at it and every other part runs unchanged: configuration only. The
binary's path is remembered in the data dir, so a plain ``custody-tui demo`` restarts the same
rig; the node runs while the rig runs (preparing, or serving the app) and stops with it.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from backends.errors import CustodyError
from backends.fsutil import atomic_write

from .config import BitcoindConfig, ChainConfig, Config

NODE_DIR = "bitcoind"
BINARY_FILE = "binary-path"
WALLET = "custody-demo"


def node_dir(data_dir: Path) -> Path:
    return data_dir / NODE_DIR


def remember_binary(data_dir: Path, binary: Path) -> None:
    """Check that ``binary`` runs and remember it for the rig's restarts."""
    from backends.chain.regtest_node import cannot_run

    binary = Path(binary).expanduser().resolve()
    if not binary.is_file():
        raise CustodyError(f"--bitcoind {binary} is not a file", hint="give the path of a bitcoind binary (Core >= 26)")
    why = cannot_run(binary)
    if why:
        raise CustodyError(why, hint="check the binary runs on this machine: bitcoind --version")
    node_dir(data_dir).mkdir(parents=True, exist_ok=True)
    atomic_write(node_dir(data_dir) / BINARY_FILE, f"{binary}\n".encode(), mode=0o644)


def remembered_binary(data_dir: Path) -> str:
    try:
        return (node_dir(data_dir) / BINARY_FILE).read_text().strip()
    except OSError:
        raise CustodyError(f"the demo rig in {data_dir} runs on bitcoind but does not know its binary",
                           hint="start it with custody-tui demo --bitcoind PATH") from None


def chain_config(data_dir: Path, port: int | None = None) -> ChainConfig:
    """``[chain]`` of a rig on the node: its RPC on loopback (a free port unless given), its
    cookie in the node's datadir."""
    from backends.chain.regtest_node import free_port

    port = port or free_port()
    return ChainConfig(backend="bitcoind", bitcoind=BitcoindConfig(
        url=f"http://127.0.0.1:{port}", cookie_file=str(node_dir(data_dir) / "regtest" / ".cookie"), wallet=WALLET))


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def with_a_free_port(config: Config, data_dir: Path) -> Config:
    """``config``, or, when its RPC port has been taken since, one on a free port (the config
    file is rewritten: the app and the CLI read the URL from it)."""
    if _port_is_free(urlsplit(config.chain.bitcoind.url).port or 0):
        return config
    return replace(config, chain=replace(config.chain, bitcoind=replace(
        config.chain.bitcoind, url=chain_config(data_dir).bitcoind.url)))


@contextmanager
def running_node(config: Config, data_dir: Path):
    """The rig's node while the block runs (nothing for a rig on the embedded chain)."""
    if config.chain.backend != "bitcoind":
        yield None
        return
    from backends.chain.regtest_node import RegtestNode

    node = RegtestNode(remembered_binary(data_dir), node_dir(data_dir),
                       rpc_port=urlsplit(config.chain.bitcoind.url).port)
    node.start()
    try:
        yield node
    finally:
        node.stop()


class NodeRunning:
    """The rig's node while the rig runs (a ``Running`` of the demo): nothing on the embedded chain."""

    def __init__(self, services) -> None:
        self._context = running_node(services.config, services.data_dir)
        self.node = self._context.__enter__()

    def stop(self) -> None:
        self._context.__exit__(None, None, None)
