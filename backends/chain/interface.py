"""The ``Chain`` interface every backend implements, and the records it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

#: the last derivation index (inclusive, as in Core's importdescriptors "range") watched per branch
DEFAULT_RANGE_END = 999
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def require_txid(txid: str) -> str:
    """``txid`` if it is 64 hex digits, else a ChainError an operator can act on."""
    from .errors import ChainError

    if not isinstance(txid, str) or len(txid) != 64 or not _HEX_DIGITS.issuperset(txid):
        shown = txid if isinstance(txid, str) and len(txid) <= 80 else f"{str(txid)[:77]}..."
        raise ChainError(f"{shown!r} is not a txid", hint="a txid is 64 hex digits")
    return txid.lower()

TxState = Literal["confirmed", "mempool", "unknown", "conflicted"]


@dataclass(frozen=True, slots=True)
class Tip:
    height: int
    hash_hex: str
    time: int  # block header time, unix seconds


@dataclass(frozen=True, slots=True)
class Utxo:
    txid: str
    vout: int
    amount_sat: int
    script_pubkey: bytes
    confirmations: int  # 0 while in the mempool
    height: int | None  # None while in the mempool
    descriptor: str  # the watched descriptor (as given to ``watch``, checksum stripped)
    branch: int | None  # 0 receive / 1 change for a ``<0;1>`` descriptor, else None
    index: int | None  # derivation index for a ranged descriptor, else None
    coinbase: bool

    @property
    def outpoint(self) -> str:
        return f"{self.txid}:{self.vout}"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One transaction touching watched scripts.

    ``received_sat`` is the value of its outputs paying watched scripts (change included);
    ``sent_sat`` the value of the watched coins it spends. The net effect on the watched
    set is ``received_sat - sent_sat``; ``outflow_sat`` is what left the watched set.
    ``fee_sat`` is known when every input is a watched coin.
    """

    txid: str
    time: int  # first seen (mempool admission), else block time
    height: int | None
    confirmations: int
    received_sat: int
    sent_sat: int
    fee_sat: int | None

    @property
    def net_sat(self) -> int:
        return self.received_sat - self.sent_sat

    @property
    def outflow_sat(self) -> int:
        return max(0, self.sent_sat - self.received_sat)


@dataclass(frozen=True, slots=True)
class TxStatus:
    state: TxState
    confirmations: int = 0


@runtime_checkable
class Chain(Protocol):
    """What the rest of custody-tui may ask of a bitcoin chain.

    Every method may raise :class:`backends.chain.errors.ChainError` subclasses; amounts
    are satoshis, txids and hashes are display-order hex.
    """

    backend_name: str  # "embedded" or "bitcoind"
    network: str  # "regtest", "signet", "testnet", "testnet4" or "main"

    def tip(self) -> Tip: ...

    def watch(self, descriptor: str, *, range_end: int = DEFAULT_RANGE_END, label: str = "") -> None: ...

    def watched(self) -> list[str]: ...

    def utxos(self, descriptor: str | None = None) -> list[Utxo]: ...

    def history(self, descriptor: str | None = None) -> list[HistoryEntry]: ...

    def broadcast(self, raw_tx: bytes) -> str: ...

    def tx_status(self, txid: str) -> TxStatus: ...

    def estimate_fee_rate(self, target_blocks: int) -> float: ...

    def mine(self, n: int, address_or_script: str | bytes) -> list[str]: ...

    def close(self) -> None: ...
