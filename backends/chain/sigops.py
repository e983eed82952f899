"""Signature-operation cost, counted as Bitcoin Core's ``GetTransactionSigOpCost`` does.

A block may carry at most 80,000 sigop cost and Core's mempool refuses a transaction above
16,000, so the embedded chain counts them on admission and when it fills a block: otherwise
Core would refuse the whole block and every honest transaction in it would wait.

Legacy sigops (every scriptSig and scriptPubKey, counted without looking at the preceding
push) weigh 4; the redeem script of a P2SH input weighs 4 per accurate sigop; witness
programs weigh 1 (P2WPKH is one, P2WSH counts its witness script; taproot has no sigop
cost, its budget is per input and enforced by script validation).
"""

from __future__ import annotations

from collections.abc import Sequence

from .serialize import Tx

MAX_BLOCK_SIGOPS_COST = 80_000
MAX_STANDARD_TX_SIGOPS_COST = MAX_BLOCK_SIGOPS_COST // 5
WITNESS_SCALE_FACTOR = 4

OP_0, OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x00, 0x4C, 0x4D, 0x4E
OP_1, OP_16 = 0x51, 0x60
OP_HASH160, OP_EQUAL = 0xA9, 0x87
OP_CHECKSIG, OP_CHECKSIGVERIFY = 0xAC, 0xAD
OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY = 0xAE, 0xAF
MAX_PUBKEYS_PER_MULTISIG = 20


def _ops(script: bytes):
    """(opcode, pushed data) pairs; a truncated push ends the script with ``(None, b"")``,
    where Core's GetOp fails."""
    pos = 0
    while pos < len(script):
        op = script[pos]
        pos += 1
        size = None
        if op < OP_PUSHDATA1:
            size = op
        elif op in (OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4):
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if pos + width > len(script):
                yield None, b""
                return
            size = int.from_bytes(script[pos:pos + width], "little")
            pos += width
        if size is None:
            yield op, b""
            continue
        if pos + size > len(script):
            yield None, b""
            return
        yield op, script[pos:pos + size]
        pos += size


def count_sigops(script: bytes, *, accurate: bool) -> int:
    """Core's ``GetSigOpCount``: a multisig counts its key total when ``accurate`` and the
    count is pushed right before it, else the maximum of 20."""
    count = 0
    last_op = None
    for op, _ in _ops(script):
        if op is None:
            break
        if op in (OP_CHECKSIG, OP_CHECKSIGVERIFY):
            count += 1
        elif op in (OP_CHECKMULTISIG, OP_CHECKMULTISIGVERIFY):
            if accurate and last_op is not None and OP_1 <= last_op <= OP_16:
                count += last_op - OP_1 + 1
            else:
                count += MAX_PUBKEYS_PER_MULTISIG
        last_op = op
    return count


def _is_p2sh(script: bytes) -> bool:
    return len(script) == 23 and script[0] == OP_HASH160 and script[1] == 20 and script[22] == OP_EQUAL


def _witness_program(script: bytes) -> tuple[int, bytes] | None:
    if not 4 <= len(script) <= 42:
        return None
    version = script[0]
    if version != OP_0 and not OP_1 <= version <= OP_16:
        return None
    if script[1] + 2 != len(script):
        return None
    return (0 if version == OP_0 else version - OP_1 + 1), script[2:]


def _redeem_script(script_sig: bytes) -> bytes:
    """The last push of a push-only scriptSig; nothing for any other scriptSig."""
    data = b""
    for op, data in _ops(script_sig):
        if op is None or op > OP_16:
            return b""
    return data


def _witness_sigops(program: tuple[int, bytes] | None, witness: Sequence[bytes]) -> int:
    if program is None or program[0] != 0:
        return 0
    if len(program[1]) == 20:
        return 1
    if len(program[1]) == 32 and witness:
        return count_sigops(witness[-1], accurate=True)
    return 0


def transaction_sigop_cost(tx: Tx, spent_scripts: Sequence[bytes]) -> int:
    """Sigop cost of ``tx`` whose inputs spend ``spent_scripts`` (one scriptPubKey each)."""
    legacy = sum(count_sigops(i.script_sig, accurate=False) for i in tx.inputs)
    legacy += sum(count_sigops(o.script_pubkey, accurate=False) for o in tx.outputs)
    cost = legacy * WITNESS_SCALE_FACTOR
    if tx.is_coinbase:
        return cost
    for txin, spent in zip(tx.inputs, spent_scripts, strict=True):
        redeem = None
        if _is_p2sh(spent):
            redeem = _redeem_script(txin.script_sig)
            cost += count_sigops(redeem, accurate=True) * WITNESS_SCALE_FACTOR
        program = _witness_program(redeem if redeem is not None else spent)
        cost += _witness_sigops(program, txin.witness)
    return cost
