"""What the ``bitcoind`` backend remembers of its wallet's transactions, so that ``history()``
on a wallet of 10,000 transactions does not decode every one of them on every call.

A transaction's inputs and outputs never change once its txid is known (the txid commits to
them), so each one is read once (``gettransaction``, its raw bytes parsed here) and kept for the connection. What does
change (confirmations, the block it is in, conflicted or abandoned) is read incrementally:
``listsinceblock`` from the last block seen lists every transaction whose state can have
changed since (unconfirmed ones, those in newer blocks, those conflicted by them, and after a
reorganisation everything above the fork), in one consistent view under the wallet's lock. A
transaction not listed again keeps its block, its confirmations counted from the wallet's tip.

Everything is listed again (decoded transactions are kept across that) when the block the
last listing reached has left the active chain (a reorganisation: conservative, though Core
would list from the fork), when the wallet's descriptor set changed, or when the wallet counts
a different number of transactions than this memory holds (a rescan after another process
imported puts old transactions below the cursor). What this memory holds can be saved in the
data dir and restored by the next connection (``bitcoind_cache``): the same checks make a
restored memory as trustworthy as one kept in the process.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from .rpc import RPC_INVALID_ADDRESS_OR_KEY, RpcError
from .serialize import parse_tx, to_hex


@dataclass(frozen=True, slots=True)
class Decoded:
    """The parts of a transaction its txid fixes."""

    inputs: tuple[tuple[str, int], ...]  # spent outpoints; none for a coinbase
    outputs: tuple[tuple[int, bytes], ...]  # (sat, scriptPubKey)
    time: int  # when the wallet first saw it (Core's timereceived)


@dataclass(frozen=True, slots=True)
class WalletTx:
    """A wallet transaction as of the last listing."""

    txid: str
    decoded: Decoded
    height: int | None  # the block it is in; None while unconfirmed or conflicted
    confirmations: int  # as listed: 0 unconfirmed, < 0 conflicted; > 0 recounted from height
    abandoned: bool
    mempool_conflicted: bool = False  # unconfirmed, and a mempool transaction spends one of its inputs

    def state(self) -> tuple:
        """What of the listing can change what the wallet counts as unspent: a conflicted
        transaction's depth grows with every block and changes nothing."""
        return (self.height, (self.confirmations > 0) - (self.confirmations < 0), self.abandoned,
                self.mempool_conflicted)

    def confirmations_at(self, tip_height: int) -> int:
        return tip_height - self.height + 1 if self.height is not None else self.confirmations


@dataclass(frozen=True, slots=True)
class WalletView:
    """The wallet as one :meth:`WalletTxs.sync` saw it."""

    txs: dict[str, WalletTx]  # a snapshot: later syncs do not change it
    tip_hash: str  # the wallet's last processed block, which the listing reached
    tip_height: int
    descriptors: str  # digest of the wallet's descriptor set, read before the listing
    locked: frozenset[tuple[str, int]]  # coins locked with lockunspent (listunspent skips them)
    state: str  # digest of every transaction's state(): equal digests, equal unspent coins


class WalletTxs:
    """The wallet's transactions, kept in step with the node by :meth:`sync`. Not
    thread-safe: the backend calls it under its lock."""

    def __init__(self, wallet_call: Callable[..., Any], wallet_batch: Callable[[list], list]) -> None:
        self._call = wallet_call  # (method, *params) -> answer, on the wallet's URL
        self._batch = wallet_batch  # [(method, params)] -> [answer or exception]
        self._decoded: dict[str, Decoded] = {}
        self._txs: dict[str, WalletTx] = {}
        self._cursor: str | None = None  # the block the last listing reached
        self._descriptors = ""  # the digest of the descriptor set self._txs was listed under
        #: bumped whenever a transaction's state(), the set of transactions or the descriptor
        #: set changes: what the backend's caches and the saved file are keyed on
        self.generation = 0
        self.full_listings = 0  # how many times everything was listed (not resumed from a cursor)
        self._state: tuple[int, str] | None = None  # (generation, digest)

    def forget_cursor(self) -> None:
        """List everything on the next sync (after an import rescanned old blocks)."""
        self._cursor = None

    def restore(self, txs: dict[str, WalletTx], cursor: str | None, descriptors: str) -> None:
        """Carry on from what an earlier connection saw (its saved file). The next sync checks
        it like its own: cursor still in the active chain, same descriptors, same count."""
        for txid, tx in txs.items():
            self._decoded.setdefault(txid, tx.decoded)
        if cursor is not None:
            self._txs, self._cursor, self._descriptors = dict(txs), cursor, descriptors
        self.generation += 1

    @property
    def decoded_count(self) -> int:
        return len(self._decoded)

    def saved_parts(self) -> tuple[dict[str, WalletTx], str | None, str]:
        """(transactions, cursor, descriptor digest), one consistent listing, for the file."""
        return self._txs, self._cursor, self._descriptors

    def sync(self) -> WalletView:
        """Every wallet transaction, and the wallet's tip they are counted at."""
        full = self._cursor is None
        descriptors, locked, listed, info = self._read(self._cursor)
        if not full and (listed is None or descriptors != self._descriptors):
            # the cursor left the active chain, or the descriptor set changed: list everything
            full = True
            descriptors, locked, listed, info = self._read(None)
        self._merge(listed, full)
        if not full and len(self._txs) != int(info["txcount"]):
            # transactions below the cursor appeared (a rescan: another process imported) or
            # went (a wallet restored from a backup under the same name)
            descriptors, locked, listed, info = self._read(None)
            self._merge(listed, True)
        if descriptors != self._descriptors:
            self._descriptors = descriptors
            self.generation += 1
        processed = info.get("lastprocessedblock") or {}
        if processed.get("hash") == listed["lastblock"]:
            tip_height = int(processed["height"])
        else:  # a block came between the listing and getwalletinfo
            tip_height = int(self._call("getblockheader", listed["lastblock"])["height"])
        return WalletView(dict(self._txs), listed["lastblock"], tip_height, descriptors, locked, self._state_digest())

    def _read(self, cursor: str | None) -> tuple[str, frozenset[tuple[str, int]], dict | None, dict]:
        """(descriptor digest, locked coins, the listing since ``cursor`` or None when the
        cursor is not in the active chain, getwalletinfo) in one round trip. The descriptors
        are read before the listing: a descriptor imported meanwhile makes the digest older
        than the listing, so the next sync lists everything again, never the other way."""
        # blockhash, target_confirmations, include_watchonly, include_removed, include_change:
        # listtransactions is not enough (README): Core counts an output to an imported ranged
        # descriptor's address as change and leaves a payment between two watched descriptors
        # out; include_change (Core >= 25) lists those too
        calls: list[tuple[str, list]] = [("listdescriptors", []), ("listlockunspent", []),
                                         ("listsinceblock", [cursor, 1, True, False, True]), ("getwalletinfo", [])]
        if cursor is not None:
            calls.insert(0, ("getblockheader", [cursor]))
        answers = self._batch(calls)
        header = answers.pop(0) if cursor is not None else None
        for (method, _), answer in zip(calls[-4:], answers):
            if isinstance(answer, Exception) and not (method == "listsinceblock" and cursor is not None):
                raise answer
        described, locked, listed, info = answers
        if cursor is not None:
            if isinstance(header, RpcError) and header.code == RPC_INVALID_ADDRESS_OR_KEY:
                listed = None  # a block this node does not know (its data was replaced)
            elif isinstance(header, Exception):
                raise header
            elif int(header["confirmations"]) < 1:
                listed = None  # no longer in the active chain
            elif isinstance(listed, Exception):
                raise listed
        return (_descriptor_digest(described), frozenset((c["txid"], int(c["vout"])) for c in locked),
                listed, info)

    def _merge(self, listed: dict, full: bool) -> None:
        entries: dict[str, list[dict]] = {}
        for entry in listed["transactions"]:
            entries.setdefault(entry["txid"], []).append(entry)
        self._decode([t for t in entries if t not in self._decoded])
        fresh = {} if full else self._txs
        changed = False
        for txid, same_tx in entries.items():
            decoded = self._decoded.get(txid)
            if decoded is None:
                continue  # gone between the listing and the decoding (a reorganisation): next sync
            first = same_tx[0]
            confirmations = int(first["confirmations"])
            height = first.get("blockheight") if confirmations > 0 else None
            tx = WalletTx(txid, decoded, None if height is None else int(height), confirmations,
                          any(e.get("abandoned") for e in same_tx),
                          confirmations == 0 and bool(first.get("mempoolconflicts")))
            before = self._txs.get(txid)
            changed = changed or before is None or before.state() != tx.state()
            fresh[txid] = tx
        if full and not changed:
            changed = fresh.keys() != self._txs.keys()
        if changed:
            self.generation += 1
        self.full_listings += full
        self._txs = fresh
        self._cursor = listed["lastblock"]

    def _state_digest(self) -> str:
        if self._state is None or self._state[0] != self.generation:
            digest = hashlib.sha256()
            for txid in sorted(self._txs):
                digest.update(f"{txid}{self._txs[txid].state()}".encode())
            self._state = (self.generation, digest.hexdigest())
        return self._state[1]

    def _decode(self, txids: list[str]) -> None:
        # the raw bytes, parsed here: Core's own decoding (verbose) describes every output
        # (address, descriptor, asm) and costs several times the whole of this
        answers = self._batch([("gettransaction", [t, True, False]) for t in txids])
        for txid, answer in zip(txids, answers):
            if isinstance(answer, RpcError) and answer.code == RPC_INVALID_ADDRESS_OR_KEY:
                continue
            if isinstance(answer, Exception):
                raise answer
            tx = parse_tx(bytes.fromhex(answer["hex"]))
            if tx.txid_hex != txid:
                raise ValueError(f"the transaction given for {txid} is {tx.txid_hex}")
            self._decoded[txid] = Decoded(
                () if tx.is_coinbase else tuple((to_hex(i.prev_txid), i.prev_vout) for i in tx.inputs),
                tuple((o.amount_sat, o.script_pubkey) for o in tx.outputs),
                int(answer.get("timereceived") or answer.get("time") or 0),
            )


def _descriptor_digest(described: dict) -> str:
    """The wallet's descriptor set (what it is, how far it is derived, receive or change):
    a change means imports, whose rescans this memory has not seen."""
    rows = sorted((d["desc"], d.get("range"), bool(d.get("internal"))) for d in described["descriptors"])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()
