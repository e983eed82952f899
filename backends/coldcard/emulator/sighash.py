"""Signature hash types: which the device accepts, what it warns about, and the digests.

``review_sighash_types`` is the firmware's ``consider_dangerous_sighash``: only inputs
holding one of our keys are looked at; any of the six standard types is allowed, but a
type other than ALL is refused in a pure consolidation, NONE is refused outright (both
unless the ``sighshchk`` setting switches these checks off), and what is left warns.
``legacy_digest`` and ``segwit_v0_digest`` are the pre-segwit and BIP-143 hashes as
``psbt.make_txn_sighash`` / ``make_txn_segwit_sighash`` compute them, including their
refusal of SINGLE without a matching output.
"""

from __future__ import annotations

import hashlib
import struct

from embit.transaction import Transaction

from backends.encoding import compact_size

from .failures import SigningFailure, require

SIGHASH_ALL = 0x01
SIGHASH_NONE = 0x02
SIGHASH_SINGLE = 0x03
SIGHASH_ANYONECANPAY = 0x80
ALLOWED_SIGHASH_TYPES = frozenset({
    SIGHASH_ALL, SIGHASH_NONE, SIGHASH_SINGLE,
    SIGHASH_ALL | SIGHASH_ANYONECANPAY, SIGHASH_NONE | SIGHASH_ANYONECANPAY,
    SIGHASH_SINGLE | SIGHASH_ANYONECANPAY,
})  # fmt: skip

NONE_WARNING = ("Danger", "Destination address can be changed after signing (sighash NONE).")
UNUSUAL_WARNING = ("Caution", "Some inputs have unusual SIGHASH values not used in typical cases.")
# where the two SINGLE assertions are in v5.4.5's psbt.py (legacy, then BIP-143)
_SINGLE_MISSING_LEGACY = "psbt.py:2172"
_SINGLE_MISSING_SEGWIT = "psbt.py:2234"


def review_sighash_types(requested: list[int | None], *, consolidation: bool,
                         checks_disabled: bool) -> list[tuple[str, str]]:
    """The warnings for the sighash types of our inputs (None: the PSBT names none)."""
    unusual = none_type = False
    for sighash in requested:
        if sighash is None:
            continue
        if sighash not in ALLOWED_SIGHASH_TYPES:
            raise SigningFailure("Unsupported sighash flag 0x%x" % sighash)
        unusual = unusual or sighash != SIGHASH_ALL
        none_type = none_type or sighash & ~SIGHASH_ANYONECANPAY == SIGHASH_NONE
    if unusual and not checks_disabled:
        if consolidation:
            raise SigningFailure("Only sighash ALL is allowed for pure consolidation transactions.")
        if none_type:
            raise SigningFailure("Sighash NONE is not allowed as funds could be going anywhere.")
    if none_type:
        return [NONE_WARNING]
    return [UNUSUAL_WARNING] if unusual else []


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _outpoint(tx: Transaction, index: int) -> bytes:
    vin = tx.vin[index]
    return bytes(reversed(vin.txid)) + struct.pack("<I", vin.vout)


def legacy_digest(tx: Transaction, index: int, script_code: bytes, sighash: int) -> bytes:
    """The original signature hash: the transaction with only input ``index``'s script."""
    base = sighash & ~SIGHASH_ANYONECANPAY
    anyone_can_pay = bool(sighash & SIGHASH_ANYONECANPAY)
    parts = [struct.pack("<i", tx.version)]
    hashed = [index] if anyone_can_pay else range(len(tx.vin))
    parts.append(compact_size(len(hashed)))
    for i in hashed:
        own = i == index
        sequence = tx.vin[i].sequence if own or base == SIGHASH_ALL else 0
        script = script_code if own else b""
        parts.append(_outpoint(tx, i) + compact_size(len(script)) + script + struct.pack("<I", sequence))
    if base == SIGHASH_NONE:
        parts.append(compact_size(0))
    elif base == SIGHASH_SINGLE:
        require(index < len(tx.vout), "SINGLE corresponding output (%d) missing" % index, _SINGLE_MISSING_LEGACY)
        parts.append(compact_size(index + 1))
        parts.extend(b"\xff" * 8 + b"\x00" for _ in range(index))  # value -1, empty script
        parts.append(tx.vout[index].serialize())
    else:
        parts.append(compact_size(len(tx.vout)))
        parts.extend(out.serialize() for out in tx.vout)
    parts.append(struct.pack("<II", tx.locktime, sighash))
    return _sha256d(b"".join(parts))


def segwit_v0_digest(tx: Transaction, index: int, script_code: bytes, amount: int, sighash: int) -> bytes:
    """BIP-143; ``script_code`` carries its length prefix, as the BIP's serialisation has it."""
    base = sighash & ~SIGHASH_ANYONECANPAY
    anyone_can_pay = bool(sighash & SIGHASH_ANYONECANPAY)
    zero = bytes(32)
    hash_prevouts = hash_sequence = hash_outputs = zero
    if not anyone_can_pay:
        hash_prevouts = _sha256d(b"".join(_outpoint(tx, i) for i in range(len(tx.vin))))
        if base == SIGHASH_ALL:
            hash_sequence = _sha256d(b"".join(struct.pack("<I", vin.sequence) for vin in tx.vin))
    if base == SIGHASH_ALL:
        hash_outputs = _sha256d(b"".join(out.serialize() for out in tx.vout))
    elif base == SIGHASH_SINGLE:
        # consensus would hash zeros here; the firmware refuses to sign such an input
        require(index < len(tx.vout), "SINGLE corresponding output (%d) missing" % index, _SINGLE_MISSING_SEGWIT)
        hash_outputs = _sha256d(tx.vout[index].serialize())
    preimage = b"".join([
        struct.pack("<i", tx.version), hash_prevouts, hash_sequence, _outpoint(tx, index), script_code,
        struct.pack("<q", amount), struct.pack("<I", tx.vin[index].sequence), hash_outputs,
        struct.pack("<II", tx.locktime, sighash),
    ])  # fmt: skip
    return _sha256d(preimage)
