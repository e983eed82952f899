"""Consensus serialization of transactions and block headers, and the hashes over them.

Hashes are kept as internal byte order (``bytes``) and shown reversed as hex
(``txid_hex``), as Bitcoin Core does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from backends.encoding import compact_size


class DecodeError(ValueError):
    """Bytes that are not a well-formed transaction or block."""


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def to_hex(hash_le: bytes) -> str:
    return hash_le[::-1].hex()


def from_hex(hash_hex: str) -> bytes:
    raw = bytes.fromhex(hash_hex)
    if len(raw) != 32:
        raise ValueError(f"not a 32-byte hash: {hash_hex!r}")
    return raw[::-1]


def var_bytes(data: bytes) -> bytes:
    return compact_size(len(data)) + data


@dataclass(slots=True)
class TxIn:
    prev_txid: bytes  # internal byte order
    prev_vout: int
    script_sig: bytes = b""
    sequence: int = 0xFFFFFFFF
    witness: list[bytes] = field(default_factory=list)

    @property
    def outpoint(self) -> tuple[bytes, int]:
        return (self.prev_txid, self.prev_vout)


@dataclass(slots=True)
class TxOut:
    amount_sat: int
    script_pubkey: bytes


@dataclass(slots=True)
class Tx:
    version: int
    inputs: list[TxIn]
    outputs: list[TxOut]
    locktime: int = 0

    @property
    def has_witness(self) -> bool:
        return any(i.witness for i in self.inputs)

    @property
    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].prev_txid == bytes(32) and self.inputs[0].prev_vout == 0xFFFFFFFF

    def serialize(self, *, with_witness: bool = True) -> bytes:
        witness = with_witness and self.has_witness
        parts = [self.version.to_bytes(4, "little", signed=True)]
        if witness:
            parts.append(b"\x00\x01")
        parts.append(compact_size(len(self.inputs)))
        for i in self.inputs:
            parts += [i.prev_txid, i.prev_vout.to_bytes(4, "little"), var_bytes(i.script_sig), i.sequence.to_bytes(4, "little")]
        parts.append(compact_size(len(self.outputs)))
        for o in self.outputs:
            parts += [o.amount_sat.to_bytes(8, "little", signed=True), var_bytes(o.script_pubkey)]
        if witness:
            for i in self.inputs:
                parts.append(compact_size(len(i.witness)))
                parts += [var_bytes(item) for item in i.witness]
        parts.append(self.locktime.to_bytes(4, "little"))
        return b"".join(parts)

    def txid(self) -> bytes:
        return sha256d(self.serialize(with_witness=False))

    def wtxid(self) -> bytes:
        return sha256d(self.serialize())

    @property
    def txid_hex(self) -> str:
        return to_hex(self.txid())

    def vsize(self) -> int:
        base = len(self.serialize(with_witness=False))
        total = len(self.serialize())
        return (base * 3 + total + 3) // 4


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DecodeError("truncated data")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "little")

    def compact(self) -> int:
        first = self.take(1)[0]
        if first < 0xFD:
            return first
        return int.from_bytes(self.take({0xFD: 2, 0xFE: 4, 0xFF: 8}[first]), "little")

    def var_bytes(self) -> bytes:
        return self.take(self.compact())


def _read_tx(r: _Reader) -> Tx:
    version = int.from_bytes(r.take(4), "little", signed=True)
    n_in = r.compact()
    segwit = False
    if n_in == 0:
        if r.take(1) != b"\x01":
            raise DecodeError("bad segwit flag")
        segwit = True
        n_in = r.compact()
    inputs = []
    for _ in range(n_in):
        prev = r.take(32)
        inputs.append(TxIn(prev, r.u32(), r.var_bytes(), r.u32()))
    outputs = [TxOut(int.from_bytes(r.take(8), "little", signed=True), r.var_bytes()) for _ in range(r.compact())]
    if segwit:
        for i in inputs:
            i.witness = [r.var_bytes() for _ in range(r.compact())]
        if not any(i.witness for i in inputs):
            raise DecodeError("superfluous witness record")
    return Tx(version, inputs, outputs, r.u32())


def parse_tx(raw: bytes) -> Tx:
    """Parse one transaction; trailing bytes are an error."""
    r = _Reader(raw)
    tx = _read_tx(r)
    if r.pos != len(raw):
        raise DecodeError("trailing bytes after transaction")
    if not tx.inputs or not tx.outputs:
        raise DecodeError("transaction without inputs or outputs")
    return tx


@dataclass(slots=True)
class BlockHeader:
    version: int
    prev_hash: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    def serialize(self) -> bytes:
        return (
            self.version.to_bytes(4, "little", signed=True) + self.prev_hash + self.merkle_root
            + self.time.to_bytes(4, "little") + self.bits.to_bytes(4, "little") + self.nonce.to_bytes(4, "little")
        )

    def hash(self) -> bytes:
        return sha256d(self.serialize())


def parse_block(raw: bytes) -> tuple[BlockHeader, list[Tx]]:
    r = _Reader(raw)
    h = r.take(80)
    header = BlockHeader(
        int.from_bytes(h[0:4], "little", signed=True), h[4:36], h[36:68],
        int.from_bytes(h[68:72], "little"), int.from_bytes(h[72:76], "little"), int.from_bytes(h[76:80], "little"),
    )
    txs = [_read_tx(r) for _ in range(r.compact())]
    if r.pos != len(raw):
        raise DecodeError("trailing bytes after block")
    return header, txs


def serialize_block(header: BlockHeader, txs: list[Tx]) -> bytes:
    return header.serialize() + compact_size(len(txs)) + b"".join(tx.serialize() for tx in txs)


def merkle_root(hashes: list[bytes]) -> bytes:
    level = list(hashes)
    if not level:
        return bytes(32)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
