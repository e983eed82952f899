"""PSBT analysis and signing, in the order and with the texts of firmware v5.4.5.

``analyse`` follows ``auth.ApproveTransaction``: read the PSBT (``PSBT parse failed``),
``validate`` (key paths, UTXO hashes, the locktime warning), ``consider_keys`` (is any
input ours at all), ``consider_inputs`` (the key that signs each input, the multisig
wallet, the inputs' warnings), ``consider_outputs`` (change, fee and the outputs'
warnings, in ``outputs``) and ``consider_dangerous_sighash`` (in ``sighash``). ``sign``
is ``sign_it``: change keys are re-derived, then every input we hold the key for is
signed with its sighash type (ALL when the PSBT names none) and a low-R signature; an
input signed with ALL loses its sighash field, as on the device.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from embit import ec

from backends.encoding import compact_size
from backends.wallet.psbt import Psbt

from .failures import INVALID_PSBT, SIGNING_FAILED_LATE, FirmwareAssertion, SigningFailure, require, with_details
from .keys import DeviceKeys, hash160, ints_to_path, xfp_to_str
from .multisig import AF_P2SH, AF_P2WSH, AF_P2WSH_P2SH, MultisigWallet, find_wallet, multisig_m_n
from .multisig import multisig_script_pubkey
from .outputs import OutputInfo, Template, check_change_keys, classify, review_outputs
from .psbt_paths import KeyPathReader, KeyPaths
from .sighash import SIGHASH_ALL, legacy_digest, review_sighash_types, segwit_v0_digest

DEFAULT_FEE_LIMIT = 10  # percent
BAD_LOCKTIME_WARNING = ("Bad Locktime", "Locktime has no effect! None of the nSequences decremented.")
SEQUENCE_FINAL = 0xFFFFFFFF


@dataclass
class InputInfo:
    """One input as ``consider_inputs`` leaves it."""

    amount_sat: int | None  # None when the PSBT gives no UTXO for it
    is_ours: bool  # our XFP in its derivations (the firmware's num_our_keys)
    index: int = 0
    key_paths: KeyPaths = field(default_factory=dict)
    fully_signed: bool = False  # as many partial signatures as derivations
    signing_keys: list[bytes] | None = None  # the firmware's required_key; None: no key known
    is_multisig: bool = False
    is_segwit: bool = False
    script_code: bytes = b""  # scriptSig while hashing (legacy), or BIP-143 scriptCode
    sighash: int | None = None  # as the PSBT gives it


@dataclass
class Analysis:
    psbt: Psbt
    psbt_sha256: bytes
    inputs: list[InputInfo]
    outputs: list[OutputInfo]
    total_in: int | None
    total_out: int
    fee: int | None
    wallet: MultisigWallet | None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    consolidation: bool = False  # every output is change


def analyse(raw: bytes, keys: DeviceKeys, wallets: list[MultisigWallet], *, fee_limit: int = DEFAULT_FEE_LIMIT,
            sighash_checks_disabled: bool = False) -> Analysis:
    """Everything the approver needs, or SigningFailure with the device's text."""
    try:
        psbt = Psbt.parse(raw)
    except Exception:
        raise SigningFailure("PSBT parse failed") from None
    try:
        return _Analyser(psbt, raw, keys, wallets, fee_limit, sighash_checks_disabled).run()
    except SigningFailure:
        raise
    except FirmwareAssertion as exc:
        raise with_details(INVALID_PSBT, exc) from None
    except Exception:
        raise SigningFailure(INVALID_PSBT) from None


def _numbers(indexes) -> str:
    return ", ".join(str(i) for i in sorted(indexes))


class _Analyser:
    def __init__(self, psbt, raw, keys, wallets, fee_limit, sighash_checks_disabled):
        self.psbt, self.raw, self.keys, self.wallets = psbt, raw, keys, wallets
        self.fee_limit, self.sighash_checks_disabled = fee_limit, sighash_checks_disabled
        self.warnings: list[tuple[str, str]] = []
        self.paths = KeyPathReader(keys.xfp, keys.fingerprint, self.warnings)
        self.wallet: MultisigWallet | None = None

    def run(self) -> Analysis:
        inputs = self._validate()
        if not any(i.is_ours for i in inputs):
            self._no_keys(inputs)
        total_in = self._consider_inputs(inputs)
        review = review_outputs(self.psbt, self.paths, self.wallet, total_in=total_in, fee_limit=self.fee_limit,
                                chain=self.keys.chain, input_paths=self._paths_being_signed(inputs),
                                warnings=self.warnings)
        self.warnings.extend(review_sighash_types(
            [i.sighash for i in inputs if i.is_ours], consolidation=review.consolidation,
            checks_disabled=self.sighash_checks_disabled))
        return Analysis(self.psbt, hashlib.sha256(self.raw).digest(), inputs, review.outputs, total_in,
                        review.total_out, review.fee, self.wallet, self.warnings, review.consolidation)

    # psbtObject.validate
    def _validate(self) -> list[InputInfo]:
        inputs = []
        for i, inp in enumerate(self.psbt.inputs):
            if inp.witness_script is not None:
                require(len(inp.witness_script.data) >= 30, "", "psbt.py:646")
            if inp.redeem_script is not None:
                require(len(inp.redeem_script.data) >= 22, "", "psbt.py:648")
            paths = self.paths.read(inp)
            fully_signed = bool(inp.partial_sigs) and len(inp.partial_sigs) >= len(paths)
            if inp.non_witness_utxo is not None:
                require(inp.non_witness_utxo.txid() == inp.txid, "utxo hash mismatch for input #%d" % i,
                        "psbt.py:677")
            inputs.append(InputInfo(None, self.paths.count_ours(paths) > 0, i, paths, fully_signed,
                                    sighash=inp.sighash_type))
        tx = self.psbt.tx
        if tx.locktime > 0 and min(vin.sequence for vin in tx.vin) == SEQUENCE_FINAL:
            self.warnings.append(BAD_LOCKTIME_WARNING)
        return inputs

    # psbtObject.consider_keys
    def _no_keys(self, inputs: list[InputInfo]):
        others = {path[0] for i in inputs for path in i.key_paths.values()}
        if not others:
            raise SigningFailure("PSBT does not contain any key path information.")
        others.discard(self.keys.xfp)
        found = ", ".join(xfp_to_str(x) for x in others)
        raise SigningFailure("None of the keys involved in this transaction belong to this Coldcard "
                             "(need %s, found %s)." % (xfp_to_str(self.keys.xfp), found))

    # psbtObject.consider_inputs
    def _consider_inputs(self, inputs: list[InputInfo]) -> int | None:
        foreign, presigned, total_in = [], [], 0
        for info, inp in zip(inputs, self.psbt.inputs):
            if info.fully_signed:
                presigned.append(info.index)
            utxo = self._utxo(inp)
            if utxo is None:
                if info.is_ours and not info.fully_signed:
                    raise SigningFailure("Missing own UTXO(s). Cannot determine value being signed")
                foreign.append(info.index)
                continue
            total_in += utxo.value
            info.amount_sat = utxo.value
            self._find_signing_key(info, inp, utxo.script_pubkey.data)
        if foreign:
            self.warnings.append(("Unable to calculate fee",
                                  "Some input(s) haven't provided UTXO(s): " + _numbers(foreign)))
        else:
            require(total_in > 0, "zero value txn", "psbt.py:1766")
        if len(presigned) == len(inputs):
            raise SigningFailure("Transaction looks completely signed already?")
        unknown = [i.index for i in inputs if i.signing_keys is None and not i.fully_signed]
        if unknown:
            self.warnings.append(("Limited Signing", "We are not signing these inputs, because we do not know "
                                  "the key: " + _numbers(unknown)))
        if presigned:
            self.warnings.append(("Partly Signed Already", "Some input(s) provided were already completely signed "
                                  "by other parties: " + _numbers(presigned)))
        return None if foreign else total_in

    @staticmethod
    def _utxo(inp):
        if inp.witness_utxo is not None:
            return inp.witness_utxo
        if inp.non_witness_utxo is None:
            return None
        outs = inp.non_witness_utxo.vout
        require(inp.vout < len(outs), "not enuf outs", "psbt.py:727")
        return outs[inp.vout]

    # psbtInputProxy.determine_my_signing_key
    def _find_signing_key(self, info: InputInfo, inp, spk: bytes) -> None:
        if not info.key_paths or info.fully_signed:
            return
        template, payload = classify(spk)
        if template is Template.OP_RETURN:
            return
        if template is Template.P2TR:
            raise SigningFailure("Install EDGE firmware to spend taproot.")
        if template is Template.UNKNOWN:
            raise SigningFailure("Unhandled scriptPubKey: " + payload.hex())
        n = info.index
        info.is_segwit = template in (Template.P2WPKH, Template.P2WSH)
        key_hash = payload
        if template in (Template.P2SH, Template.P2WSH):
            script = inp.witness_script or inp.redeem_script
            if script is None:
                raise SigningFailure("Missing redeem/witness script for input #%d" % n)
            script = script.data
            info.signing_keys = self._script_keys(info, inp)
            info.script_code = script
            if not info.is_segwit and len(script) == 22 and script[:2] == b"\x00\x14":
                info.is_segwit, key_hash = True, script[2:]  # P2SH-P2WPKH
            else:
                info.is_multisig = True
                addr_fmt = AF_P2SH if template is Template.P2SH else AF_P2WSH
                if inp.witness_script is not None and not info.is_segwit:
                    addr_fmt, info.is_segwit = AF_P2WSH_P2SH, True
                self._check_multisig(info, script, addr_fmt, spk)
        elif template in (Template.P2PKH, Template.P2WPKH):
            match = next((pk for pk in info.key_paths if hash160(pk) == payload), None)
            if match is None:
                raise SigningFailure("Input #%d: pubkey vs. address wrong" % n)
            info.signing_keys, info.script_code = [match], spk
        else:  # P2PK
            if payload not in info.key_paths:
                raise SigningFailure("Input #%d: pubkey wrong" % n)
            info.signing_keys, info.script_code = [payload], spk
        if info.is_segwit and not info.is_multisig:
            info.script_code = b"\x19\x76\xa9\x14" + key_hash + b"\x88\xac"
        elif info.is_segwit:
            if inp.witness_script is None:
                raise SigningFailure("Need witness script for input #%d" % n)
            witness = inp.witness_script.data
            info.script_code = compact_size(len(witness)) + witness

    def _script_keys(self, info: InputInfo, inp) -> list[bytes]:
        """The one key given, or every key of ours that has not signed yet."""
        if len(info.key_paths) == 1:
            return list(info.key_paths)
        signed = {pub.sec() for pub in inp.partial_sigs}
        return [pk for pk, path in info.key_paths.items() if pk not in signed and path[0] == self.keys.xfp]

    def _check_multisig(self, info: InputInfo, script: bytes, addr_fmt: int, spk: bytes) -> None:
        m, n = multisig_m_n(script)
        xfp_paths = sorted(info.key_paths.values())
        if self.wallet is None:
            self.wallet = find_wallet(self.wallets, m, n, xfp_paths, addr_fmt)
            if self.wallet is None:
                raise SigningFailure("Unknown multisig wallet")
        else:
            self.wallet.assert_matching(m, n, xfp_paths, addr_fmt)
        try:
            self.wallet.validate_script(script, info.key_paths)
            assert multisig_script_pubkey(addr_fmt, script) == spk, "spk mismatch"
        except Exception as exc:
            raise SigningFailure("Input #%d: %s" % (info.index, exc)) from None

    def _paths_being_signed(self, inputs: list[InputInfo]) -> list[list[int]]:
        return [path[1:] for i in inputs if not i.fully_signed and i.signing_keys
                for path in i.key_paths.values() if path[0] == self.keys.xfp]


def sign(analysis: Analysis, keys: DeviceKeys) -> bytes:
    """The PSBT with this device's partial signatures added, serialized."""
    check_change_keys(analysis.outputs, keys)
    psbt = analysis.psbt
    tx = psbt.tx
    try:
        for info in analysis.inputs:
            if info.amount_sat is None or not info.signing_keys or info.fully_signed:
                continue
            key = _our_key(info, keys)
            if key is None:
                continue
            pubkey, path = key
            sighash = SIGHASH_ALL if info.sighash is None else info.sighash
            if info.is_segwit:
                digest = segwit_v0_digest(tx, info.index, info.script_code, info.amount_sat, sighash)
            else:
                digest = legacy_digest(tx, info.index, info.script_code, sighash)
            inp = psbt.inputs[info.index]
            inp.partial_sigs[ec.PublicKey.parse(pubkey)] = keys.sign_ecdsa_der(path, digest) + bytes([sighash])
            if sighash == SIGHASH_ALL:
                inp.sighash_type = None
    except FirmwareAssertion as exc:
        raise with_details(SIGNING_FAILED_LATE, exc) from None
    return psbt.serialize()


def _our_key(info: InputInfo, keys: DeviceKeys) -> tuple[bytes, list[int]] | None:
    """The pubkey we sign the input with and its path; None if the key is another signer's."""
    if info.is_multisig:
        for pubkey in info.signing_keys:
            path = info.key_paths[pubkey][1:]
            if keys.pubkey(path) == pubkey:
                return pubkey, path
        raise FirmwareAssertion("Input #%d needs pubkey I dont have" % info.index, "psbt.py:2032")
    pubkey = info.signing_keys[0]
    xfp, *path = info.key_paths[pubkey]
    if xfp != keys.xfp:
        return None
    require(keys.pubkey(path) == pubkey,
            "Path (%s) led to wrong pubkey for input#%d" % (ints_to_path(path), info.index), "psbt.py:2054")
    return pubkey, path


__all__ = ["Analysis", "InputInfo", "SigningFailure", "analyse", "sign"]
