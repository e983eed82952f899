"""The demo rig's three emulated Coldcards and the 2-of-3 quorum they hold.

Devices ``a``, ``b`` and ``c`` have published, deterministic seeds (``demo_words``), run
on regtest (``XRT``) and keep their state in ``DATA_DIR/coldcards/<name>/``. Each is its
own ``python -m backends.coldcard.emulator`` process, so one can be power-cycled while
the others keep running. ``prepare`` enrols a P2WSH ``sortedmulti`` 2-of-3 wallet on all
three, writes its descriptor to ``DATA_DIR/coldcards/quorum.descriptor``, and has the
chain watch and fund it; ``start`` runs the devices for as long as the rig runs.

The sockets live in ``/tmp/custody-tui-<uid>/<hash of the data dir>/cc-<name>.sock``,
not in the data dir: ckcc names its client socket after the text between the last ``-``
and the first ``.`` of the device path, so no directory on the path may hold a dot (the
default data dir is under ``~/.local``); a UNIX socket path has at most 107 bytes; and the
token (``a``, ``b``, ``c``) must differ between devices, or two clients in one process
would take each other's socket name.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from backends.errors import CustodyError
from backends.fsutil import atomic_write, ensure_private_dir

from .demo import Running, demo_address, demo_words
from .services import Services

log = logging.getLogger(__name__)

DEVICE_NAMES = ("a", "b", "c")
DEVICE_CHAIN = "XRT"
#: BIP-48 account for P2WSH multisig on test networks
ACCOUNT_PATH = "m/48h/1h/0h/2h"
WALLET_NAME = "demo-quorum"
QUORUM_M = 2
#: coinbases paid to the quorum's first receive addresses, one block each
QUORUM_COINBASES = 5
COINBASE_MATURITY = 100
#: receive and change addresses the chain watches up front (it extends the range as coins arrive)
WATCH_RANGE_END = 99
START_TIMEOUT_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 5.0
#: where the sockets go; fixed rather than $TMPDIR, which may hold a dot or be long
SOCKET_ROOT = Path("/tmp")


class DeviceStartError(CustodyError):
    """An emulated Coldcard of the demo rig did not come up."""


# -- where things are -----------------------------------------------------------------------


def coldcards_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "coldcards"


def descriptor_file(data_dir: Path) -> Path:
    """The quorum's descriptor (with checksum), written once all three devices hold it."""
    return coldcards_dir(data_dir) / "quorum.descriptor"


def wallet_file_path(data_dir: Path) -> Path:
    """The Coldcard multisig wallet file the devices enrolled (importable elsewhere too)."""
    return coldcards_dir(data_dir) / "quorum-wallet.txt"


def socket_dir(data_dir: Path) -> Path:
    """A dot-free, short directory for the rig's device sockets, one per data dir."""
    digest = hashlib.sha256(os.fsencode(Path(data_dir).resolve())).hexdigest()[:12]
    return SOCKET_ROOT / f"custody-tui-{os.getuid()}" / digest


def device_sockets(data_dir: Path) -> dict[str, Path]:
    """The socket path of each demo device, as ``ColdcardClient`` and ``ckcc -c`` take it."""
    return {name: socket_dir(data_dir) / f"cc-{name}.sock" for name in DEVICE_NAMES}


def _private_socket_dir(data_dir: Path) -> Path:
    """Create the socket directory, refusing one in /tmp that another user could reach."""
    directory = socket_dir(data_dir)
    for path in (directory.parent, directory):
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise DeviceStartError(
                f"{path} is not a private directory of this user; the demo Coldcards will not "
                "put their sockets there",
                hint=f"remove {path} (it may belong to someone else) and start the rig again",
            )
    return directory


def _answers(path: Path) -> bool:
    """Whether a process is bound to the datagram socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(os.fspath(path))
        return True
    except OSError:  # refused: a stale file; or no file
        return False
    finally:
        probe.close()


# -- one device process ---------------------------------------------------------------------


class DeviceProcess:
    """One emulated Coldcard of the rig: its own process, log file and pid file."""

    def __init__(self, data_dir: Path, name: str) -> None:
        self.name = name
        self.data_dir = Path(data_dir)
        self.socket = device_sockets(data_dir)[name]
        self.state_dir = coldcards_dir(data_dir) / name
        self.log_file = coldcards_dir(data_dir) / f"{name}.log"
        self.pid_file = coldcards_dir(data_dir) / f"{name}.pid"
        self.process: subprocess.Popen | None = None

    @property
    def answers(self) -> bool:
        return _answers(self.socket)

    def start(self) -> DeviceProcess:
        """Start the device and wait until it answers."""
        self.spawn()
        self.wait_until_it_answers()
        return self

    def spawn(self) -> None:
        """Start the process without waiting for it (the rig starts its devices together)."""
        _private_socket_dir(self.data_dir)
        ensure_private_dir(coldcards_dir(self.data_dir))
        ensure_private_dir(self.state_dir)
        if self.answers:
            self._stop_orphan()
        self.socket.unlink(missing_ok=True)
        args = [sys.executable, "-m", "backends.coldcard.emulator", "--socket", os.fspath(self.socket),
                "--state-dir", os.fspath(self.state_dir), "--words", demo_words(f"coldcard-{self.name}"),
                "--chain", DEVICE_CHAIN, "--set", "hsmcmd=1",  # HSM mode allowed, as the quorum needs
                "--exit-with-parent"]
        with open(self.log_file, "ab") as log_output:
            # its own session: a Ctrl-C in the terminal reaches the rig, which stops the
            # devices itself, never a device half-way through an exchange. Its stdin is a
            # pipe only this process holds: a rig killed outright (SIGKILL, OOM) closes it and
            # the device stops with it. (PR_SET_PDEATHSIG would fire when the *thread* that
            # started it ends, and power cycles run in worker threads.)
            self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=log_output,
                                            stderr=subprocess.STDOUT, start_new_session=True,
                                            cwd=_repository_root())
        atomic_write(self.pid_file, f"{self.process.pid}\n".encode())

    def wait_until_it_answers(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self.answers:
            if self.process.poll() is not None:
                self.process.stdin.close()
                self.process = None
                self.pid_file.unlink(missing_ok=True)
                raise DeviceStartError(f"demo Coldcard {self.name} exited at start: {self._log_tail()}",
                                       hint=f"see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise DeviceStartError(f"demo Coldcard {self.name} did not answer within "
                                       f"{START_TIMEOUT_SECONDS:.0f} s", hint=f"see {self.log_file}")
            time.sleep(0.02)

    def _log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1] if lines else "(no output)"

    def _stop_orphan(self) -> None:
        """A device left running by a rig that was killed: stop it, or refuse a stranger.

        Only one rig runs per data dir (the chain part refuses a second one), so a device of
        ours that answers before we started it belongs to a rig that died."""
        pid = self._recorded_pid()
        if pid is None or not _is_our_emulator(pid, self.socket):
            pid = _find_emulator(self.socket)  # the pid file went, e.g. with --fresh
        if pid is None:
            raise DeviceStartError(
                f"something already answers on {self.socket}, and it is not a device this rig started",
                hint="stop the other custody-tui demo using this data directory",
            )
        log.info("stopping demo Coldcard %s left running by an earlier rig (pid %d)", self.name, pid)
        _end(pid, self.socket)
        self.socket.unlink(missing_ok=True)

    def _recorded_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        """SIGTERM, wait, then SIGKILL; the socket and the pid file go too."""
        self.terminate()
        self.wait_stopped()

    def restart(self) -> None:
        """A power cycle: the process ends and a new one boots from the device's state dir.
        HSM mode does not survive it (the demo policy has no ``boot_to_hsm``)."""
        self.stop()
        self.start()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait_stopped(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            process.stdin.close()
        self.socket.unlink(missing_ok=True)
        self.pid_file.unlink(missing_ok=True)

    def client(self):
        from backends.coldcard.client import ColdcardClient

        return ColdcardClient(os.fspath(self.socket))


def _repository_root() -> Path:
    """Where ``backends`` is importable from, for a source checkout as for an install."""
    import backends

    return Path(backends.__file__).resolve().parent.parent


def _is_our_emulator(pid: int, socket_path: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"backends.coldcard.emulator" in cmdline and os.fsencode(socket_path) in cmdline


def _find_emulator(socket_path: Path) -> int | None:
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError):
            if entry.stat().st_uid == os.getuid() and _is_our_emulator(int(entry.name), socket_path):
                return int(entry.name)
    return None


def _end(pid: int, socket_path: Path) -> None:
    """Stop an emulator that is not our child. Its parent is gone, and whoever adopted it
    may not reap it soon, so "gone" means its command line is (a zombie has none)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        while _is_our_emulator(pid, socket_path):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                break
            time.sleep(0.05)


def start_devices(devices: list[DeviceProcess]) -> None:
    """Start ``devices`` together; if one fails, stop them all."""
    try:
        for device in devices:
            device.spawn()
        for device in devices:
            device.wait_until_it_answers()
    except BaseException:
        stop_devices(devices)
        raise


def stop_devices(devices: list[DeviceProcess]) -> None:
    """SIGTERM to all, then wait for each (a device takes up to half a second to notice)."""
    for device in devices:
        device.terminate()
    for device in devices:
        device.wait_stopped()
    if devices:
        with contextlib.suppress(OSError):  # only when empty: never another rig's sockets
            socket_dir(devices[0].data_dir).rmdir()


#: the rigs whose devices this process runs, by data dir: only the process that started a
#: device can power-cycle it and still stop it when the rig stops
_RUNNING: dict[Path, RunningDevices] = {}


class NotRunningHere(CustodyError):
    """A power cycle was asked of a demo device this process does not run."""


class RunningDevices(Running):
    """The three devices while the rig runs."""

    def __init__(self, services: Services) -> None:
        self.data_dir = Path(services.data_dir).resolve()
        self.devices = [DeviceProcess(services.data_dir, name) for name in DEVICE_NAMES]
        start_devices(self.devices)
        _RUNNING[self.data_dir] = self

    def power_cycle(self, name: str) -> None:
        """Restart device ``name``: it comes back out of HSM mode, for auto-heal to re-arm."""
        for device in self.devices:
            if device.name == name:
                device.restart()
                return
        raise NotRunningHere(f"the demo rig has no device named {name!r} (devices: {', '.join(DEVICE_NAMES)})")

    def stop(self) -> None:
        if _RUNNING.get(self.data_dir) is self:
            del _RUNNING[self.data_dir]
        stop_devices(self.devices)


def running_devices(data_dir: Path) -> RunningDevices | None:
    """The demo devices this process runs for ``data_dir`` (``custody-tui demo``), if any."""
    return _RUNNING.get(Path(data_dir).resolve())


# -- the quorum -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cosigner:
    name: str
    xfp: str  # 8 hex digits, fingerprint byte order, e.g. 0F056943
    xpub: str  # at ACCOUNT_PATH

    @property
    def xfp_int(self) -> int:
        """The xfp as ckcc's ``multisig_check`` takes it (little-endian fingerprint)."""
        return int.from_bytes(bytes.fromhex(self.xfp), "little")


def read_cosigner(device: DeviceProcess) -> Cosigner:
    client = device.client()
    return Cosigner(device.name, client.master().xfp, client.xpub(ACCOUNT_PATH))


def wallet_file(cosigners: list[Cosigner]) -> str:
    """The Coldcard multisig wallet file (``Name``/``Policy``/``Derivation``/``Format``)."""
    lines = [f"# custody-tui demo rig: {QUORUM_M}-of-{len(cosigners)} quorum of demo Coldcards "
             f"{', '.join(c.name for c in cosigners)}",
             f"Name: {WALLET_NAME}", f"Policy: {QUORUM_M} of {len(cosigners)}",
             f"Derivation: {ACCOUNT_PATH}", "Format: P2WSH", ""]
    lines += [f"{c.xfp}: {c.xpub}" for c in cosigners]
    return "\n".join(lines) + "\n"


def quorum_descriptor(cosigners: list[Cosigner]) -> str:
    """``wsh(sortedmulti(2,[xfp/48h/1h/0h/2h]tpub/<0;1>/*,...))#checksum`` (BIP-380/383/389)."""
    from backends.wallet import descriptor_checksum

    origin = ACCOUNT_PATH.removeprefix("m")
    keys = ",".join(f"[{c.xfp.lower()}{origin}]{c.xpub}/<0;1>/*" for c in cosigners)
    body = f"wsh(sortedmulti({QUORUM_M},{keys}))"
    return f"{body}#{descriptor_checksum(body)}"


def read_descriptor(data_dir: Path) -> str | None:
    try:
        return descriptor_file(data_dir).read_text().strip() or None
    except FileNotFoundError:
        return None


def _enrol_quorum(services: Services, devices: list[DeviceProcess]) -> str:
    """Enrol the wallet on each device that lacks it; then publish the descriptor."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(devices)) as pool:  # one lock per device: they answer in parallel
        cosigners = list(pool.map(read_cosigner, devices))
    text = wallet_file(cosigners)
    xfps = [c.xfp_int for c in cosigners]
    for device, cosigner in zip(devices, cosigners, strict=True):
        client = device.client()
        if client.has_multisig(QUORUM_M, len(cosigners), xfps):
            continue
        with services.audited("quorum", "enrol", device=device.name, xfp=cosigner.xfp,
                              wallet=WALLET_NAME, demo=True):
            client.enroll_multisig(text, press_ok_on_simulator=True)
            if not client.has_multisig(QUORUM_M, len(cosigners), xfps):
                raise CustodyError(f"demo Coldcard {device.name} did not keep the {WALLET_NAME} wallet",
                                   hint=f"see {device.log_file}")
    descriptor = quorum_descriptor(cosigners)
    with services.audited("quorum", "save-descriptor", descriptor=descriptor, demo=True):
        atomic_write(wallet_file_path(services.data_dir), text.encode(), mode=0o644)
        # last: its presence says all three devices hold the wallet
        atomic_write(descriptor_file(services.data_dir), f"{descriptor}\n".encode(), mode=0o644)
    return descriptor


def _fund_quorum(services: Services, descriptor: str) -> None:
    """Watch the quorum and pay it QUORUM_COINBASES mature coinbases; each step checks what
    the chain already has, so a rig killed half-way completes on the next run."""
    from backends.chain.descriptors import strip_checksum
    from backends.wallet import REGTEST, parse_descriptor

    chain = services.chain
    if strip_checksum(descriptor) not in chain.watched():
        with services.audited("quorum", "watch", descriptor=descriptor, label=WALLET_NAME, demo=True):
            chain.watch(descriptor, range_end=WATCH_RANGE_END, label=WALLET_NAME)
    paid = len(chain.history(descriptor))
    if paid < QUORUM_COINBASES:
        wallet = parse_descriptor(descriptor, REGTEST)
        with services.audited("quorum", "fund", blocks=QUORUM_COINBASES - paid, demo=True):
            for index in range(paid, QUORUM_COINBASES):
                chain.mine(1, wallet.receive_address(index))
    immature = [u.confirmations for u in chain.utxos(descriptor) if u.coinbase and u.confirmations < COINBASE_MATURITY]
    if immature:
        blocks = COINBASE_MATURITY - min(immature)
        with services.audited("quorum", "mature", blocks=blocks, demo=True):
            chain.mine(blocks, demo_address("demo-ops"))


def prepare_coldcards(services: Services) -> None:
    """Enrol the quorum (once: the descriptor file says it is done), then watch and fund it.
    Devices a running rig already serves are used as they are; the others are started for
    the enrolment only."""
    descriptor = read_descriptor(services.data_dir)
    started: list[DeviceProcess] = []
    try:
        if descriptor is None:
            devices = [DeviceProcess(services.data_dir, name) for name in DEVICE_NAMES]
            started = [device for device in devices if not device.answers]
            start_devices(started)
            descriptor = _enrol_quorum(services, devices)
            for device in started:
                device.terminate()  # a device takes up to half a second to go: fund meanwhile
        if services.chain_configured:
            _fund_quorum(services, descriptor)
    finally:
        stop_devices(started)
