"""PSBTs as exchanged between coordinator and signers: BIP-174 version 0, strictly read.

``parse_psbt`` walks every key-value pair before embit builds its objects, so malformed input
becomes a ``PsbtFormatError`` naming the map, the field (by its BIP-174 name) and the check,
never an embit traceback. The embit classes are subclassed to fix three defects found in
0.8: scopes shared a mutable default ``unknown`` dict, nSequence 0 was rewritten to
0xffffffff, and a global transaction with no inputs did not parse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from embit import ec
from embit.psbt import PSBT, CompressMode, InputScope, OutputScope
from embit.script import Script, Witness
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from .errors import PsbtFormatError, PsbtIncomplete, PsbtVersionError

MAGIC = b"psbt\xff"
PSBT_IN_TAP_KEY_SIG = b"\x13"

# --- embit object model, with its defects fixed ---------------------------------------------


class UnsignedTransaction(Transaction):
    """The global unsigned transaction: always read in non-witness serialization (BIP-174)."""

    @classmethod
    def read_from(cls, stream, *args, **kwargs):
        reader = _Reader(stream.read(), "PSBT_GLOBAL_UNSIGNED_TX")
        tx = _read_legacy_tx(reader)
        if not reader.at_end():
            raise PsbtFormatError("PSBT_GLOBAL_UNSIGNED_TX has bytes after the transaction")
        return tx


class PsbtInput(InputScope):
    """An input map; adds PSBT_IN_TAP_KEY_SIG, which embit 0.8 keeps as an unknown field."""

    def __init__(self, unknown=None, vin=None, compress=CompressMode.KEEP_ALL):
        super().__init__({} if unknown is None else unknown, vin=vin, compress=compress)

    @property
    def vin(self) -> TransactionInput:
        sequence = 0xFFFFFFFF if self.sequence is None else self.sequence
        return TransactionInput(self.txid, self.vout, sequence=sequence)

    @property
    def taproot_key_sig(self) -> bytes | None:
        return self.unknown.get(PSBT_IN_TAP_KEY_SIG)

    @taproot_key_sig.setter
    def taproot_key_sig(self, sig: bytes | None) -> None:
        if sig is None:
            self.unknown.pop(PSBT_IN_TAP_KEY_SIG, None)
        else:
            self.unknown[PSBT_IN_TAP_KEY_SIG] = bytes(sig)


class PsbtOutput(OutputScope):
    def __init__(self, unknown=None, vout=None, compress=CompressMode.KEEP_ALL):
        super().__init__({} if unknown is None else unknown, vout=vout, compress=compress)


class Psbt(PSBT):
    """A version-0 PSBT (embit's ``PSBT`` with fixed scopes)."""

    PSBTIN_CLS = PsbtInput
    PSBTOUT_CLS = PsbtOutput
    TX_CLS = UnsignedTransaction

    def __init__(self, tx=None, unknown=None, version=None):
        super().__init__(tx, {} if unknown is None else unknown, version=version)

    @property
    def tx(self) -> Transaction:
        return Transaction(
            version=2 if self.tx_version is None else self.tx_version,
            locktime=self.locktime or 0,
            vin=[inp.vin for inp in self.inputs],
            vout=[out.vout for out in self.outputs],
        )

    @property
    def txid(self) -> str:
        """Id of the transaction this PSBT will become (display byte order)."""
        return self.tx.txid().hex()

    def fee(self) -> int:
        """Inputs minus outputs, in sat; PsbtIncomplete if an input's amount is unknown."""
        total_in = 0
        for i, inp in enumerate(self.inputs):
            utxo = inp.witness_utxo
            prev = inp.non_witness_utxo
            if utxo is None and prev is not None and inp.vout < len(prev.vout):
                utxo = prev.vout[inp.vout]
            if utxo is None:
                raise PsbtIncomplete(f"input {i} has no UTXO data, so the fee is unknown")
            total_in += utxo.value
        return total_in - sum(out.value for out in self.outputs)

    def to_bytes(self) -> bytes:
        return self.serialize()

    def to_base64(self) -> str:
        return base64.b64encode(self.serialize()).decode()


# --- reading and writing --------------------------------------------------------------------


def parse_psbt(data: bytes | str) -> Psbt:
    """Read a version-0 PSBT from binary, base64 (or hex) text; PsbtFormatError if malformed."""
    raw = _decode_container(data)
    validate_psbt_bytes(raw)
    try:
        psbt = Psbt.parse(raw)
    except PsbtFormatError:
        raise
    except Exception as exc:  # embit raises bare Exceptions, ValueErrors and its own errors
        raise PsbtFormatError(f"PSBT could not be read: {exc}") from None
    psbt.version = None  # always written back as version 0
    return psbt


def serialize_psbt(psbt: Psbt, encoding: str = "base64") -> bytes | str:
    """The PSBT as ``binary`` bytes, ``base64`` text or ``hex`` text."""
    if psbt.version not in (None, 0):
        raise PsbtVersionError("only version-0 PSBTs are written (BIP-174)")
    raw = psbt.serialize()
    if encoding == "binary":
        return raw
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    if encoding == "hex":
        return raw.hex()
    raise ValueError(f"unknown PSBT encoding {encoding!r}")


def _decode_container(data: bytes | str) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        if data.startswith(MAGIC):
            return data
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise PsbtFormatError("file is not a PSBT: it does not start with 'psbt\\xff'") from None
    text = "".join(data.split())
    if not text:
        raise PsbtFormatError("PSBT is empty")
    if text.startswith("70736274ff"):
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise PsbtFormatError("PSBT hex text has non-hex characters") from None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PsbtFormatError("PSBT text is neither base64 nor hex") from None
    if not raw.startswith(MAGIC):
        raise PsbtFormatError("data is not a PSBT: it does not start with the magic 'psbt\\xff'")
    return raw


# --- the strict walk over key-value maps (BIP-174, Specification) ----------------------------


class _Reader:
    def __init__(self, data: bytes, where: str) -> None:
        self.data, self.pos, self.where = data, 0, where

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise PsbtFormatError(f"{self.where}: data ends inside {what}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def compact(self, what: str) -> int:
        first = self.take(1, what)[0]
        if first < 0xFD:
            return first
        size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        return int.from_bytes(self.take(size, what), "little")

    def string(self, what: str) -> bytes:
        return self.take(self.compact(what + " length"), what)

    def at_end(self) -> bool:
        return self.pos == len(self.data)


def _read_legacy_tx(r: _Reader) -> Transaction:
    version = int.from_bytes(r.take(4, "nVersion"), "little")
    vin = []
    for _ in range(r.compact("input count")):
        txid = bytes(reversed(r.take(32, "prevout txid")))
        vout = int.from_bytes(r.take(4, "prevout index"), "little")
        script_sig = r.string("scriptSig")
        sequence = int.from_bytes(r.take(4, "nSequence"), "little")
        vin.append(TransactionInput(txid, vout, Script(script_sig), sequence))
    vout = []
    for _ in range(r.compact("output count")):
        value = int.from_bytes(r.take(8, "output amount"), "little")
        vout.append(TransactionOutput(value, Script(r.string("scriptPubKey"))))
    locktime = int.from_bytes(r.take(4, "nLockTime"), "little")
    return UnsignedTransaction(version, vin, vout, locktime)


def _read_map(r: _Reader, where: str) -> list[tuple[int, bytes, bytes, bytes]]:
    """(type, keydata, full key, value) pairs of one map, refusing duplicate keys."""
    pairs, seen = [], set()
    while True:
        key = r.string(f"a key of the {where}")
        if not key:
            return pairs
        value = r.string(f"a value of the {where}")
        if key in seen:
            raise PsbtFormatError(f"{where} has the key {key.hex()} twice (BIP-174 forbids duplicates)")
        seen.add(key)
        kr = _Reader(key, where)
        key_type = kr.compact("key type")
        pairs.append((key_type, key[kr.pos :], key, value))


def _fail(where: str, name: str, problem: str) -> PsbtFormatError:
    return PsbtFormatError(f"{where}: {name} {problem}")


def _no_keydata(where: str, name: str, keydata: bytes) -> None:
    if keydata:
        raise _fail(where, name, "key must be the type byte alone")


def _check_pubkey(where: str, name: str, keydata: bytes) -> None:
    if len(keydata) not in (33, 65):
        raise _fail(where, name, f"key holds a {len(keydata)}-byte public key (must be 33 or 65)")
    try:
        ec.PublicKey.parse(keydata)
    except Exception:
        raise _fail(where, name, "key holds a public key that is not on the curve") from None


def _check_derivation(where: str, name: str, value: bytes) -> None:
    if len(value) < 4 or len(value) % 4:
        raise _fail(where, name, "value must be a 4-byte fingerprint and 4-byte path elements")


def _check_tap_derivation(where: str, name: str, value: bytes) -> None:
    r = _Reader(value, f"{where}: {name}")
    n = r.compact("leaf hash count")
    r.take(32 * n, "leaf hashes")
    _check_derivation(where, name, value[r.pos :])


def _check_exact(where: str, name: str, parse, value: bytes) -> None:
    try:
        parse(value)
    except PsbtFormatError:
        raise
    except Exception:
        raise _fail(where, name, "value does not parse") from None


def _check_witness_utxo(value: bytes) -> None:
    r = _Reader(value, "")
    r.take(8, "amount")
    r.string("scriptPubKey")
    if not r.at_end():
        raise ValueError("extra bytes")


def _check_tap_tree(value: bytes) -> None:
    r = _Reader(value, "")
    if r.at_end():
        raise ValueError("empty tree")
    while not r.at_end():
        if r.take(1, "depth")[0] > 128:
            raise ValueError("too deep")
        r.take(1, "leaf version")
        r.string("script")


_PREIMAGE_FIELDS = {
    0x09: ("PSBT_IN_RIPEMD160", lambda b: hashlib.new("ripemd160", b).digest()),
    0x0A: ("PSBT_IN_SHA256", lambda b: hashlib.sha256(b).digest()),
    0x0B: ("PSBT_IN_HASH160", lambda b: hashlib.new("ripemd160", hashlib.sha256(b).digest()).digest()),
    0x0C: ("PSBT_IN_HASH256", lambda b: hashlib.sha256(hashlib.sha256(b).digest()).digest()),
}
_V2_INPUT_FIELDS = {
    0x0E: "PSBT_IN_PREVIOUS_TXID",
    0x0F: "PSBT_IN_OUTPUT_INDEX",
    0x10: "PSBT_IN_SEQUENCE",
    0x11: "PSBT_IN_REQUIRED_TIME_LOCKTIME",
    0x12: "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME",
}
_V2_GLOBAL_FIELDS = {
    0x02: "PSBT_GLOBAL_TX_VERSION",
    0x03: "PSBT_GLOBAL_FALLBACK_LOCKTIME",
    0x04: "PSBT_GLOBAL_INPUT_COUNT",
    0x05: "PSBT_GLOBAL_OUTPUT_COUNT",
    0x06: "PSBT_GLOBAL_TX_MODIFIABLE",
}


def _check_global(pairs) -> Transaction:
    where = "global map"
    tx = None
    for key_type, keydata, _, value in pairs:
        if key_type == 0xFB:
            _no_keydata(where, "PSBT_GLOBAL_VERSION", keydata)
            if len(value) != 4:
                raise _fail(where, "PSBT_GLOBAL_VERSION", "value must be 4 bytes")
            version = int.from_bytes(value, "little")
            if version != 0:
                raise PsbtVersionError(
                    f"this is a version-{version} PSBT; PSBTs are exchanged as version 0",
                    hint="export it again as a version-0 (BIP-174) PSBT",
                )
    for key_type, keydata, _, value in pairs:
        if key_type == 0x00:
            _no_keydata(where, "PSBT_GLOBAL_UNSIGNED_TX", keydata)
            r = _Reader(value, "PSBT_GLOBAL_UNSIGNED_TX")
            tx = _read_legacy_tx(r)
            if not r.at_end():
                raise _fail(
                    where,
                    "PSBT_GLOBAL_UNSIGNED_TX",
                    "has bytes after the transaction (witness serialization is not allowed)",
                )
            for i, txin in enumerate(tx.vin):
                if txin.script_sig.data:
                    raise _fail(where, "PSBT_GLOBAL_UNSIGNED_TX", f"input {i} has a non-empty scriptSig")
        elif key_type == 0x01:
            if len(keydata) != 78:
                raise _fail(where, "PSBT_GLOBAL_XPUB", "key must hold a 78-byte extended key")
            _check_derivation(where, "PSBT_GLOBAL_XPUB", value)
        elif key_type in _V2_GLOBAL_FIELDS:
            raise _fail(where, _V2_GLOBAL_FIELDS[key_type], "is a version-2 field, not allowed in version 0")
    if tx is None:
        raise PsbtFormatError("PSBT has no PSBT_GLOBAL_UNSIGNED_TX (is it a version-2 PSBT?)")
    return tx


def _check_input(i: int, pairs) -> None:
    where = f"input {i}"
    for key_type, keydata, _, value in pairs:
        if key_type == 0x00:
            _no_keydata(where, "PSBT_IN_NON_WITNESS_UTXO", keydata)
            _check_exact(where, "PSBT_IN_NON_WITNESS_UTXO", Transaction.parse, value)
        elif key_type == 0x01:
            _no_keydata(where, "PSBT_IN_WITNESS_UTXO", keydata)
            _check_exact(where, "PSBT_IN_WITNESS_UTXO", _check_witness_utxo, value)
        elif key_type == 0x02:
            _check_pubkey(where, "PSBT_IN_PARTIAL_SIG", keydata)
            if not 9 <= len(value) <= 73:
                raise _fail(where, "PSBT_IN_PARTIAL_SIG", "value is not a DER signature with sighash byte")
        elif key_type == 0x03:
            _no_keydata(where, "PSBT_IN_SIGHASH_TYPE", keydata)
            if len(value) != 4:
                raise _fail(where, "PSBT_IN_SIGHASH_TYPE", "value must be 4 bytes")
        elif key_type in (0x04, 0x05, 0x07):
            name = {4: "PSBT_IN_REDEEM_SCRIPT", 5: "PSBT_IN_WITNESS_SCRIPT", 7: "PSBT_IN_FINAL_SCRIPTSIG"}
            _no_keydata(where, name[key_type], keydata)
        elif key_type == 0x06:
            _check_pubkey(where, "PSBT_IN_BIP32_DERIVATION", keydata)
            _check_derivation(where, "PSBT_IN_BIP32_DERIVATION", value)
        elif key_type == 0x08:
            _no_keydata(where, "PSBT_IN_FINAL_SCRIPTWITNESS", keydata)
            _check_exact(where, "PSBT_IN_FINAL_SCRIPTWITNESS", Witness.parse, value)
        elif key_type in _PREIMAGE_FIELDS:
            name, digest = _PREIMAGE_FIELDS[key_type]
            if len(keydata) != len(digest(b"")):
                raise _fail(where, name, "key holds a hash of the wrong length")
            if digest(value) != keydata:
                raise _fail(where, name, "value is not the preimage of the hash in its key")
        elif key_type in _V2_INPUT_FIELDS:
            raise _fail(where, _V2_INPUT_FIELDS[key_type], "is a version-2 field, not allowed in version 0")
        elif key_type == 0x13:
            _no_keydata(where, "PSBT_IN_TAP_KEY_SIG", keydata)
            if len(value) not in (64, 65):
                raise _fail(where, "PSBT_IN_TAP_KEY_SIG", "value must be a 64- or 65-byte signature")
        elif key_type == 0x14:
            if len(keydata) != 64:
                raise _fail(where, "PSBT_IN_TAP_SCRIPT_SIG", "key must be an x-only key and a leaf hash")
            if len(value) not in (64, 65):
                raise _fail(where, "PSBT_IN_TAP_SCRIPT_SIG", "value must be a 64- or 65-byte signature")
        elif key_type == 0x15:
            if len(keydata) < 33 or (len(keydata) - 33) % 32 or len(keydata) > 33 + 32 * 128:
                raise _fail(where, "PSBT_IN_TAP_LEAF_SCRIPT", "key is not a control block")
            if not value:
                raise _fail(where, "PSBT_IN_TAP_LEAF_SCRIPT", "value lacks the leaf version")
        elif key_type == 0x16:
            if len(keydata) != 32:
                raise _fail(where, "PSBT_IN_TAP_BIP32_DERIVATION", "key must be a 32-byte x-only key")
            _check_tap_derivation(where, "PSBT_IN_TAP_BIP32_DERIVATION", value)
        elif key_type in (0x17, 0x18):
            name = "PSBT_IN_TAP_INTERNAL_KEY" if key_type == 0x17 else "PSBT_IN_TAP_MERKLE_ROOT"
            _no_keydata(where, name, keydata)
            if len(value) != 32:
                raise _fail(where, name, "value must be 32 bytes")


def _check_output(i: int, pairs) -> None:
    where = f"output {i}"
    for key_type, keydata, _, value in pairs:
        if key_type in (0x00, 0x01):
            _no_keydata(where, ("PSBT_OUT_REDEEM_SCRIPT", "PSBT_OUT_WITNESS_SCRIPT")[key_type], keydata)
        elif key_type == 0x02:
            _check_pubkey(where, "PSBT_OUT_BIP32_DERIVATION", keydata)
            _check_derivation(where, "PSBT_OUT_BIP32_DERIVATION", value)
        elif key_type in (0x03, 0x04):
            name = ("PSBT_OUT_AMOUNT", "PSBT_OUT_SCRIPT")[key_type - 3]
            raise _fail(where, name, "is a version-2 field, not allowed in version 0")
        elif key_type == 0x05:
            _no_keydata(where, "PSBT_OUT_TAP_INTERNAL_KEY", keydata)
            if len(value) != 32:
                raise _fail(where, "PSBT_OUT_TAP_INTERNAL_KEY", "value must be 32 bytes")
        elif key_type == 0x06:
            _no_keydata(where, "PSBT_OUT_TAP_TREE", keydata)
            _check_exact(where, "PSBT_OUT_TAP_TREE", _check_tap_tree, value)
        elif key_type == 0x07:
            if len(keydata) != 32:
                raise _fail(where, "PSBT_OUT_TAP_BIP32_DERIVATION", "key must be a 32-byte x-only key")
            _check_tap_derivation(where, "PSBT_OUT_TAP_BIP32_DERIVATION", value)


def validate_psbt_bytes(raw: bytes) -> None:
    """Check the BIP-174 v0 structure of ``raw``; PsbtFormatError naming the first problem."""
    r = _Reader(raw, "PSBT")
    if r.take(len(MAGIC), "the magic bytes") != MAGIC:
        raise PsbtFormatError("data is not a PSBT: it does not start with the magic 'psbt\\xff'")
    tx = _check_global(_read_map(r, "global map"))
    for i in range(len(tx.vin)):
        if r.at_end():
            raise PsbtFormatError(f"PSBT ends before input map {i} of {len(tx.vin)}")
        _check_input(i, _read_map(r, f"input {i}"))
    for i in range(len(tx.vout)):
        if r.at_end():
            raise PsbtFormatError(f"PSBT ends before output map {i} of {len(tx.vout)}")
        _check_output(i, _read_map(r, f"output {i}"))
    if not r.at_end():
        raise PsbtFormatError(
            f"PSBT has {len(raw) - r.pos} bytes after its last output map (more maps than the "
            "transaction has inputs and outputs?)"
        )


__all__ = [
    "Psbt",
    "PsbtInput",
    "PsbtOutput",
    "parse_psbt",
    "serialize_psbt",
    "validate_psbt_bytes",
]
