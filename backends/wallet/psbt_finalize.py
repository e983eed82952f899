"""The Combiner, Input Finalizer and Transaction Extractor roles of BIP-174, plus the
checks a signer makes before signing.

Finalizes wsh k-of-n multisig (signatures in the order their keys appear in the script),
the same multisig in p2sh and p2sh-p2wsh, wpkh, pkh and taproot key path
(PSBT_IN_TAP_KEY_SIG). Every signature is verified before it goes into a witness, so a
tampered signature is refused here with the input and key it came from, not at broadcast.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from embit import ec
from embit.base import EmbitError
from embit.script import Script, Witness
from embit.transaction import SIGHASH, Transaction, TransactionInput

from .errors import (
    PsbtIncomplete,
    PsbtMismatch,
    PsbtSignatureError,
    PsbtSignerCheckError,
)
from .psbt import Psbt, PsbtInput, parse_psbt

ACCEPTED_SIGHASHES = (SIGHASH.DEFAULT, SIGHASH.ALL)
HARDENED = 0x80000000


#: consensus limit on one pushed element, so on a P2SH redeemScript
MAX_SCRIPT_ELEMENT_SIZE = 520


def _hash160(data: bytes) -> bytes:
    return hashlib.new("ripemd160", hashlib.sha256(data).digest()).digest()


def _copy(psbt: Psbt) -> Psbt:
    return parse_psbt(psbt.serialize())


# --- Combiner -------------------------------------------------------------------------------


def _merge_dict(into: OrderedDict | dict, other: dict) -> None:
    for key, value in other.items():
        into.setdefault(key, value)


def _sorted_unknown(mine: dict, other: dict) -> dict:
    merged = dict(mine)
    _merge_dict(merged, other)
    return dict(sorted(merged.items()))  # a combiner orders keys lexicographically


def _merge_scalars(into, other, names: tuple[str, ...]) -> None:
    for name in names:
        if getattr(into, name) is None and getattr(other, name) is not None:
            setattr(into, name, getattr(other, name))


_INPUT_SCALARS = (
    "non_witness_utxo",
    "witness_utxo",
    "sighash_type",
    "redeem_script",
    "witness_script",
    "taproot_internal_key",
    "taproot_merkle_root",
    "final_scriptsig",
    "final_scriptwitness",
)
_INPUT_MAPS = (
    "partial_sigs",
    "bip32_derivations",
    "taproot_bip32_derivations",
    "taproot_sigs",
    "taproot_scripts",
)
_OUTPUT_SCALARS = ("redeem_script", "witness_script", "taproot_internal_key")
_OUTPUT_MAPS = ("bip32_derivations", "taproot_bip32_derivations")


def combine(psbts: list[Psbt]) -> Psbt:
    """Merge PSBTs of one unsigned transaction (BIP-174, Combiner).

    Signatures and metadata from every PSBT are kept; where two PSBTs hold different values
    under the same key, the first one's wins. PSBTs of different transactions raise
    PsbtMismatch naming the odd one out.
    """
    if not psbts:
        raise PsbtMismatch("nothing to combine: no PSBTs given")
    result = _copy(psbts[0])
    unsigned = result.tx.serialize()
    for n, other in enumerate(psbts[1:], start=2):
        if other.tx.serialize() != unsigned:
            raise PsbtMismatch(
                f"PSBT {n} is for transaction {other.txid}, but PSBT 1 is for {result.txid}",
                hint="combine only PSBTs signed from the same unsigned PSBT",
            )
        _merge_dict(result.xpubs, other.xpubs)
        result.unknown = _sorted_unknown(result.unknown, other.unknown)
        for mine, theirs in zip(result.inputs, other.inputs):
            _merge_scalars(mine, theirs, _INPUT_SCALARS)
            for name in _INPUT_MAPS:
                _merge_dict(getattr(mine, name), getattr(theirs, name))
            mine.unknown = _sorted_unknown(mine.unknown, theirs.unknown)
        for mine, theirs in zip(result.outputs, other.outputs):
            _merge_scalars(mine, theirs, _OUTPUT_SCALARS)
            for name in _OUTPUT_MAPS:
                _merge_dict(getattr(mine, name), getattr(theirs, name))
            mine.unknown = _sorted_unknown(mine.unknown, theirs.unknown)
    return result


# --- Signer checks --------------------------------------------------------------------------


def _is_witness_program(script: bytes) -> bool:
    return (
        4 <= len(script) <= 42
        and (script[0] == 0 or 0x51 <= script[0] <= 0x60)
        and script[1] == len(script) - 2
    )


def _spent_script(psbt: Psbt, i: int) -> bytes | None:
    inp = psbt.inputs[i]
    if inp.witness_utxo is not None:
        return inp.witness_utxo.script_pubkey.data
    if inp.non_witness_utxo is not None and inp.vout < len(inp.non_witness_utxo.vout):
        return inp.non_witness_utxo.vout[inp.vout].script_pubkey.data
    return None


def check_signable(psbt: Psbt) -> None:
    """The checks BIP-174 asks of a signer ("Data signers check for"), input by input."""
    for i, inp in enumerate(psbt.inputs):
        where = f"input {i}"
        if inp.non_witness_utxo is not None:
            if inp.non_witness_utxo.txid() != inp.txid:
                raise PsbtSignerCheckError(
                    f"{where}: the previous transaction given is not the one it spends"
                )
            if inp.vout >= len(inp.non_witness_utxo.vout):
                raise PsbtSignerCheckError(f"{where}: the previous transaction has no output {inp.vout}")
            spent = inp.non_witness_utxo.vout[inp.vout]
            if inp.witness_utxo is not None and (
                inp.witness_utxo.value != spent.value
                or inp.witness_utxo.script_pubkey.data != spent.script_pubkey.data
            ):
                # fee() trusts the witness UTXO, a signer the previous transaction
                raise PsbtSignerCheckError(
                    f"{where}: the witness UTXO ({inp.witness_utxo.value} sat) disagrees with output "
                    f"{inp.vout} of the previous transaction ({spent.value} sat)"
                )
        spk = _spent_script(psbt, i)
        if spk is None:
            raise PsbtSignerCheckError(f"{where}: no UTXO data (witness or non-witness) to sign against")
        script = spk
        if inp.redeem_script is not None:
            redeem = inp.redeem_script.data
            if spk != b"\xa9\x14" + _hash160(redeem) + b"\x87":
                raise PsbtSignerCheckError(f"{where}: the redeemScript does not match the scriptPubKey")
            script = redeem
        if inp.witness_utxo is not None and not _is_witness_program(script):
            raise PsbtSignerCheckError(f"{where}: a witness UTXO is given for a non-witness input")
        if inp.witness_script is not None:
            expected = b"\x00\x20" + hashlib.sha256(inp.witness_script.data).digest()
            if script != expected:
                what = "redeemScript" if inp.redeem_script is not None else "scriptPubKey"
                raise PsbtSignerCheckError(f"{where}: the witnessScript does not match the {what}")
        if inp.sighash_type is not None and inp.sighash_type not in ACCEPTED_SIGHASHES:
            raise PsbtSignerCheckError(
                f"{where}: asks for sighash type 0x{inp.sighash_type:02x}; only ALL (or DEFAULT) is signed"
            )


# --- Input Finalizer ------------------------------------------------------------------------


def parse_multisig(script: bytes) -> tuple[int, list[bytes]] | None:
    """(k, pubkeys) of a bare ``OP_k <pk>... OP_n OP_CHECKMULTISIG`` script, else None."""
    if len(script) < 3 or script[-1] != 0xAE or not 0x51 <= script[0] <= 0x60:
        return None
    k, n, pos, keys = script[0] - 0x50, script[-2] - 0x50, 1, []
    while pos < len(script) - 2:
        size = script[pos]
        if size not in (33, 65) or pos + 1 + size > len(script) - 2:
            return None
        key = script[pos + 1 : pos + 1 + size]
        if not _on_curve(key):
            return None  # CHECKMULTISIG could never be satisfied by this key
        keys.append(key)
        pos += 1 + size
    if len(keys) != n or not 1 <= k <= n:
        return None
    return k, keys


def _on_curve(pubkey: bytes) -> bool:
    try:
        ec.PublicKey.parse(pubkey)
    except EmbitError:
        return False
    return True


def _push(data: bytes) -> bytes:
    if len(data) < 0x4C:
        return bytes([len(data)]) + data
    if len(data) <= 0xFF:
        return b"\x4c" + bytes([len(data)]) + data
    return b"\x4d" + len(data).to_bytes(2, "little") + data


class _Finalizer:
    def __init__(self, psbt: Psbt) -> None:
        self.psbt = psbt
        self.missing: list[str] = []

    def _name(self, inp: PsbtInput, pubkey: bytes) -> str:
        for pub, der in inp.bip32_derivations.items():
            if pub.serialize() == pubkey:
                path = "".join(
                    f"/{i - HARDENED}h" if i >= HARDENED else f"/{i}" for i in der.derivation
                )
                return f"[{der.fingerprint.hex()}{path}]"
        return f"key {pubkey.hex()[:16]}..."

    def _verified_ecdsa(self, i: int, inp: PsbtInput, pubkey: bytes) -> bytes | None:
        pub = ec.PublicKey.parse(pubkey)
        sig = inp.partial_sigs.get(pub)
        if sig is None:
            return None
        sighash = sig[-1]
        if sighash not in ACCEPTED_SIGHASHES or sighash == SIGHASH.DEFAULT:
            raise PsbtSignatureError(
                f"input {i}: the signature from {self._name(inp, pubkey)} uses sighash 0x{sighash:02x}; "
                "only ALL is accepted"
            )
        try:
            ok = pub.verify(ec.Signature.parse(sig[:-1]), self.psbt.sighash(i, sighash=sighash))
        except Exception:
            ok = False
        if not ok:
            raise PsbtSignatureError(
                f"input {i}: the signature from {self._name(inp, pubkey)} does not verify",
                hint="the signer's copy was altered or signed another transaction; sign again",
            )
        return sig

    def multisig(self, i: int, inp: PsbtInput, script: bytes) -> list[bytes] | None:
        parsed = parse_multisig(script)
        if parsed is None:
            raise PsbtIncomplete(f"input {i}: script is not a k-of-n multisig this wallet can finalize")
        k, pubkeys = parsed
        sigs = []
        for pubkey in pubkeys:  # CHECKMULTISIG wants signatures in the order of their keys
            sig = self._verified_ecdsa(i, inp, pubkey)
            if sig is not None and len(sigs) < k:
                sigs.append(sig)
        if len(sigs) < k:
            have = [self._name(inp, pk) for pk in pubkeys if ec.PublicKey.parse(pk) in inp.partial_sigs]
            others = [self._name(inp, pk) for pk in pubkeys if ec.PublicKey.parse(pk) not in inp.partial_sigs]
            self.missing.append(
                f"input {i}: {len(sigs)} of {k} signatures"
                + (f" (signed: {', '.join(have)})" if have else "")
                + f"; still needed from {k - len(sigs)} of: {', '.join(others)}"
            )
            return None
        return [b""] + sigs + [script]

    def single_key(self, i: int, inp: PsbtInput, key_hash: bytes) -> list[bytes] | None:
        for pub in inp.partial_sigs:
            if _hash160(pub.serialize()) == key_hash:
                pubkey = pub.serialize()
                return [self._verified_ecdsa(i, inp, pubkey), pubkey]
        self.missing.append(f"input {i}: no signature yet")
        return None

    def taproot_key_path(self, i: int, inp: PsbtInput, spk: bytes) -> list[bytes] | None:
        sig = inp.taproot_key_sig
        if sig is None:
            self.missing.append(f"input {i}: no taproot key-path signature yet")
            return None
        sighash = sig[64] if len(sig) == 65 else SIGHASH.DEFAULT
        if len(sig) == 65 and sighash == SIGHASH.DEFAULT:
            raise PsbtSignatureError(f"input {i}: a 65-byte taproot signature may not use sighash 0x00")
        if sighash not in ACCEPTED_SIGHASHES:
            # as for ECDSA: a NONE/SINGLE/ANYONECANPAY signature lets others rewrite the outputs
            raise PsbtSignatureError(
                f"input {i}: the taproot key-path signature uses sighash 0x{sighash:02x}; "
                "only DEFAULT or ALL is accepted"
            )
        for j, other in enumerate(self.psbt.inputs):
            if other.utxo is None:
                raise PsbtIncomplete(f"input {j}: no UTXO data; a taproot sighash commits to every input's")
        try:
            h = self.psbt.sighash(i, sighash=sighash)
            ok = ec.PublicKey.from_xonly(spk[2:]).schnorr_verify(ec.SchnorrSig.parse(sig[:64]), h)
        except Exception:
            ok = False
        if not ok:
            raise PsbtSignatureError(f"input {i}: the taproot key-path signature does not verify")
        return [sig]

    def finalize_input(self, i: int, inp: PsbtInput) -> None:
        if inp.final_scriptsig is not None or inp.final_scriptwitness is not None:
            return
        spk = _spent_script(self.psbt, i)
        if spk is None:
            raise PsbtIncomplete(f"input {i}: no UTXO data; cannot tell how to finalize it")
        script, redeem_push = spk, b""
        if _is_p2sh(spk):
            if inp.redeem_script is None or spk[2:22] != _hash160(inp.redeem_script.data):
                raise PsbtIncomplete(f"input {i}: p2sh input lacks its matching redeemScript")
            script = inp.redeem_script.data
            if len(script) > MAX_SCRIPT_ELEMENT_SIZE:
                raise PsbtIncomplete(
                    f"input {i}: the redeemScript is {len(script)} bytes; a P2SH redeemScript can be "
                    f"at most {MAX_SCRIPT_ELEMENT_SIZE}, so this input can never be spent"
                )
            redeem_push = _push(script)
        witness: list[bytes] | None = None
        if len(script) == 34 and script[:2] == b"\x00\x20":
            ws = inp.witness_script.data if inp.witness_script is not None else None
            if ws is None or hashlib.sha256(ws).digest() != script[2:]:
                raise PsbtIncomplete(f"input {i}: p2wsh input lacks its matching witnessScript")
            witness = stack = self.multisig(i, inp, ws)
            script_sig = redeem_push
        elif len(script) == 22 and script[:2] == b"\x00\x14":
            witness = stack = self.single_key(i, inp, script[2:])
            script_sig = redeem_push
        elif len(spk) == 34 and spk[:2] == b"\x51\x20":
            witness = stack = self.taproot_key_path(i, inp, spk)
            script_sig = b""
        elif redeem_push:  # bare multisig inside p2sh
            stack = self.multisig(i, inp, script)
            script_sig = b"\x00" + b"".join(_push(s) for s in (stack or [])[1:-1]) + redeem_push
        elif len(spk) == 25 and spk[:3] == b"\x76\xa9\x14":
            stack = self.single_key(i, inp, spk[3:23])
            script_sig = b"".join(_push(s) for s in (stack or []))
        else:
            raise PsbtIncomplete(f"input {i}: script {spk.hex()} is not a type this wallet finalizes")
        if stack is None:
            return  # recorded in self.missing
        _clear_after_finalize(inp)
        inp.final_scriptsig = Script(script_sig) if script_sig else None
        inp.final_scriptwitness = Witness(witness) if witness else None


def _is_p2sh(spk: bytes) -> bool:
    return len(spk) == 23 and spk[:2] == b"\xa9\x14" and spk[-1] == 0x87


def _clear_after_finalize(inp: PsbtInput) -> None:
    """BIP-174: a finalized input keeps only its UTXO fields and unknown fields."""
    inp.partial_sigs = OrderedDict()
    inp.sighash_type = None
    inp.redeem_script = None
    inp.witness_script = None
    inp.bip32_derivations = OrderedDict()
    inp.taproot_bip32_derivations = OrderedDict()
    inp.taproot_internal_key = None
    inp.taproot_merkle_root = None
    inp.taproot_sigs = OrderedDict()
    inp.taproot_scripts = OrderedDict()
    inp.taproot_key_sig = None


def finalize(psbt: Psbt) -> Psbt:
    """A finalized copy of ``psbt`` (BIP-174, Input Finalizer).

    Raises PsbtIncomplete listing every input still short of signatures (and who can still
    sign it), PsbtSignatureError for a signature that does not verify.
    """
    result = _copy(psbt)
    # what a signer checks, the finalizer checks too: it builds scripts from these fields
    check_signable(result)
    finalizer = _Finalizer(result)
    for i, inp in enumerate(result.inputs):
        try:
            finalizer.finalize_input(i, inp)
        except (EmbitError, ValueError, IndexError, OverflowError) as exc:
            # an input the checks above let through but embit cannot handle: named, typed
            raise PsbtSignatureError(
                f"input {i}: cannot be finalized ({type(exc).__name__})",
                hint="the PSBT holds data this wallet cannot verify; rebuild it from the wallet",
            ) from None
    if finalizer.missing:
        raise PsbtIncomplete(
            "PSBT is not fully signed: " + "; ".join(finalizer.missing),
            hint="collect the missing signatures, combine, then finalize again",
        )
    return result


# --- Transaction Extractor ------------------------------------------------------------------


def extract(psbt: Psbt) -> bytes:
    """The signed network transaction of a finalized PSBT (BIP-174, Transaction Extractor)."""
    open_inputs = [
        str(i)
        for i, inp in enumerate(psbt.inputs)
        if inp.final_scriptsig is None and inp.final_scriptwitness is None
    ]
    if open_inputs:
        raise PsbtIncomplete(
            f"PSBT input(s) {', '.join(open_inputs)} are not finalized", hint="finalize the PSBT first"
        )
    unsigned = psbt.tx
    vin = []
    for inp, txin in zip(psbt.inputs, unsigned.vin):
        vin.append(
            TransactionInput(
                txin.txid,
                txin.vout,
                script_sig=inp.final_scriptsig or Script(b""),
                sequence=txin.sequence,
                witness=inp.final_scriptwitness or Witness([]),
            )
        )
    tx = Transaction(version=unsigned.version, vin=vin, vout=unsigned.vout, locktime=unsigned.locktime)
    return tx.serialize()
