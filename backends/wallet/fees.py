"""Transaction weight, virtual size, fee and dust: honest worst-case figures per script type.

Weights follow BIP-141: non-witness bytes count 4, witness bytes 1; vsize = ceil(weight / 4).
Signature sizes are the DER maximum with low S (71 bytes + 1 sighash byte); Schnorr
key-path signatures are 64 bytes (SIGHASH_DEFAULT).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .addresses import script_type

ECDSA_SIG_MAX = 72  # DER with low S, plus the sighash byte
SCHNORR_SIG = 64  # SIGHASH_DEFAULT: no sighash byte
COMPRESSED_PUBKEY = 33
TXIN_BASE = 32 + 4 + 1 + 4  # outpoint, empty scriptSig length, nSequence
TX_BASE = 4 + 4  # nVersion, nLockTime
SEGWIT_MARKER_WEIGHT = 2  # marker and flag bytes, witness-discounted
DUST_RELAY_FEE = 3  # sat/vB, Bitcoin Core's -dustrelayfee default


def compact_size_len(n: int) -> int:
    """Bytes of a CompactSize encoding of ``n``."""
    return 1 if n < 0xFD else 3 if n <= 0xFFFF else 5 if n <= 0xFFFFFFFF else 9


def _push_len(n: int) -> int:
    """Bytes of a witness stack item of ``n`` bytes (its length prefix included)."""
    return compact_size_len(n) + n


@dataclass(frozen=True)
class ScriptKind:
    """What spending from and paying to one script type costs."""

    name: str
    input_weight: int  # weight units of one input spending it, witness included
    output_size: int  # bytes of one txout paying to it (value, script length, script)
    witness_output: bool = True  # its scriptPubKey is a witness program (Core's dust rule asks)

    @property
    def input_vbytes(self) -> float:
        return self.input_weight / 4

    @property
    def output_weight(self) -> int:
        return self.output_size * 4

    @property
    def dust_threshold(self) -> int:
        return dust_threshold_for_size(self.output_size, witness=self.witness_output)


def wsh_multisig(threshold: int, keys: int, *, nested: bool = False) -> ScriptKind:
    """A P2WSH k-of-n CHECKMULTISIG input: witness ``[] sig_1..sig_k script``; with
    ``nested``, the same inside P2SH (``sh(wsh(...))``)."""
    script_len = 3 + keys * (1 + COMPRESSED_PUBKEY)
    witness = (
        compact_size_len(threshold + 2)
        + _push_len(0)
        + threshold * _push_len(ECDSA_SIG_MAX)
        + _push_len(script_len)
    )
    kind = ScriptKind(f"wsh {threshold}-of-{keys}", TXIN_BASE * 4 + witness, 8 + 1 + 34)
    return p2sh_nested(kind, 34) if nested else kind  # scriptSig: <OP_0 <32-byte script hash>>


WPKH = ScriptKind(
    "wpkh",
    TXIN_BASE * 4 + compact_size_len(2) + _push_len(ECDSA_SIG_MAX) + _push_len(COMPRESSED_PUBKEY),
    8 + 1 + 22,
)
TR_KEYPATH = ScriptKind(
    "tr key path", TXIN_BASE * 4 + compact_size_len(1) + _push_len(SCHNORR_SIG), 8 + 1 + 34
)


P2SH_OUTPUT_SIZE = 8 + 1 + 23  # OP_HASH160 <20 bytes> OP_EQUAL


def p2sh_nested(kind: ScriptKind, program_len: int) -> ScriptKind:
    """``kind`` wrapped in P2SH (BIP-141 nested segwit): the scriptSig pushes the witness
    program of ``program_len`` bytes (22 for wpkh, 34 for wsh), counted at full weight; the
    witness is unchanged. Its output is a P2SH script, which Core's dust rule treats as
    non-witness."""
    script_sig = _push_len(program_len)  # the empty scriptSig's length byte is in TXIN_BASE
    return ScriptKind(f"sh-{kind.name}", kind.input_weight + 4 * script_sig, P2SH_OUTPUT_SIZE,
                      witness_output=False)


SH_WPKH = p2sh_nested(WPKH, 22)  # scriptSig: <OP_0 <20-byte key hash>>


def output_size(script_pubkey: bytes) -> int:
    """Bytes of a txout paying to ``script_pubkey``."""
    return 8 + compact_size_len(len(script_pubkey)) + len(script_pubkey)


def dust_threshold_for_size(txout_size: int, *, witness: bool) -> int:
    """Bitcoin Core's GetDustThreshold at the default dust relay fee (3 sat/vB)."""
    spend_size = 32 + 4 + 1 + (107 // 4 if witness else 107) + 4
    return (txout_size + spend_size) * DUST_RELAY_FEE


def dust_threshold(script_pubkey: bytes) -> int:
    """The smallest amount an output to ``script_pubkey`` may carry and still relay."""
    kind = script_type(script_pubkey)
    if kind == "nonstandard" and script_pubkey[:1] == b"\x6a":
        return 0  # OP_RETURN outputs are never dust
    witness = kind in ("p2wpkh", "p2wsh", "p2tr", "witness_unknown")
    return dust_threshold_for_size(output_size(script_pubkey), witness=witness)


def tx_weight(input_weights: list[int] | tuple[int, ...], output_sizes: list[int] | tuple[int, ...]) -> int:
    """Weight of a segwit transaction with these inputs (weights) and outputs (byte sizes)."""
    base = TX_BASE + compact_size_len(len(input_weights)) + compact_size_len(len(output_sizes))
    return base * 4 + SEGWIT_MARKER_WEIGHT + sum(input_weights) + 4 * sum(output_sizes)


def vsize(weight: int) -> int:
    """Virtual size in vbytes (BIP-141)."""
    return (weight + 3) // 4


def fee_for(weight: int, fee_rate: float) -> int:
    """Fee in sat for a transaction of ``weight`` at ``fee_rate`` sat/vB, rounded up."""
    return math.ceil(vsize(weight) * fee_rate - 1e-9)


def estimate_vsize(kind: ScriptKind, n_inputs: int, output_sizes: list[int] | tuple[int, ...]) -> int:
    """Virtual size of spending ``n_inputs`` coins of ``kind`` to outputs of these sizes."""
    return vsize(tx_weight([kind.input_weight] * n_inputs, output_sizes))
