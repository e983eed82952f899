"""The embedded chain's mempool: which transactions the next block will carry.

Admission follows the order of Bitcoin Core's ``AcceptToMemoryPool`` for the consensus rules
(inputs exist and are unspent, coinbase maturity, amounts, finality, scripts with every
flag) plus four policy rules: no dust outputs (Core's threshold at its 3 sat/vB dust relay
fee), a minimum relay fee, Core's per-transaction sigop cost limit, and no conflict with an
admitted transaction (no replacement). Reasons use Core's reject strings, so callers and tests
can treat both backends alike. The rest of standardness (script templates) is not checked. Block templates respect the block's weight and sigop
budgets, as Core's miner does.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Callable, Protocol

from ..wallet.fees import dust_threshold
from . import sigops
from .blockbuild import COINBASE_MATURITY
from .errors import TransactionRejected
from .serialize import DecodeError, Tx, TxOut, parse_tx, to_hex

MAX_MONEY = 21_000_000 * 100_000_000
MIN_RELAY_FEE_SAT_PER_VB = 1
MAX_STANDARD_TX_WEIGHT = 400_000
LOCKTIME_THRESHOLD = 500_000_000
SEQUENCE_FINAL = 0xFFFFFFFF
SEQUENCE_LOCKTIME_DISABLE_FLAG = 1 << 31
SEQUENCE_LOCKTIME_TYPE_FLAG = 1 << 22
SEQUENCE_LOCKTIME_MASK = 0x0000FFFF
COINBASE_SIGOP_RESERVE = 400  # Core's BlockAssembler keeps this much for the coinbase


@dataclass(frozen=True, slots=True)
class ConfirmedCoin:
    amount_sat: int
    script_pubkey: bytes
    height: int
    coinbase: bool


class CoinView(Protocol):
    def unspent_coin(self, txid: bytes, vout: int) -> ConfirmedCoin | None: ...
    def is_confirmed(self, txid: bytes) -> bool: ...


@dataclass(slots=True)
class MempoolEntry:
    tx: Tx
    raw: bytes
    txid: bytes
    fee_sat: int
    vsize: int
    weight: int
    seen: int
    spent: list[tuple[int, bytes]]  # (amount, scriptPubKey) per input
    sigop_cost: int = 0

    @property
    def txid_hex(self) -> str:
        return to_hex(self.txid)


def format_money(sat: int) -> str:
    """Bitcoin Core's FormatMoney: BTC with trailing zeros trimmed to at least two decimals."""
    whole, frac = divmod(abs(sat), 100_000_000)
    text = f"{whole}.{frac:08d}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{whole}.{frac:08d}"[: len(str(whole)) + 3]
    return ("-" if sat < 0 else "") + text


class Mempool:
    def __init__(self) -> None:
        self.entries: dict[bytes, MempoolEntry] = {}  # admission order is a topological order
        self.spends: dict[tuple[bytes, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def output(self, txid: bytes, vout: int) -> TxOut | None:
        entry = self.entries.get(txid)
        if entry is None or vout >= len(entry.tx.outputs):
            return None
        return entry.tx.outputs[vout]

    # -- admission

    def check(
        self, raw: bytes, *, coins: CoinView, next_height: int, tip_mtp: int,
        mtp_before: Callable[[int], int], failing_input: Callable[[bytes, list[tuple[int, bytes]]], int | None],
        now: int | None = None,
    ) -> MempoolEntry:
        """Validate ``raw`` for admission; raise :class:`TransactionRejected` with Core's reason."""
        try:
            tx = parse_tx(raw)
        except (DecodeError, ValueError) as exc:
            raise TransactionRejected(f"TX decode failed ({exc})") from None
        txid = tx.txid()
        if tx.is_coinbase:
            raise TransactionRejected("coinbase", txid=to_hex(txid))
        self._check_outputs(tx)
        if any(o.amount_sat < dust_threshold(o.script_pubkey) for o in tx.outputs):
            raise TransactionRejected("dust", txid=to_hex(txid))  # Core relays no fee-paying dust
        if coins.is_confirmed(txid):
            raise TransactionRejected("Transaction outputs already in utxo set", txid=to_hex(txid))
        weight = len(tx.serialize(with_witness=False)) * 3 + len(raw)
        if weight > MAX_STANDARD_TX_WEIGHT:
            raise TransactionRejected("tx-size", txid=to_hex(txid))
        if not _is_final(tx, next_height, tip_mtp):
            raise TransactionRejected("non-final", txid=to_hex(txid))
        spent, heights = self._spent_coins(tx, coins, next_height)
        if not _sequence_locks_ok(tx, heights, next_height, tip_mtp, mtp_before):
            raise TransactionRejected("non-BIP68-final", txid=to_hex(txid))
        value_in = sum(a for a, _ in spent)
        value_out = sum(o.amount_sat for o in tx.outputs)
        if value_in < value_out:
            raise TransactionRejected(
                f"bad-txns-in-belowout, value in ({format_money(value_in)}) < value out ({format_money(value_out)})",
                txid=to_hex(txid))
        vsize = (weight + 3) // 4
        fee = value_in - value_out
        if fee < vsize * MIN_RELAY_FEE_SAT_PER_VB or fee <= 0:
            raise TransactionRejected(f"min relay fee not met, {fee} < {max(1, vsize * MIN_RELAY_FEE_SAT_PER_VB)}",
                                      txid=to_hex(txid))
        sigop_cost = sigops.transaction_sigop_cost(tx, [script for _, script in spent])
        if sigop_cost > sigops.MAX_STANDARD_TX_SIGOPS_COST:
            raise TransactionRejected(f"bad-txns-too-many-sigops, {sigop_cost}", txid=to_hex(txid))
        bad = failing_input(raw, spent)
        if bad is not None:
            raise TransactionRejected(
                f"mandatory-script-verify-flag-failed (script evaluation failed on input {bad})", txid=to_hex(txid))
        return MempoolEntry(tx, raw, txid, fee, vsize, weight, int(_time.time()) if now is None else now, spent,
                            sigop_cost)

    @staticmethod
    def _check_outputs(tx: Tx) -> None:
        total = 0
        for o in tx.outputs:
            if o.amount_sat < 0:
                raise TransactionRejected("bad-txns-vout-negative", txid=tx.txid_hex)
            if o.amount_sat > MAX_MONEY:
                raise TransactionRejected("bad-txns-vout-toolarge", txid=tx.txid_hex)
            total += o.amount_sat
            if total > MAX_MONEY:
                raise TransactionRejected("bad-txns-txouttotal-toolarge", txid=tx.txid_hex)
        if len({i.outpoint for i in tx.inputs}) != len(tx.inputs):
            raise TransactionRejected("bad-txns-inputs-duplicate", txid=tx.txid_hex)

    def _spent_coins(self, tx: Tx, coins: CoinView, next_height: int) -> tuple[list[tuple[int, bytes]], list[int]]:
        spent: list[tuple[int, bytes]] = []
        heights: list[int] = []
        for txin in tx.inputs:
            outpoint = txin.outpoint
            if outpoint in self.spends:
                raise TransactionRejected("txn-mempool-conflict", txid=tx.txid_hex)
            parent = self.output(*outpoint)
            if parent is not None:
                spent.append((parent.amount_sat, parent.script_pubkey))
                heights.append(next_height)
                continue
            coin = coins.unspent_coin(*outpoint)
            if coin is None:
                raise TransactionRejected("bad-txns-inputs-missingorspent", txid=tx.txid_hex)
            if coin.coinbase and next_height - coin.height < COINBASE_MATURITY:
                raise TransactionRejected(
                    f"bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth {next_height - coin.height}",
                    txid=tx.txid_hex)
            spent.append((coin.amount_sat, coin.script_pubkey))
            heights.append(coin.height)
        return spent, heights

    def add(self, entry: MempoolEntry) -> None:
        self.entries[entry.txid] = entry
        for txin in entry.tx.inputs:
            self.spends[txin.outpoint] = entry.txid

    # -- leaving the mempool

    def remove(self, txid: bytes) -> MempoolEntry | None:
        entry = self.entries.pop(txid, None)
        if entry is not None:
            for txin in entry.tx.inputs:
                if self.spends.get(txin.outpoint) == txid:
                    del self.spends[txin.outpoint]
        return entry

    def descendants(self, txid: bytes) -> list[bytes]:
        found: list[bytes] = []
        frontier = [txid]
        while frontier:
            parent = frontier.pop()
            entry = self.entries.get(parent)
            n_out = len(entry.tx.outputs) if entry else 0
            for vout in range(n_out):
                child = self.spends.get((parent, vout))
                if child is not None and child not in found:
                    found.append(child)
                    frontier.append(child)
        return found

    def remove_for_block(self, block_txs: list[Tx]) -> list[tuple[MempoolEntry, bytes]]:
        """Drop mined txs; evict (with descendants) those that conflict with the block.

        Returns the evicted entries with the txid of the block transaction they conflict with.
        """
        evicted: list[tuple[MempoolEntry, bytes]] = []
        for tx in block_txs:
            txid = tx.txid()
            if self.remove(txid) is not None:
                continue
            if tx.is_coinbase:
                continue
            for txin in tx.inputs:
                loser = self.spends.get(txin.outpoint)
                if loser is None:
                    continue
                for victim in [*self.descendants(loser), loser]:
                    entry = self.remove(victim)
                    if entry is not None:
                        evicted.append((entry, txid))
        return evicted

    def block_template(self, max_weight: int = 3_900_000, max_sigop_cost: int | None = None) -> list[MempoolEntry]:
        """Admitted transactions in admission order, as many as the block's budgets hold.

        ``max_sigop_cost`` defaults to the block limit less Core's coinbase reserve.
        """
        if max_sigop_cost is None:
            max_sigop_cost = sigops.MAX_BLOCK_SIGOPS_COST - COINBASE_SIGOP_RESERVE
        chosen: list[MempoolEntry] = []
        chosen_ids: set[bytes] = set()
        weight = sigop_cost = 0
        for entry in self.entries.values():
            if weight + entry.weight > max_weight or sigop_cost + entry.sigop_cost > max_sigop_cost:
                break  # keep the order topological: stop at the first that does not fit
            if any(i.prev_txid in self.entries and i.prev_txid not in chosen_ids for i in entry.tx.inputs):
                break
            chosen.append(entry)
            chosen_ids.add(entry.txid)
            weight += entry.weight
            sigop_cost += entry.sigop_cost
        return chosen


def _is_final(tx: Tx, next_height: int, tip_mtp: int) -> bool:
    if tx.locktime == 0:
        return True
    limit = next_height if tx.locktime < LOCKTIME_THRESHOLD else tip_mtp
    if tx.locktime < limit:
        return True
    return all(i.sequence == SEQUENCE_FINAL for i in tx.inputs)


def _sequence_locks_ok(tx: Tx, heights: list[int], next_height: int, tip_mtp: int,
                       mtp_before: Callable[[int], int]) -> bool:
    """BIP-68 relative lock-times, evaluated for a block at ``next_height``."""
    if (tx.version & 0xFFFFFFFF) < 2:  # Core compares nVersion unsigned: -1 enforces BIP-68
        return True
    for txin, coin_height in zip(tx.inputs, heights):
        sequence = txin.sequence
        if sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG:
            continue
        value = sequence & SEQUENCE_LOCKTIME_MASK
        if sequence & SEQUENCE_LOCKTIME_TYPE_FLAG:
            coin_time = mtp_before(coin_height)
            if coin_time + (value << 9) - 1 >= tip_mtp:
                return False
        elif coin_height + value - 1 >= next_height:
            return False
    return True
