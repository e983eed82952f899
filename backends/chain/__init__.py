"""The chain a custody operator watches and spends on.

Owns the :class:`Chain` interface used by everything else (tip, watched descriptors, their
UTXOs and history, broadcast, transaction status, fee estimates, regtest mining) and its two
backends:

- :class:`EmbeddedChain` — the default for the demo and the tests: a regtest chain in the
  data directory whose blocks are validated by Bitcoin Core's consensus code through
  py-bitcoinkernel, with its own mempool, UTXO index and history (SQLite) and a block log
  that makes it durable across a hard kill;
- :class:`Bitcoind` — Bitcoin Core >= 26 over JSON-RPC with a watch-only descriptor wallet;
- :class:`ChainServer` / :class:`RemoteChain` — one process owns an embedded chain and
  serves the same interface to others over a UNIX socket (the headless demo rig does).

``open_chain`` builds either from configuration. Every expected failure is a
:class:`ChainError` (a ``CustodyError``).
"""

from .errors import (
    BlockRejected,
    ChainDataDirInUse,
    ChainError,
    ChainUnavailable,
    DescriptorError,
    KernelUnavailable,
    NotRegtest,
    SideBranchBlock,
    TransactionRejected,
    WalletUnavailable,
)
from .factory import open_chain
from .interface import DEFAULT_RANGE_END, Chain, HistoryEntry, Tip, TxState, TxStatus, Utxo


def __getattr__(name: str):
    # Backends load lazily: importing the interface must not need pbk or touch the network.
    if name == "EmbeddedChain":
        from .embedded import EmbeddedChain

        return EmbeddedChain
    if name == "Bitcoind":
        from .bitcoind import Bitcoind

        return Bitcoind
    if name in ("ChainServer", "RemoteChain"):
        from . import remote

        return getattr(remote, name)
    raise AttributeError(name)


__all__ = [
    "BlockRejected", "SideBranchBlock", "Bitcoind", "Chain", "ChainDataDirInUse", "ChainError", "ChainServer", "ChainUnavailable",
    "DEFAULT_RANGE_END", "DescriptorError", "EmbeddedChain", "HistoryEntry", "KernelUnavailable",
    "NotRegtest", "RemoteChain", "Tip", "TransactionRejected", "TxState", "TxStatus", "Utxo", "WalletUnavailable", "open_chain",
]
