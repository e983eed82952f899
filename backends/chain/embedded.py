"""``EmbeddedChain``: a regtest chain in the data directory, validated by Bitcoin Core's
consensus code (libbitcoinkernel), with its own mempool, UTXO index and history.

On-disk layout under ``data_dir``::

    LOCK            flock held while open (a second process gets ChainDataDirInUse)
    kernel/         libbitcoinkernel's blocks/ and chainstate/ (LevelDB, ~18 MiB preallocated)
    blocks.log      append-only raw blocks, fsynced per block, replayed on open
    blocks.log.flushed  offset up to which a clean close had the kernel persist its state
    index.sqlite    outputs, spends, fees, times, mempool, watched descriptors (WAL)
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time as _time
from pathlib import Path

from ..fsutil import ensure_private_dir
from .addresses import payout_script
from .blockbuild import build_block
from .blocklog import BlockLog
from .descriptors import GAP_LIMIT, derive_scripts, strip_checksum
from .errors import (
    BlockRejected, ChainDataDirInUse, ChainError, DescriptorError, SideBranchBlock, TransactionRejected,
)
from .interface import DEFAULT_RANGE_END, HistoryEntry, Tip, TxStatus, Utxo, require_txid
from .kernel import Kernel
from .mempool import ConfirmedCoin, Mempool, MIN_RELAY_FEE_SAT_PER_VB
from .serialize import from_hex, parse_block, parse_tx, sha256d, to_hex, Tx
from .store import ScriptOwner, Store

log = logging.getLogger(__name__)


class _Coins:
    """The confirmed UTXO view the mempool checks against."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def unspent_coin(self, txid: bytes, vout: int) -> ConfirmedCoin | None:
        coin = self._store.coin(txid, vout)
        if coin is None or coin.spent_txid is not None:
            return None
        return ConfirmedCoin(coin.amount_sat, coin.script_pubkey, coin.height, coin.coinbase)

    def is_confirmed(self, txid: bytes) -> bool:
        return self._store.confirmed_tx(txid) is not None


class EmbeddedChain:
    backend_name = "embedded"
    network = "regtest"

    def __init__(self, data_dir: Path | str, *, auto_mine_interval: float | None = None,
                 auto_mine_to: str | bytes | None = None, worker_threads: int = 0,
                 fallback_fee_rate: float = float(MIN_RELAY_FEE_SAT_PER_VB)) -> None:
        self.data_dir = ensure_private_dir(Path(data_dir))
        self._lock = threading.RLock()
        self._closed = False
        self._lock_fd = self._take_dir_lock()
        try:
            self._kernel = Kernel(self.data_dir / "kernel", worker_threads=worker_threads)
            self._blocklog = BlockLog(self.data_dir / "blocks.log")
            self._store = Store(self.data_dir / "index.sqlite")
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._coins = _Coins(self._store)
        self._mempool = Mempool()
        self._fallback_fee_rate = fallback_fee_rate
        self.replay_warnings: list[str] = []
        self.replayed_blocks = 0  # logged blocks the kernel had lost (after a hard kill)
        self._stop = threading.Event()
        self._miner: threading.Thread | None = None
        self.auto_mine_error: Exception | None = None
        try:
            self._owners = self._store.script_owners()
            self._ranges = {d: r for d, _, r in self._store.descriptors()}
            self._replay_block_log()
            self._sync_index_with_kernel()
            self._reload_mempool()
            if auto_mine_interval:
                self.start_auto_mine(auto_mine_interval, auto_mine_to)
        except BaseException:
            self.close()  # a failed open must not keep the data dir locked
            raise

    # -- opening

    def _take_dir_lock(self) -> int:
        fd = os.open(self.data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ChainDataDirInUse(
                f"chain data dir in use by another process: {self.data_dir}",
                hint="stop the other custody-tui (or demo) using this data directory") from None
        return fd

    def _replay_block_log(self) -> None:
        start, flushed_tip = self._blocklog.flushed()
        if flushed_tip is None or self._kernel.active_height_of(from_hex(flushed_tip)) is None:
            start = 0  # the kernel lost what a clean close should have persisted: replay it all
        for raw in self._blocklog.replay(start):
            try:
                self.replayed_blocks += self._kernel.submit(raw, sha256d(raw[:80]))
            except SideBranchBlock:
                pass  # stored again on its branch, as before the kill
            except BlockRejected as exc:
                self.replay_warnings.append(f"logged block {exc.block_hash} not replayed: {exc.reason}")

    def _sync_index_with_kernel(self) -> None:
        tip = self._kernel.tip()
        last = self._store.last_block()
        common = -1
        disconnected: list[Tx] = []
        if last is not None:
            common = min(last[0], tip.height)
            while common >= 0 and self._store.block_hash_at(common) != self._kernel.hash_at(common):
                common -= 1
            if common < last[0]:
                disconnected = self._transactions_of_blocks_above(common, last[0])
                self._store.rollback_above(common)
        for height in range(common + 1, tip.height + 1):
            self._index_block(height, self._kernel.block_raw(height))
        if disconnected:
            self._return_to_mempool(disconnected)

    def _transactions_of_blocks_above(self, common: int, last: int) -> list[Tx]:
        """The non-coinbase transactions of the indexed blocks a reorg disconnects, read
        back from the block log (the kernel has moved to the other branch)."""
        hashes = [self._store.block_hash_at(height) for height in range(common + 1, last + 1)]
        wanted = set(hashes)
        raw_by_hash = {}
        for raw in self._blocklog.replay(0):  # a whole read, but reorgs are rare on regtest
            block_hash = sha256d(raw[:80])
            if block_hash in wanted:
                raw_by_hash[block_hash] = raw
        txs: list[Tx] = []
        for block_hash in hashes:
            if block_hash in raw_by_hash:
                txs += [tx for tx in parse_block(raw_by_hash[block_hash])[1] if not tx.is_coinbase]
        return txs

    def _return_to_mempool(self, disconnected: list[Tx]) -> None:
        """After a reorg, as Core does: the disconnected transactions come back first, then
        the mempool that spent them; what the new branch made invalid is dropped."""
        previous = list(self._mempool.entries.values())
        self._mempool = Mempool()
        for tx in disconnected:
            txid = tx.txid()
            if self._store.confirmed_tx(txid) is not None:
                continue  # the new branch mined it too
            try:
                self._mempool.add(self._check(tx.serialize()))
            except TransactionRejected as exc:
                self._drop_after_reorg(txid, exc)
        for entry in previous:
            try:
                fresh = self._check(entry.raw)
            except TransactionRejected as exc:
                self._drop_after_reorg(entry.txid, exc)
                continue
            fresh.seen = entry.seen
            self._mempool.add(fresh)
        self._persist_mempool_order(previous)

    def _drop_after_reorg(self, txid: bytes, exc: TransactionRejected) -> None:
        # a payment the new branch double-spent is what an operator must see as conflicted
        state = "conflicted" if "missingorspent" in exc.reason else "unknown"
        self._store.mark_dropped(txid, state, f"dropped after a reorg: {exc.reason}")

    def _persist_mempool_order(self, stored: list) -> None:
        """The persisted mempool in memory order, parents first: a reopen admits it in order."""
        self._store.mempool_remove([entry.txid for entry in stored] + list(self._mempool.entries))
        for entry in self._mempool.entries.values():
            self._store.mempool_add(entry.txid, entry.raw, entry.seen)

    def _reload_mempool(self) -> None:
        """Re-admit the persisted mempool; what no longer passes (mined elsewhere, conflicted) is dropped."""
        returned_by_reorg = bool(self._mempool.entries)  # a reorg found while opening
        stale = []
        for raw, seen in self._store.mempool_all():
            if parse_tx(raw).txid() in self._mempool.entries:
                continue
            try:
                entry = self._check(raw)
            except TransactionRejected:
                stale.append(parse_tx(raw).txid())
                continue
            entry.seen = seen
            self._mempool.add(entry)
        self._store.mempool_remove(stale)
        if returned_by_reorg:
            self._persist_mempool_order([])

    def _index_block(self, height: int, raw: bytes) -> None:
        header, txs = parse_block(raw)
        first_seen = {e.txid: e.seen for e in self._mempool.entries.values()}
        self._store.apply_block(height, header.hash(), header.time, txs, first_seen)
        for entry, winner in self._mempool.remove_for_block(txs):
            self._store.mark_dropped(entry.txid, "conflicted", f"conflicts with {to_hex(winner)} in block {height}")
            self._store.mempool_remove([entry.txid])
        if height:
            self._top_up(tx.outputs for tx in txs)

    # -- reads

    def tip(self) -> Tip:
        self._check_open()
        tip = self._kernel.tip()
        return Tip(tip.height, to_hex(tip.hash), tip.time)

    def block_hash(self, height: int) -> str | None:
        """The hash of the active chain's block at ``height``, or None above the tip."""
        self._check_open()
        found = self._kernel.hash_at(height)
        return to_hex(found) if found is not None else None

    def watched(self) -> list[str]:
        return [d for d, _, _ in self._store.descriptors()]

    def utxos(self, descriptor: str | None = None) -> list[Utxo]:
        with self._lock:
            self._check_open()
            key = self._watched_key(descriptor)
            owners = self._owners if key is None else self._store.script_owners(key)
            tip_height = self._kernel.tip().height
            result = []
            for txid, vout, amount, spk, height, coinbase in self._store.unspent_for_scripts(key):
                if (txid, vout) in self._mempool.spends:
                    continue
                owner = owners[spk]
                result.append(Utxo(to_hex(txid), vout, amount, spk, tip_height - height + 1, height,
                                   owner.descriptor, owner.branch, owner.index, coinbase))
            for entry in self._mempool.entries.values():
                for vout, out in enumerate(entry.tx.outputs):
                    owner = owners.get(out.script_pubkey)
                    if owner is None or (entry.txid, vout) in self._mempool.spends:
                        continue
                    result.append(Utxo(entry.txid_hex, vout, out.amount_sat, out.script_pubkey, 0, None,
                                       owner.descriptor, owner.branch, owner.index, False))
            return result

    def history(self, descriptor: str | None = None) -> list[HistoryEntry]:
        with self._lock:
            self._check_open()
            key = self._watched_key(descriptor)
            owners = self._owners if key is None else self._store.script_owners(key)
            tip_height = self._kernel.tip().height
            result = [
                HistoryEntry(to_hex(txid), first_seen, height, tip_height - height + 1, received, sent, fee)
                for txid, height, _pos, fee, first_seen, received, sent in self._store.confirmed_history(key)
            ]
            for entry in self._mempool.entries.values():
                received = sum(o.amount_sat for o in entry.tx.outputs if o.script_pubkey in owners)
                sent = sum(amount for amount, spk in entry.spent if spk in owners)
                if received or sent:
                    all_ours = all(spk in owners for _, spk in entry.spent)
                    result.append(HistoryEntry(entry.txid_hex, entry.seen, None, 0, received, sent,
                                               entry.fee_sat if all_ours else None))
            return result

    def tx_status(self, txid: str) -> TxStatus:
        key = from_hex(require_txid(txid))
        with self._lock:
            self._check_open()
            confirmed = self._store.confirmed_tx(key)
            if confirmed is not None:
                return TxStatus("confirmed", self._kernel.tip().height - confirmed[0] + 1)
            if key in self._mempool.entries:
                return TxStatus("mempool", 0)
            dropped = self._store.dropped(key)
            if dropped is not None and dropped[0] == "conflicted":
                return TxStatus("conflicted", 0)
            return TxStatus("unknown", 0)

    def estimate_fee_rate(self, target_blocks: int) -> float:
        """Regtest has no fee market: the configured fallback rate, never below the relay minimum."""
        if target_blocks < 1:
            raise ChainError(f"fee estimate target must be at least 1 block, not {target_blocks}")
        return max(float(MIN_RELAY_FEE_SAT_PER_VB), self._fallback_fee_rate)

    # -- watching

    def watch(self, descriptor: str, *, range_end: int = DEFAULT_RANGE_END, label: str = "") -> None:
        key = strip_checksum(descriptor)
        if range_end < 0:
            raise DescriptorError(f"range_end must be >= 0, not {range_end}")
        with self._lock:
            self._check_open()
            have = self._ranges.get(key, -1)
            scripts = derive_scripts(key, have + 1, range_end) if range_end > have or have < 0 else []
            self._store.add_descriptor(key, label, max(have, range_end), int(_time.time()), scripts)
            self._ranges[key] = max(have, range_end)
            self._owners = self._store.script_owners()

    def _watched_key(self, descriptor: str | None) -> str | None:
        if descriptor is None:
            return None
        key = strip_checksum(descriptor)
        if key not in self._ranges:
            raise DescriptorError(f"descriptor is not watched: {key[:80]}", hint="watch it first")
        return key

    def _top_up(self, outputs_per_tx) -> None:
        """Keep GAP_LIMIT unused addresses watched past the highest used one, as Core's keypool does."""
        want: dict[str, int] = {}
        for outputs in outputs_per_tx:
            for out in outputs:
                owner: ScriptOwner | None = self._owners.get(out.script_pubkey)
                if owner is None or owner.index is None:
                    continue
                if owner.index + GAP_LIMIT > self._ranges.get(owner.descriptor, 0):
                    want[owner.descriptor] = max(want.get(owner.descriptor, 0), owner.index + GAP_LIMIT)
        for descriptor, end in want.items():
            label = next((l for d, l, _ in self._store.descriptors() if d == descriptor), "")
            self.watch(descriptor, range_end=end, label=label)

    # -- writes

    def broadcast(self, raw_tx: bytes) -> str:
        with self._lock:
            self._check_open()
            try:
                txid = parse_tx(raw_tx).txid()
            except ValueError as exc:
                raise TransactionRejected(f"TX decode failed ({exc})") from None
            if txid in self._mempool.entries:
                return to_hex(txid)
            entry = self._check(raw_tx)
            self._mempool.add(entry)
            self._store.mempool_add(entry.txid, entry.raw, entry.seen)
            self._top_up([entry.tx.outputs])
            return entry.txid_hex

    def check_admission(self, raw_tx: bytes) -> None:
        """What ``broadcast`` would decide, without admitting: TransactionRejected with Core's
        reason, or None (Core's ``testmempoolaccept``)."""
        with self._lock:
            self._check_open()
            self._check(raw_tx)

    def _check(self, raw: bytes):
        tip = self._kernel.tip()
        return self._mempool.check(
            raw, coins=self._coins, next_height=tip.height + 1, tip_mtp=self._kernel.median_time_past(),
            mtp_before=lambda h: self._kernel.median_time_past(max(h - 1, 0)),
            failing_input=self._kernel.failing_input)

    def mine(self, n: int, address_or_script: str | bytes) -> list[str]:
        if n < 0:
            raise ChainError(f"cannot mine a negative number of blocks ({n})")
        script = payout_script(address_or_script, self.network)
        return [self._mine_one(script) for _ in range(n)]

    def _mine_one(self, script: bytes) -> str:
        with self._lock:
            self._check_open()
            txs = self._mempool.block_template()
            while True:
                try:
                    return self._connect(self._build([e.tx for e in txs], script, sum(e.fee_sat for e in txs)))
                except BlockRejected as exc:
                    if not txs:
                        raise
                    if len(txs) > 1:
                        # Our admission missed a rule Core enforces. The block must still be
                        # mined, so retry with the first half: a block that connects keeps
                        # its transactions; the rest wait for the next block.
                        txs = txs[: len(txs) // 2]
                        continue
                    self._evict(txs[0], f"dropped from the mempool: Core refused it in a block ({exc.reason})")
                    txs = self._mempool.block_template()

    def _evict(self, culprit, reason: str) -> None:
        """Drop a transaction Core refuses, with the descendants that spend it."""
        victims = [*self._mempool.descendants(culprit.txid), culprit.txid]
        for txid in victims:
            self._mempool.remove(txid)
            self._store.mark_dropped(txid, "unknown", reason)
        self._store.mempool_remove(victims)
        log.warning("mempool: %s %s", to_hex(culprit.txid), reason)

    def _build(self, txs: list[Tx], script: bytes, fees: int):
        tip = self._kernel.tip()
        return build_block(prev_hash=tip.hash, height=tip.height + 1, median_time_past=self._kernel.median_time_past(),
                           payout_script=script, txs=txs, fees_sat=fees)

    def _connect(self, block) -> str:
        self._kernel.submit(block.raw, block.hash)
        self._blocklog.append(block.raw)
        self._index_block(self._kernel.tip().height, block.raw)
        return block.hash_hex

    # -- raw blocks (tests, tools)

    def propose_block(self, raw_txs: list[bytes], address_or_script: str | bytes) -> bytes:
        """A block on the tip carrying ``raw_txs`` as given, without mempool checks."""
        with self._lock:
            self._check_open()
            txs = [parse_tx(raw) for raw in raw_txs]
            fees = 0
            for tx in txs:
                value_in = 0
                for txin in tx.inputs:
                    coin = self._store.coin(*txin.outpoint)
                    parent = self._mempool.output(*txin.outpoint)
                    value_in += coin.amount_sat if coin else parent.amount_sat if parent else 0
                fees += max(0, value_in - sum(o.amount_sat for o in tx.outputs))
            return self._build(txs, payout_script(address_or_script, self.network), fees).raw

    def submit_block(self, raw_block: bytes) -> str:
        """Submit a block built elsewhere; its hash, or :class:`BlockRejected` with Core's reason."""
        with self._lock:
            self._check_open()
            block_hash = sha256d(raw_block[:80])
            try:
                connected = self._kernel.submit(raw_block, block_hash)
            except SideBranchBlock:
                self._blocklog.append(raw_block)  # kept, so a replay can rebuild its branch
                raise
            if connected:
                self._blocklog.append(raw_block)
                self._sync_index_with_kernel()
            return to_hex(block_hash)

    # -- auto-mining

    def start_auto_mine(self, interval: float, address_or_script: str | bytes | None) -> None:
        if address_or_script is None:
            raise ChainError("auto-mining needs an address to pay the blocks to")
        script = payout_script(address_or_script, self.network)
        self.stop_auto_mine()
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self._mine_one(script)
                except Exception as exc:  # keep mining; the app shows the last error
                    self.auto_mine_error = exc

        self._miner = threading.Thread(target=run, name="embedded-chain-auto-mine", daemon=True)
        self._miner.start()

    def stop_auto_mine(self) -> None:
        self._stop.set()
        if self._miner is not None:
            self._miner.join()
            self._miner = None

    # -- lifecycle

    def _check_open(self) -> None:
        if self._closed:
            raise ChainError("the embedded chain is closed")

    def close(self) -> None:
        self.stop_auto_mine()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            tip_hash = to_hex(self._kernel.tip().hash)
            self._kernel.close()  # the kernel writes its state here
            self._blocklog.mark_flushed(tip_hash)
            self._blocklog.close()
            self._store.close()
            os.close(self._lock_fd)

    def __enter__(self) -> "EmbeddedChain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
