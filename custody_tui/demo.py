"""The embedded demo rig: a whole custody setup on one machine, deterministic, no setup.

Each area registers a :class:`DemoPart`. ``prepare`` creates its state in the demo data
dir once (and leaves it alone on later runs, so the rig survives restarts); ``start``
runs its services (device emulators, an auto-miner, ...) until the rig stops.
"""

from __future__ import annotations

import hashlib
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backends.fsutil import atomic_write, ensure_private_dir

from .config import ChainConfig, Config, load_config, render_toml
from .paths import CONFIG_FILE_NAME, default_data_dir
from .services import DEMO_PASSPHRASE, Services, chain_socket

#: a marker that tells a demo data dir from a real one (``--fresh`` deletes only those)
DEMO_MARKER = ".custody-tui-demo"


class Running:
    """A started demo service; ``stop`` ends it."""

    def stop(self) -> None:  # pragma: no cover - trivial default
        pass


@dataclass(frozen=True)
class DemoPart:
    name: str
    #: create the part's state once; must be idempotent
    prepare: Callable[[Services], None]
    #: start its background services; None when it has none
    start: Callable[[Services], Running] | None = None


def demo_words(name: str) -> str:
    """A deterministic 24-word mnemonic for a demo key, from a published seed phrase."""
    from embit import bip39

    entropy = hashlib.sha256(f"custody-tui demo key: {name}".encode()).digest()
    return bip39.mnemonic_from_bytes(entropy)


def _prepare_keystore(services: Services) -> None:
    keystore = services.keystore
    if not keystore.exists():
        with services.audited("keys", "initialise", demo=True):
            keystore.initialize(DEMO_PASSPHRASE)
    # per entry, so a rig killed half-way through preparing is completed on the next run
    present = {entry.label for entry in keystore.entries()}
    missing = [label for label in ("demo-treasury", "demo-ops") if label not in present]
    if not missing:
        return
    keystore.unlock(DEMO_PASSPHRASE, 60)
    try:
        for label in missing:
            with services.audited("keys", "import-mnemonic", label=label, demo=True):
                keystore.import_mnemonic(label, demo_words(label))
    finally:
        keystore.lock()


def demo_address(name: str, index: int = 0) -> str:
    """The regtest receive address ``index`` (BIP-84) of a demo key."""
    from embit import bip32, bip39, script
    from embit.networks import NETWORKS

    root = bip32.HDKey.from_seed(bip39.mnemonic_to_seed(demo_words(name)))
    child = root.derive(f"m/84h/1h/0h/0/{index}")
    return script.p2wpkh(child.key).address(NETWORKS["regtest"])


#: blocks the demo chain starts with: 10 mature coinbases for the treasury, then 100 more
DEMO_CHAIN_BLOCKS = 110


#: the first blocks pay the treasury; the rest mature them
DEMO_TREASURY_BLOCKS = 10


def demo_wallet_descriptor(services: Services, label: str) -> str:
    """The BIP-84 regtest descriptor (with checksum) of the demo keystore's wallet ``label``."""
    from backends.wallet import descriptor_checksum

    keystore = services.keystore
    keystore.unlock(DEMO_PASSPHRASE, 60)
    try:
        key = keystore.descriptor_key(label, "m/84h/1h/0h", "regtest")
    finally:
        keystore.lock()
    body = f"wpkh({key}/<0;1>/*)"
    return f"{body}#{descriptor_checksum(body)}"


def _prepare_chain(services: Services) -> None:
    """Watch the treasury's BIP-84 wallet and fund it with mature coinbases. Each step
    checks what is already there, so a rig killed half-way completes on the next run."""
    chain = services.chain
    height = chain.tip().height
    if height >= DEMO_CHAIN_BLOCKS:
        return
    descriptor = demo_wallet_descriptor(services, "demo-treasury")
    with services.audited("chain", "watch", descriptor=descriptor, label="demo-treasury", demo=True):
        chain.watch(descriptor, label="demo-treasury")
    for target, payee in ((DEMO_TREASURY_BLOCKS, "demo-treasury"), (DEMO_CHAIN_BLOCKS, "demo-ops")):
        if height < target:
            with services.audited("chain", "mine", blocks=target - height, demo=True):
                chain.mine(target - height, demo_address(payee))
            height = target


class ServedChain(Running):
    """The rig's chain, served on DATA_DIR/chain.sock to the CLI and other processes."""

    def __init__(self, services: Services) -> None:
        from backends.chain import ChainServer

        self.server = ChainServer(services.chain, chain_socket(services.data_dir))
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def _start_bitcoind(services: Services) -> Running:
    from .demo_bitcoind import NodeRunning

    return NodeRunning(services)


def _prepare_coldcards(services: Services) -> None:
    from .demo_coldcards import prepare_coldcards

    prepare_coldcards(services)


def _start_coldcards(services: Services) -> Running:
    from .demo_coldcards import RunningDevices

    return RunningDevices(services)


def _prepare_quorum(services: Services) -> None:
    from .demo_quorum import prepare_quorum

    prepare_quorum(services)


def _start_quorum(services: Services) -> Running:
    from .demo_quorum import RunningQuorum

    return RunningQuorum(services)


def _prepare_ceremony_nodes(services: Services) -> None:
    from .demo_ceremonies import prepare_nodes

    prepare_nodes(services)


def _prepare_ceremony_request(services: Services) -> None:
    from .demo_ceremonies import prepare_request

    prepare_request(services)


def _prepare_bunker(services: Services) -> None:
    from .demo_bunker import prepare_bunker

    prepare_bunker(services)


def _start_bunker(services: Services) -> Running:
    from .demo_bunker import RunningBunker

    return RunningBunker(services)


def _prepare_mint(services: Services) -> None:
    from .demo_mint import prepare_mint

    prepare_mint(services)


#: every area adds its part here, in the order the rig prepares (and starts) them
DEMO_PARTS: list[DemoPart] = [
    DemoPart("bitcoind", lambda services: None, _start_bitcoind),  # the node, on a rig made with --bitcoind
    DemoPart("keystore", _prepare_keystore),
    DemoPart("chain", _prepare_chain, ServedChain),
    # before the quorum is funded: the blocks that mature its coins mature the group's coin too
    DemoPart("ceremonies", _prepare_ceremony_nodes),
    DemoPart("coldcards", _prepare_coldcards, _start_coldcards),
    DemoPart("quorum", _prepare_quorum, _start_quorum),
    DemoPart("ceremony request", _prepare_ceremony_request),
    DemoPart("bunker", _prepare_bunker, _start_bunker),
    DemoPart("mint", _prepare_mint),
]


def default_demo_dir() -> Path:
    return default_data_dir() / "demo"


def demo_config(chain: ChainConfig | None = None) -> Config:
    """The demo rig's config: regtest, published seeds, a fast keystore KDF (demo only);
    the embedded chain unless ``chain`` says otherwise."""
    from .config import KeystoreConfig

    return Config(
        network="regtest",
        demo=True,
        keystore=KeystoreConfig(unlock_ttl_seconds=900, kdf_opslimit=2, kdf_memlimit_mib=32),
        chain=chain or ChainConfig(backend="embedded", auto_mine_seconds=30.0,
                                   auto_mine_address=demo_address("demo-ops")),
    )


def prepare_demo(data_dir: Path, *, fresh: bool = False, bitcoind: Path | None = None) -> tuple[Config, Path]:
    """Create (or reuse) the demo data dir and its config; returns them. With ``bitcoind``, a
    new rig runs on a regtest node from that binary instead of the embedded chain."""
    from backends.errors import CustodyError

    from . import demo_bitcoind

    data_dir = Path(data_dir).expanduser()
    is_demo = (data_dir / DEMO_MARKER).exists()
    if fresh and data_dir.exists():
        if not is_demo:
            raise CustodyError(
                f"{data_dir} is not a demo data dir; --fresh refuses to delete it",
                hint="pick another --data-dir for the demo",
            )
        shutil.rmtree(data_dir)
        is_demo = False
    elif data_dir.is_dir() and not is_demo and any(data_dir.iterdir()):
        # marking a real data dir as a demo one would let a later --fresh delete its keys
        raise CustodyError(
            f"{data_dir} holds files and is not a demo data dir; the demo rig will not use it",
            hint="pick a new or empty --data-dir for the demo",
        )
    ensure_private_dir(data_dir)
    if not is_demo:
        # the marker first: a rig cut short while being created can still be --fresh'ed
        atomic_write(data_dir / DEMO_MARKER, b"custody-tui demo rig\n", mode=0o644)
    if bitcoind is not None:
        demo_bitcoind.remember_binary(data_dir, bitcoind)
    config_path = data_dir / CONFIG_FILE_NAME
    if not config_path.exists():
        _write_config(config_path, demo_config(demo_bitcoind.chain_config(data_dir) if bitcoind else None))
    config = load_config(config_path)
    if bitcoind is not None and config.chain.backend != "bitcoind":
        raise CustodyError(f"the demo rig in {data_dir} runs on the {config.chain.backend} chain",
                           hint="add --fresh to start it over on bitcoind")
    if config.chain.backend == "bitcoind":
        moved = demo_bitcoind.with_a_free_port(config, data_dir)
        if moved is not config:
            _write_config(config_path, moved)
            config = moved
    services = Services(config, data_dir)
    try:
        with demo_bitcoind.running_node(config, data_dir):
            for part in DEMO_PARTS:
                part.prepare(services)
    finally:
        services.close()
    return load_config(config_path), data_dir  # a part may have completed the config


def _write_config(path: Path, config: Config) -> None:
    header = "# custody-tui demo rig: regtest, deterministic seeds, published passphrase.\n"
    atomic_write(path, (header + render_toml(config)).encode())


@contextmanager
def running_parts(services: Services) -> Iterator[list[Running]]:
    """Every part's services, started in order and stopped in reverse order on the way out
    (also when a later part fails to start)."""
    running: list[Running] = []
    try:
        for part in DEMO_PARTS:
            if part.start is not None:
                running.append(part.start(services))
        yield running
    finally:
        for service in reversed(running):
            service.stop()


def run_headless(config: Config, data_dir: Path, *, ready: Callable[[], None] | None = None) -> None:
    """Start every part's services and wait until SIGINT or SIGTERM."""
    services = Services(config, data_dir)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running_parts(services):
            if ready is not None:
                ready()
            stop.wait()
    finally:
        services.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
