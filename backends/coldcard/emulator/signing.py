"""PSBT analysis and signing, and BIP-137 message signing, the way the firmware does them.

``analyse`` reads a PSBT (``PSBT parse failed`` if it cannot), checks every input this
device holds a key for (P2WSH multisig of an enrolled wallet, or P2WPKH) and every output
claiming to be change (a wrong claim is ``Output#N: ...`` fraud), the fee (over the
``fee_limit`` percentage is fatal, over 5 % a warning) and returns what an approver
needs. ``sign`` then adds this device's partial signatures (SIGHASH_ALL, low-S, RFC 6979).
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass, field

from embit import ec
from embit.psbt import PSBT
from embit.script import Script

from .keys import DeviceKeys, hash160, ints_to_path, xfp_to_str
from .multisig import AF_P2WSH, MultisigWallet, parse_multisig_script

DEFAULT_FEE_LIMIT = 10  # percent
CHAIN_ADDRESS_NETWORK = {"BTC": "main", "XTN": "test", "XRT": "regtest"}


class SigningFailure(Exception):
    """The PSBT cannot be signed; the text is what ``stok`` reports after ``err_``."""


#: the proprietary PSBT key of a Coldcard output attestation (``COINKITE``, subtype 0)
ATTESTATION_KEY = b"\xfc\x08COINKITE\x00"


@dataclass
class OutputInfo:
    address: str
    amount_sat: int
    is_change: bool
    script: bytes = b""
    is_ours: bool = False  # our XFP in its derivations (the firmware's num_our_keys)
    attestation: bytes | None = None


@dataclass
class InputInfo:
    amount_sat: int | None  # None when the PSBT gives no UTXO for it
    is_ours: bool


@dataclass
class Analysis:
    psbt: PSBT
    psbt_sha256: bytes
    my_inputs: list[tuple[int, list[int]]]  # (input index, full path of our key)
    outputs: list[OutputInfo]
    total_in: int | None
    total_out: int
    fee: int | None
    wallet: MultisigWallet | None
    warnings: list[tuple[str, str]] = field(default_factory=list)
    inputs: list[InputInfo] = field(default_factory=list)

    @property
    def total_non_change(self) -> int:
        return sum(o.amount_sat for o in self.outputs if not o.is_change)


def render_script(script: bytes, chain: str) -> str:
    from embit.networks import NETWORKS

    try:
        return Script(script).address(NETWORKS[CHAIN_ADDRESS_NETWORK[chain]])
    except Exception:
        return script.hex()


def _subpaths(scope) -> dict[bytes, list[int]]:
    return {pub.sec(): [int.from_bytes(d.fingerprint, "little"), *d.derivation] for pub, d in scope.bip32_derivations.items()}


def analyse(raw: bytes, keys: DeviceKeys, wallets: list[MultisigWallet], *, fee_limit: int = DEFAULT_FEE_LIMIT) -> Analysis:
    try:
        psbt = PSBT.read_from(io.BytesIO(raw))
    except Exception:
        raise SigningFailure("PSBT parse failed") from None
    try:
        return _Analyser(psbt, raw, keys, wallets, fee_limit).run()
    except SigningFailure:
        raise
    except Exception:
        raise SigningFailure("Invalid PSBT") from None


class _Analyser:
    def __init__(self, psbt, raw, keys, wallets, fee_limit):
        self.psbt, self.raw, self.keys, self.wallets, self.fee_limit = psbt, raw, keys, wallets, fee_limit
        self.warnings: list[tuple[str, str]] = []
        self.wallet: MultisigWallet | None = None

    def run(self) -> Analysis:
        my_inputs, total_in, foreign, inputs = [], 0, [], []
        for i, inp in enumerate(self.psbt.inputs):
            utxo = inp.witness_utxo or (inp.non_witness_utxo.vout[inp.vin.vout] if inp.non_witness_utxo else None)
            if utxo is None:
                foreign.append(i)
            else:
                total_in += utxo.value
            path = self._input_key(i, inp, utxo)
            if path is not None:
                my_inputs.append((i, path))
            inputs.append(InputInfo(None if utxo is None else utxo.value, path is not None))
        if not my_inputs:
            self._no_keys()
        outputs = [self._output(n, out) for n, out in enumerate(self.psbt.outputs)]
        total_out = sum(o.amount_sat for o in outputs)
        fee = None if foreign else total_in - total_out
        if foreign:
            self.warnings.append(("Unable to calculate fee", "Some input(s) haven't provided UTXO(s)"))
        self._check_fee(fee, total_out)
        if any(o.amount_sat == 0 for o in outputs):
            self.warnings.append(("Zero Value", "Non-standard zero value output(s)."))
        return Analysis(self.psbt, hashlib.sha256(self.raw).digest(), my_inputs, outputs,
                        None if foreign else total_in, total_out, fee, self.wallet, self.warnings, inputs)

    def _no_keys(self):
        others = {p[0] for inp in self.psbt.inputs for p in _subpaths(inp).values()}
        if not others:
            raise SigningFailure("PSBT does not contain any key path information.")
        others.discard(self.keys.xfp)
        raise SigningFailure("None of the keys involved in this transaction belong to this Coldcard "
                             "(need %s, found %s)." % (xfp_to_str(self.keys.xfp), ", ".join(xfp_to_str(x) for x in others)))

    def _input_key(self, i, inp, utxo) -> list[int] | None:
        subpaths = _subpaths(inp)
        mine = [(pk, p) for pk, p in subpaths.items() if p[0] == self.keys.xfp]
        if not mine or utxo is None:
            return None
        if inp.final_scriptwitness or inp.final_scriptsig:
            return None
        spk = utxo.script_pubkey.data
        if len(spk) == 34 and spk[:2] == b"\x00\x20":
            ws = inp.witness_script.data if inp.witness_script else None
            if not ws:
                raise SigningFailure("Need witness script for input #%d" % i)
            if hashlib.sha256(ws).digest() != spk[2:]:
                raise SigningFailure("Input #%d: witness script wrong" % i)
            m, pubkeys = parse_multisig_script(ws)
            xfps = {subpaths[pk][0] for pk in pubkeys if pk in subpaths}
            wallet = next((w for w in self.wallets if (w.m, w.n, w.addr_fmt) == (m, len(pubkeys), AF_P2WSH)
                           and w.xfps == xfps), None)
            if wallet is None:
                raise SigningFailure("Unknown multisig wallet")
            if self.wallet is not None and self.wallet.name != wallet.name:
                raise SigningFailure("Input #%d: different multisig wallet" % i)
            try:
                wallet.validate_script(ws, subpaths)
            except AssertionError as exc:
                raise SigningFailure("Input #%d: %s" % (i, exc)) from None
            self.wallet = wallet
        elif len(spk) == 22 and spk[:2] == b"\x00\x14":
            if len(mine) != 1 or hash160(mine[0][0]) != spk[2:]:
                raise SigningFailure("Input #%d: pubkey vs. address wrong" % i)
        else:
            raise SigningFailure("Unhandled scriptPubKey: " + spk.hex())
        pubkey, path = mine[0]
        if self.keys.pubkey(path[1:]) != pubkey:
            raise SigningFailure("Input #%d: pubkey wrong" % i)
        return path[1:]

    def _output(self, n: int, out) -> OutputInfo:
        spk = out.vout.script_pubkey.data
        subpaths = _subpaths(out)
        ours = [p for p in subpaths.values() if p[0] == self.keys.xfp]
        attestation = next((v for k, v in out.unknown.items() if k.startswith(ATTESTATION_KEY)), None)
        info = OutputInfo(render_script(spk, self.keys.chain), out.vout.value, False, spk, bool(ours), attestation)
        if not ours:
            return info
        if len(spk) == 34 and spk[:2] == b"\x00\x20" and len(subpaths) > 1:
            ws = out.witness_script.data if out.witness_script else None
            if not ws:
                raise SigningFailure("Missing redeem/witness script for multisig output #%d" % n)
            if self.wallet is None or self.wallet.addr_fmt != AF_P2WSH:
                return info
            try:
                self.wallet.validate_script(ws, subpaths)
            except AssertionError as exc:
                raise SigningFailure("Output#%d: P2WSH or P2SH change output script: %s" % (n, exc)) from None
            if hashlib.sha256(ws).digest() != spk[2:]:
                raise SigningFailure("Output#%d: P2WSH witness script has wrong hash" % n)
            info.is_change = True
        elif len(spk) == 22 and spk[:2] == b"\x00\x14" and len(subpaths) == 1:
            (pubkey, path), = subpaths.items()
            if hash160(pubkey) != spk[2:]:
                raise SigningFailure("Output#%d: Change output is fraudulent" % n)
            if self.keys.pubkey(path[1:]) != pubkey:
                raise SigningFailure("Output#%d: Deception regarding change output. "
                                     "BIP-32 path doesn't match actual address." % n)
            info.is_change = True
        return info

    def _check_fee(self, fee: int | None, total_out: int) -> None:
        if fee is None:
            return
        if fee < 0:
            raise SigningFailure("Outputs worth more than inputs!")
        per_fee = fee * 100 / total_out if total_out else 100
        if self.fee_limit != -1 and per_fee >= self.fee_limit:
            raise SigningFailure("Network fee bigger than %d%% of total amount (it is %.0f%%)." % (self.fee_limit, per_fee))
        if per_fee >= 5:
            self.warnings.append(("Big Fee", "Network fee is more than 5%% of total value (%.1f%%)." % per_fee))


def sign(analysis: Analysis, keys: DeviceKeys) -> bytes:
    """The PSBT with this device's partial signatures added, serialized."""
    psbt = analysis.psbt
    for i, path in analysis.my_inputs:
        digest = psbt.sighash(i)
        der = keys.sign_ecdsa_der(path, digest)
        psbt.inputs[i].partial_sigs[ec.PublicKey.parse(keys.pubkey(path))] = der + b"\x01"
    return psbt.serialize()


def approval_story(analysis: Analysis, chain: str, *, prompt: bool = True) -> str:
    """The "OK TO SEND?" text; without ``prompt`` (HSM mode) the closing instructions are left out."""
    unit = "BTC" if chain == "BTC" else "XTN"
    lines = []
    if analysis.warnings:
        lines.append("(%d warning%s below)\n" % (len(analysis.warnings), "" if len(analysis.warnings) == 1 else "s"))
    lines.append("Sending %.8f %s" % (analysis.total_non_change / 1e8, unit))
    if analysis.fee is not None:
        lines.append("Network fee %.8f %s\n" % (analysis.fee / 1e8, unit))
    for o in analysis.outputs:
        if not o.is_change:
            lines.append("%.8f %s\n - to address -\n%s\n" % (o.amount_sat / 1e8, unit, o.address))
    for label, text in analysis.warnings:
        lines.append("- %s: %s" % (label, text))
    if prompt:
        lines.append("Press OK to approve and sign transaction. Press (2) to explore txn outputs.")
    return "\n".join(lines)


# ---- messages (BIP-137) ----

MSG_MAX_LENGTH = 240
AF_CLASSIC, AF_P2WPKH, AF_P2WPKH_P2SH = 0x01, 0x07, 0x13
SIG_HEADER_BASE = {AF_CLASSIC: 31, AF_P2WPKH_P2SH: 35, AF_P2WPKH: 39}


def validate_text_for_signing(raw: bytes) -> str:
    try:
        text = bytes(raw).decode("ascii")
        if not text.isprintable():
            raise ValueError
    except (UnicodeDecodeError, ValueError):
        raise AssertionError("must be ascii printable") from None
    assert len(text) >= 2, "msg too short (min. 2)"
    assert len(text) <= MSG_MAX_LENGTH, "msg too long (max. %d)" % MSG_MAX_LENGTH
    assert "   " not in text, "too many spaces together in msg(max. 3)"
    assert text[0] != " ", "leading space(s) in msg"
    assert text[-1] != " ", "trailing space(s) in msg"
    return text


def check_msg_addr_fmt(addr_fmt: int) -> int:
    if addr_fmt not in SIG_HEADER_BASE:
        raise ValueError("Invalid address format: '%s'\n\nChoose from p2pkh, p2wpkh, p2sh-p2wpkh." % addr_fmt)
    return addr_fmt


def message_digest(text: str) -> bytes:
    msg = text.encode()
    prefix = b"\x18Bitcoin Signed Message:\n"
    n = len(msg)
    size = bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n)
    return hashlib.sha256(hashlib.sha256(prefix + size + msg).digest()).digest()


def single_address(keys: DeviceKeys, path: str, addr_fmt: int) -> str:
    from embit.networks import NETWORKS
    from embit.script import p2pkh, p2sh, p2wpkh

    pub = ec.PublicKey.parse(keys.pubkey(path))
    net = NETWORKS[CHAIN_ADDRESS_NETWORK[keys.chain]]
    if addr_fmt == AF_CLASSIC:
        return p2pkh(pub).address(net)
    if addr_fmt == AF_P2WPKH:
        return p2wpkh(pub).address(net)
    if addr_fmt == AF_P2WPKH_P2SH:
        return p2sh(p2wpkh(pub)).address(net)
    raise AssertionError("Unknown/unsupported addr format")


def sign_message(keys: DeviceKeys, text: str, path: str, addr_fmt: int) -> bytes:
    return keys.sign_compact(path, message_digest(text), SIG_HEADER_BASE[addr_fmt])


__all__ = ["Analysis", "SigningFailure", "analyse", "sign", "approval_story", "ints_to_path"]
