"""Typed failures of the chain layer; every one is a :class:`CustodyError`."""

from __future__ import annotations

from backends.errors import CustodyError


class ChainError(CustodyError):
    """A chain backend could not do what was asked."""


class ChainUnavailable(ChainError):
    """The node cannot be reached, or answered with something that is not JSON-RPC."""


class ChainDataDirInUse(ChainError):
    """Another process holds the embedded chain's data directory."""


class KernelUnavailable(ChainError):
    """py-bitcoinkernel cannot be imported on this platform."""


class NotRegtest(ChainError):
    """A regtest-only operation (mining) was asked of another network."""


class TransactionRejected(ChainError):
    """The node refused a transaction; ``reason`` is the node's own text."""

    def __init__(self, reason: str, *, txid: str | None = None) -> None:
        self.reason = reason
        self.txid = txid
        super().__init__(f"transaction rejected: {reason}")


class BlockRejected(ChainError):
    """Bitcoin Core's consensus code refused a block; ``reason`` comes from its log."""

    def __init__(self, reason: str, *, block_hash: str | None = None) -> None:
        self.reason = reason
        self.block_hash = block_hash
        super().__init__(f"block rejected: {reason}")


class SideBranchBlock(BlockRejected):
    """Core stored the block, found nothing wrong, but did not connect it: its branch has no
    more work than the tip. A later block on the same branch may still make it active."""


class DescriptorError(ChainError):
    """A descriptor could not be parsed or derived."""


class WalletUnavailable(ChainError):
    """The node's watch-only wallet is missing, not loaded or unusable."""
