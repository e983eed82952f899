"""The one place that touches py-bitcoinkernel: open a regtest chainstate, submit blocks, read the tip.

Sharp edges handled here (see shared/research/kernel-chain.md):
- ``process_block`` returns True for a block that fails consensus checks in ConnectBlock, so a
  block counts as accepted only when it became the tip or is already on the active chain;
- the readable reason exists only in the kernel log, whose connection is process-global:
  one connection per process fans lines out to per-thread captures (callbacks run on the
  submitting thread);
- ``BlockTreeEntry`` views are never kept beyond one call, so nothing dangles after close;
- a second chainstate manager on the same directory raises RuntimeError: mapped to
  :class:`ChainDataDirInUse`.
"""

from __future__ import annotations

import collections
import ctypes
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import BlockRejected, ChainDataDirInUse, ChainError, KernelUnavailable, SideBranchBlock
from .serialize import to_hex


def import_kernel() -> Any:
    try:
        import pbk
    except Exception as exc:  # ImportError, or OSError when the bundled library will not load
        raise KernelUnavailable(
            f"the embedded chain needs py-bitcoinkernel, which cannot be loaded here ({exc})",
            hint="configure a Bitcoin Core node instead: chain.backend = \"bitcoind\" and chain.bitcoind.url",
        ) from exc
    return pbk


# --- the process-global kernel log --------------------------------------------------------

class _KernelLog:
    """Routes kernel log lines to whichever capture is open on the logging thread."""

    def __init__(self, pbk: Any) -> None:
        self.recent: collections.deque[str] = collections.deque(maxlen=500)
        self._local = threading.local()
        self._connection = pbk.LoggingConnection(cb=self._on_line)

    def _on_line(self, line: str) -> None:
        line = line.rstrip("\n")
        self.recent.append(line)
        sink = getattr(self._local, "sink", None)
        if sink is not None:
            sink.append(line)

    @contextmanager
    def capture(self) -> Iterator[list[str]]:
        previous = getattr(self._local, "sink", None)
        lines: list[str] = []
        self._local.sink = lines
        try:
            yield lines
        finally:
            self._local.sink = previous


_log_lock = threading.Lock()
_log: _KernelLog | None = None


def kernel_log(pbk: Any) -> _KernelLog:
    global _log
    with _log_lock:
        if _log is None:
            _log = _KernelLog(pbk)
        return _log


#: what a block that is neither connected nor logged as failing is taken for
SIDE_BRANCH = "block not connected (a side branch, or a failure the kernel did not log)"

_REASON_PATTERNS = [
    re.compile(r"AcceptBlock FAILED \((.+)\)$"),
    re.compile(r"ConnectBlock\(\): (.+)$"),
    re.compile(r"Block validation error: (.+)$"),
    re.compile(r"ConnectTip: ConnectBlock .* failed, (.+)$"),
    re.compile(r"InvalidBlockFound: invalid block=\S+ .*?reason=(.+)$"),
    re.compile(r"CheckBlock\(\): (.+)$"),
    re.compile(r"\[error\] (?:\w+: )?(.+)$"),
]


def reason_from_log(lines: list[str]) -> str | None:
    for pattern in _REASON_PATTERNS:
        for line in lines:
            match = pattern.search(line)
            if match:
                return match.group(1).strip()
    return None


# --- the chainstate ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KernelTip:
    height: int
    hash: bytes  # internal byte order
    time: int


def _fast_new(cls: Any, raw: bytes) -> Any:
    """pbk copies input bytes element by element (100 ms for a 190 kB block); copy them in one go."""
    from pbk.capi.base import KernelOpaquePtr

    obj = cls.__new__(cls)
    KernelOpaquePtr.__init__(obj, (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw), len(raw))
    return obj


class Kernel:
    """A regtest chainstate in ``datadir`` validated by Bitcoin Core's consensus code."""

    def __init__(self, datadir: Path, *, worker_threads: int = 0) -> None:
        pbk = self._pbk = import_kernel()
        self._log = kernel_log(pbk)
        self._lock = threading.RLock()
        self._checked: dict[str, tuple[str, str]] = {}
        self._callbacks = pbk.ValidationInterfaceCallbacks(block_checked=self._on_block_checked)
        options = pbk.ContextOptions()
        options.set_chainparams(pbk.ChainParameters(pbk.ChainType.REGTEST))
        options.set_validation_interface(self._callbacks)
        self._context = pbk.Context(options)
        datadir = Path(datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        cm_options = pbk.ChainstateManagerOptions(self._context, str(datadir), str(datadir / "blocks"))
        cm_options.set_worker_threads_num(worker_threads)
        with self._log.capture() as lines:
            try:
                self._cm = pbk.ChainstateManager(cm_options)
            except RuntimeError as exc:
                text = " ".join(lines)
                if "LOCK" in text or "lock" in text:
                    raise ChainDataDirInUse(
                        f"chain data dir in use by another process: {datadir}",
                        hint="stop the other custody-tui (or demo) using this data directory",
                    ) from exc
                raise ChainError(f"cannot open the embedded chain in {datadir}: {reason_from_log(lines) or exc}") from exc
        self._consensus = pbk.ChainParameters(pbk.ChainType.REGTEST).consensus_params

    def _on_block_checked(self, _user_data: Any, block: Any, state: Any) -> None:
        self._checked[str(block.block_hash)] = (state.validation_mode.name, state.block_validation_result.name)

    # -- reads (never keep a BlockTreeEntry beyond the call)

    def tip(self) -> KernelTip:
        with self._lock:
            chain = self._cm.get_active_chain()
            entry = chain.block_tree_entries[chain.height]
            header = bytes(entry.block_header)
            return KernelTip(entry.height, bytes(entry.block_hash), int.from_bytes(header[68:72], "little"))

    def median_time_past(self, height: int | None = None) -> int:
        """Median of the 11 block times ending at ``height`` (default: the tip)."""
        with self._lock:
            chain = self._cm.get_active_chain()
            top = chain.height if height is None else max(0, min(height, chain.height))
            times = []
            for height in range(top, max(-1, top - 11), -1):
                header = bytes(chain.block_tree_entries[height].block_header)
                times.append(int.from_bytes(header[68:72], "little"))
            times.sort()
            return times[len(times) // 2]

    def hash_at(self, height: int) -> bytes | None:
        with self._lock:
            chain = self._cm.get_active_chain()
            if height < 0 or height > chain.height:
                return None
            return bytes(chain.block_tree_entries[height].block_hash)

    def active_height_of(self, block_hash: bytes) -> int | None:
        """The height of ``block_hash`` if it is on the active chain."""
        with self._lock:
            key = self._pbk.BlockHash(block_hash)
            entries = self._cm.block_tree_entries
            if key not in entries:
                return None
            height = entries[key].height
            return height if self.hash_at(height) == block_hash else None

    def block_raw(self, height: int) -> bytes:
        with self._lock:
            chain = self._cm.get_active_chain()
            return bytes(self._cm.blocks[chain.block_tree_entries[height]])

    # -- writes

    def submit(self, raw: bytes, block_hash: bytes) -> bool:
        """Submit a block; True if it is new and connected, False if it was already on the chain.

        Raises :class:`BlockRejected` with Bitcoin Core's reason otherwise.
        """
        shown = to_hex(block_hash)
        with self._lock, self._log.capture() as lines:
            self._checked.pop(shown, None)
            try:
                block = _fast_new(self._pbk.Block, raw)
            except Exception:
                block = self._pbk.Block(raw)
            try:
                is_new = self._cm.process_block(block)
            except self._pbk.ProcessBlockException:
                reason = self._reason(lines, shown)
                self._checked.pop(shown, None)
                raise BlockRejected(reason, block_hash=shown) from None
            try:
                if self.active_height_of(block_hash) is not None:
                    return bool(is_new)
                reason = self._reason(lines, shown)
                if reason == SIDE_BRANCH and self._pbk.BlockHash(block_hash) in self._cm.block_tree_entries:
                    raise SideBranchBlock("stored on a side branch with no more work than the tip",
                                          block_hash=shown)
                raise BlockRejected(reason, block_hash=shown)
            finally:
                self._checked.pop(shown, None)

    def _reason(self, lines: list[str], shown: str) -> str:
        reason = reason_from_log(lines)
        if reason:
            return reason
        mode, result = self._checked.get(shown, ("", ""))
        if result:
            return f"{mode.lower()}: {result.lower()}"
        return SIDE_BRANCH

    def failing_input(self, tx_raw: bytes, spent: list[tuple[int, bytes]]) -> int | None:
        """Run Bitcoin Core's script check on every input with all consensus flags (taproot
        included); the index of the first input that fails, or None when all pass.

        ``spent`` holds (amount, scriptPubKey) of the output each input spends, in input order.
        """
        from pbk.script import PrecomputedTransactionData

        pbk = self._pbk
        tx_obj = _fast_new(pbk.Transaction, tx_raw)
        scripts = [_fast_new(pbk.ScriptPubkey, script) for _, script in spent]
        outputs = [pbk.TransactionOutput(script, amount) for script, (amount, _) in zip(scripts, spent)]
        precomputed = PrecomputedTransactionData(tx_obj, outputs)
        for index, (script, (amount, _)) in enumerate(zip(scripts, spent)):
            try:
                if not script.verify(amount, tx_obj, precomputed, index, pbk.ScriptVerificationFlags.ALL):
                    return index
            except pbk.ScriptVerifyException:
                return index
        return None

    def close(self) -> None:
        """Destroy the chainstate manager: the kernel flushes its caches to disk here."""
        with self._lock:
            cm = self.__dict__.pop("_cm", None)
            del cm
