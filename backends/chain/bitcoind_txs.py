"""What the ``bitcoind`` backend remembers of its wallet's transactions, so that ``history()``
on a wallet of 10,000 transactions does not decode every one of them on every call.

A transaction's inputs and outputs never change once its txid is known (the txid commits to
them), so each one is read once (``gettransaction``, its raw bytes parsed here) and kept for the connection. What does
change (confirmations, the block it is in, conflicted or abandoned) is read incrementally:
``listsinceblock`` from the last block seen lists every transaction whose state can have
changed since (unconfirmed ones, those in newer blocks, those conflicted by them, and after a
reorganisation everything above the fork), in one consistent view under the wallet's lock. A
transaction not listed again keeps its block, its confirmations counted from the wallet's tip.

When the wallet holds transactions this memory has not seen (a rescan after this or another
process imported a descriptor puts old transactions below the cursor), everything is listed
again; decoded transactions are kept across that.
"""

from __future__ import annotations

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

    def confirmations_at(self, tip_height: int) -> int:
        return tip_height - self.height + 1 if self.height is not None else self.confirmations


class WalletTxs:
    """The wallet's transactions, kept in step with the node by :meth:`sync`. Not
    thread-safe: the backend calls it under its lock."""

    def __init__(self, wallet_call: Callable[..., Any], wallet_batch: Callable[[list], list]) -> None:
        self._call = wallet_call  # (method, *params) -> answer, on the wallet's URL
        self._batch = wallet_batch  # [(method, params)] -> [answer or exception]
        self._decoded: dict[str, Decoded] = {}
        self._txs: dict[str, WalletTx] = {}
        self._cursor: str | None = None  # the block the last listing reached

    def forget_cursor(self) -> None:
        """List everything on the next sync (after an import rescanned old blocks)."""
        self._cursor = None

    def sync(self) -> tuple[dict[str, WalletTx], int]:
        """Every wallet transaction, and the height of the wallet's tip they are counted at."""
        full = self._cursor is None
        listed = self._list(self._cursor)
        if listed is None:  # the cursor's block is unknown to the node (its data was replaced)
            full, listed = True, self._list(None)
        self._merge(listed, full)
        tip_height = int(self._call("getblockheader", listed["lastblock"])["height"])
        if not full and len(self._txs) < int(self._call("getwalletinfo")["txcount"]):
            # transactions below the cursor appeared: a rescan (another process imported)
            self._merge(self._list(None), True)
            tip_height = int(self._call("getblockheader", self._cursor)["height"])
        return self._txs, tip_height

    def _list(self, cursor: str | None) -> dict | None:
        # blockhash, target_confirmations, include_watchonly, include_removed, include_change:
        # listtransactions is not enough (README): Core counts an output to an imported ranged
        # descriptor's address as change and leaves a payment between two watched descriptors
        # out; include_change (Core >= 25) lists those too
        try:
            return self._call("listsinceblock", cursor, 1, True, False, True)
        except RpcError as exc:
            if cursor is not None and exc.code == RPC_INVALID_ADDRESS_OR_KEY:
                return None
            raise

    def _merge(self, listed: dict, full: bool) -> None:
        entries: dict[str, list[dict]] = {}
        for entry in listed["transactions"]:
            entries.setdefault(entry["txid"], []).append(entry)
        self._decode([t for t in entries if t not in self._decoded])
        fresh = {} if full else self._txs
        for txid, same_tx in entries.items():
            decoded = self._decoded.get(txid)
            if decoded is None:
                continue  # gone between the listing and the decoding (a reorganisation): next sync
            first = same_tx[0]
            confirmations = int(first["confirmations"])
            height = first.get("blockheight") if confirmations > 0 else None
            fresh[txid] = WalletTx(txid, decoded, None if height is None else int(height), confirmations,
                                   any(e.get("abandoned") for e in same_tx))
        self._txs = fresh
        self._cursor = listed["lastblock"]

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
