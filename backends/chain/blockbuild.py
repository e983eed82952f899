"""Building regtest blocks that Bitcoin Core accepts: coinbase, commitments, proof of work."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass

from .serialize import BlockHeader, Tx, TxIn, TxOut, merkle_root, serialize_block, sha256d

REGTEST_BITS = 0x207FFFFF
REGTEST_HALVING_INTERVAL = 150
COIN = 100_000_000
COINBASE_MATURITY = 100
BLOCK_VERSION = 0x20000000
WITNESS_COMMITMENT_HEADER = b"\xaa\x21\xa9\xed"
_WITNESS_RESERVED = bytes(32)


def target_from_bits(bits: int) -> int:
    exponent, mantissa = bits >> 24, bits & 0x007FFFFF
    return mantissa << (8 * (exponent - 3))


def block_subsidy(height: int) -> int:
    halvings = height // REGTEST_HALVING_INTERVAL
    return 0 if halvings >= 64 else (50 * COIN) >> halvings


def script_num(n: int) -> bytes:
    """CScriptNum encoding of a non-negative integer."""
    out = bytearray()
    while n:
        out.append(n & 0xFF)
        n >>= 8
    if out and out[-1] & 0x80:
        out.append(0)
    return bytes(out)


def push_height(height: int) -> bytes:
    """``CScript() << height`` as BIP-34 requires: OP_0, OP_1..OP_16, else a minimal push."""
    if height == 0:
        return b"\x00"
    if height <= 16:
        return bytes([0x50 + height])
    encoded = script_num(height)
    return bytes([len(encoded)]) + encoded


def coinbase_tx(height: int, value_sat: int, payout_script: bytes, witness_commitment: bytes | None, tag: bytes = b"custody") -> Tx:
    # The extra push keeps the scriptSig within 2..100 bytes for small heights.
    script_sig = push_height(height) + bytes([len(tag)]) + tag
    outputs = [TxOut(value_sat, payout_script)]
    if witness_commitment is not None:
        outputs.append(TxOut(0, b"\x6a\x24" + WITNESS_COMMITMENT_HEADER + witness_commitment))
    return Tx(
        version=2,
        inputs=[TxIn(bytes(32), 0xFFFFFFFF, script_sig, 0xFFFFFFFF, [_WITNESS_RESERVED])],
        outputs=outputs,
        locktime=0,
    )


def witness_commitment(txs: list[Tx]) -> bytes:
    # BIP-141: the coinbase's wtxid counts as zero.
    wtxids = [bytes(32)] + [tx.wtxid() for tx in txs]
    return sha256d(merkle_root(wtxids) + _WITNESS_RESERVED)


@dataclass(slots=True)
class BuiltBlock:
    raw: bytes
    hash: bytes
    header: BlockHeader
    txs: list[Tx]  # coinbase first

    @property
    def hash_hex(self) -> str:
        return self.hash[::-1].hex()


def grind(header: BlockHeader) -> BlockHeader:
    target = target_from_bits(header.bits)
    prefix = header.serialize()[:76]
    nonce = 0
    while int.from_bytes(sha256d(prefix + nonce.to_bytes(4, "little")), "little") > target:
        nonce += 1
    header.nonce = nonce
    return header


def build_block(
    *, prev_hash: bytes, height: int, median_time_past: int, payout_script: bytes,
    txs: list[Tx], fees_sat: int, now: int | None = None,
) -> BuiltBlock:
    """A block on top of ``prev_hash`` paying subsidy and ``fees_sat`` to ``payout_script``."""
    block_time = max(median_time_past + 1, int(_time.time()) if now is None else now)
    coinbase = coinbase_tx(height, block_subsidy(height) + fees_sat, payout_script, witness_commitment(txs))
    all_txs = [coinbase, *txs]
    header = BlockHeader(BLOCK_VERSION, prev_hash, merkle_root([tx.txid() for tx in all_txs]), block_time, REGTEST_BITS, 0)
    grind(header)
    return BuiltBlock(serialize_block(header, all_txs), header.hash(), header, all_txs)

