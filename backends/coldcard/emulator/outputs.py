"""The outputs of a PSBT as the firmware judges them: script templates, change, warnings.

``classify`` names an output script's template (``CTxOut.get_address``). An output is
change only when the PSBT proves it (``psbtOutputProxy.validate``): one of our keys in
its derivations and a script that pays exactly that key (P2PKH, P2WPKH, P2SH-P2WPKH with
its redeem script, bare pubkey) or exactly the active multisig wallet (P2WSH, P2SH-P2WSH,
P2SH). A claim that does not hold is fraud (``Output#N: ...``); taproot, OP_RETURN and
unknown scripts are never change. ``review_outputs`` then checks the fee and adds the
warnings of ``consider_outputs`` and ``consider_dangerous_change`` in the firmware's
order; ``check_change_keys`` is the last-second check that our key really is at the
claimed path, made when signing.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field

from embit.script import Script

from .failures import SigningFailure, change_fraud
from .keys import HARDENED, DeviceKeys, hash160, ints_to_path
from .multisig import AF_P2SH, AF_P2WSH, AF_P2WSH_P2SH, MultisigWallet
from .psbt_paths import KeyPathReader, KeyPaths

CHAIN_ADDRESS_NETWORK = {"BTC": "main", "XTN": "test", "XRT": "regtest"}
#: the proprietary PSBT key of a Coldcard output attestation (``COINKITE``, subtype 0)
ATTESTATION_KEY = b"\xfc\x08COINKITE\x00"
OP_RETURN = 0x6A
OP_RETURN_STANDARD_SIZE = 83  # script bytes a node relays by default


class Template(enum.Enum):
    P2PK = "p2pk"
    P2PKH = "p2pkh"
    P2SH = "p2sh"
    P2WPKH = "p2wpkh"
    P2WSH = "p2wsh"
    P2TR = "p2tr"
    OP_RETURN = "op_return"
    UNKNOWN = "unknown"


def classify(script: bytes) -> tuple[Template, bytes]:
    """The template and its payload (key hash, script hash, pubkey), tried in firmware order.

    A bare pubkey's payload is the pushed key, as firmware master reads it (v5.4.5 slices
    one byte too far, so its P2PK change and inputs never match; see the README).
    """
    n = len(script)
    if n == 34 and 0x51 <= script[0] <= 0x60 and script[1] == 0x20:
        return Template.P2TR, script[2:]
    if n == 22 and script[:2] == b"\x00\x14":
        return Template.P2WPKH, script[2:]
    if n == 34 and script[:2] == b"\x00\x20":
        return Template.P2WSH, script[2:]
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        return Template.P2PKH, script[3:23]
    if n == 23 and script[:2] == b"\xa9\x14" and script[22] == 0x87:
        return Template.P2SH, script[2:22]
    if n in (35, 67) and script[0] in (0x21, 0x41) and script[-1] == 0xAC:
        return Template.P2PK, script[1 : 1 + script[0]]
    if script[0] == OP_RETURN:  # an empty script fails here, as on the device
        return Template.OP_RETURN, script
    return Template.UNKNOWN, script


def render_script(script: bytes, chain: str) -> str:
    """The address for the current chain, or the script's hex when it has none."""
    from embit.networks import NETWORKS

    try:
        return Script(script).address(NETWORKS[CHAIN_ADDRESS_NETWORK[chain]])
    except Exception:
        return script.hex()


@dataclass
class OutputInfo:
    address: str
    amount_sat: int
    is_change: bool
    script: bytes = b""
    is_ours: bool = False  # our XFP in its derivations (the firmware's num_our_keys)
    attestation: bytes | None = None
    key_paths: KeyPaths = field(default_factory=dict)
    template: Template = Template.UNKNOWN


@dataclass
class OutputReview:
    outputs: list[OutputInfo]
    total_out: int
    fee: int | None
    consolidation: bool  # every output is change


def review_outputs(psbt, reader: KeyPathReader, wallet: MultisigWallet | None, *, total_in: int | None,
                   fee_limit: int, chain: str, input_paths: list[list[int]],
                   warnings: list[tuple[str, str]]) -> OutputReview:
    outputs = [_output(n, out, reader, wallet, chain) for n, out in enumerate(psbt.outputs)]
    total_out = sum(o.amount_sat for o in outputs)
    fee = None if total_in is None else total_in - total_out
    if fee is None:
        return OutputReview(outputs, total_out, None, False)  # the firmware stops here
    _check_fee(fee, total_out, fee_limit, warnings)
    op_returns = [o for o in outputs if o.template is Template.OP_RETURN]
    oversized = [o for o in op_returns if len(o.script) > OP_RETURN_STANDARD_SIZE]
    if len(op_returns) > 1 or oversized:
        detail = "\nMultiple OP_RETURN outputs: %d" % len(op_returns) if len(op_returns) > 1 else ""
        detail += "\nOP_RETURN > 80 bytes" if oversized else ""
        warnings.append(("OP_RETURN", "TX may not be relayed by some nodes." + detail))
    unknown = sum(1 for o in outputs if o.template is Template.UNKNOWN)
    if unknown:
        warnings.append(("Output?", "Sending to %d not well understood script(s)." % unknown))
    if any(o.amount_sat == 0 and o.template is not Template.OP_RETURN for o in outputs):
        warnings.append(("Zero Value", "Non-standard zero value output(s)."))
    consolidation = all(o.is_change for o in outputs)
    warnings.extend(("Troublesome Change Outs", text)
                    for text in troublesome_change(input_paths, outputs, reader.my_xfp))
    return OutputReview(outputs, total_out, fee, consolidation)


def _output(n: int, out, reader: KeyPathReader, wallet, chain: str) -> OutputInfo:
    paths = reader.read(out)
    ours = reader.count_ours(paths)
    script = out.vout.script_pubkey.data
    template, payload = classify(script)
    attestation = next((v for k, v in out.unknown.items() if k.startswith(ATTESTATION_KEY)), None)
    is_change = ours > 0 and _proves_change(n, out, script, template, payload, paths, wallet)
    return OutputInfo(render_script(script, chain), out.vout.value, is_change, script, ours > 0,
                      attestation, paths, template)


def _proves_change(n: int, out, script: bytes, template: Template, payload: bytes,
                   paths: KeyPaths, wallet: MultisigWallet | None) -> bool:
    """True if the output provably pays us; raises on a false claim."""
    if template in (Template.P2TR, Template.OP_RETURN, Template.UNKNOWN):
        return False
    single_key = next(iter(paths)) if len(paths) == 1 else None
    if template is Template.P2PK:
        if payload != single_key:
            raise change_fraud(n, "P2PK change output is fraudulent")
        return True
    paid_hash = payload
    if template in (Template.P2SH, Template.P2WSH):
        redeem = out.redeem_script.data if out.redeem_script else None
        witness = out.witness_script.data if out.witness_script else None
        if single_key:
            # one key: only P2SH-P2WPKH is understood
            if not redeem:
                raise SigningFailure("Missing redeem script for output #%d" % n)
            wrapped = b"\xa9\x14" + hash160(b"\x00\x14" + hash160(single_key)) + b"\x87"
            expected = None
            if template is Template.P2SH and redeem[:2] == b"\x00\x14" and len(redeem) == 22 and script == wrapped:
                paid_hash, expected = redeem[2:], hash160(single_key)
        else:
            return _multisig_change(n, template, payload, redeem, witness, paths, wallet)
    else:  # P2PKH, P2WPKH
        expected = hash160(single_key)
    if paid_hash != expected:
        raise change_fraud(n, "Change output is fraudulent")
    return True


def _multisig_change(n, template, payload, redeem, witness, paths, wallet) -> bool:
    """Change only for the active wallet's own address format and exactly its script."""
    if not redeem and not witness:
        raise SigningFailure("Missing redeem/witness script for multisig output #%d" % n)
    if wallet is None:
        return False  # maybe another wallet's output: shown as a payment, not fraud
    addr_fmt = AF_P2WSH if template is Template.P2WSH else AF_P2SH
    if addr_fmt == AF_P2SH and redeem and witness and len(redeem) == 34 and redeem[:2] == b"\x00\x20":
        addr_fmt = AF_P2WSH_P2SH
    if addr_fmt != wallet.addr_fmt:
        return False
    try:
        wallet.validate_script(witness or redeem, paths)
    except Exception as exc:
        raise change_fraud(n, "P2WSH or P2SH change output script: %s" % exc) from None
    if template is Template.P2WSH:
        if hashlib.sha256(witness).digest() != payload:
            raise change_fraud(n, "P2WSH witness script has wrong hash")
        return True
    if witness:
        expected_redeem = b"\x00\x20" + hashlib.sha256(witness).digest()
        if redeem and redeem != expected_redeem:
            raise change_fraud(n, "P2SH-P2WSH redeem script provided, and doesn't match")
        expected = hash160(expected_redeem)
    else:
        expected = hash160(redeem)  # plain P2SH multisig
    if payload != expected:
        raise change_fraud(n, "Change output is fraudulent")
    return True


def _check_fee(fee: int, total_out: int, fee_limit: int, warnings: list[tuple[str, str]]) -> None:
    if fee < 0:
        raise SigningFailure("Outputs worth more than inputs!")
    per_fee = fee * 100 / total_out if total_out else 100
    if fee_limit != -1 and per_fee >= fee_limit:
        raise SigningFailure("Network fee bigger than %d%% of total amount (it is %.0f%%)." % (fee_limit, per_fee))
    if per_fee >= 5:
        warnings.append(("Big Fee", "Network fee is more than 5%% of total value (%.1f%%)." % per_fee))


def troublesome_change(input_paths: list[list[int]], outputs: list[OutputInfo], my_xfp: int) -> list[str]:
    """Change that does not look like the inputs' wallet: same depth, hardening and prefix,
    ``.../{0,1}/index`` with the index at most 200 past the inputs' highest."""
    if not input_paths:
        return []
    depth = len(input_paths[0])
    if any(len(p) != depth for p in input_paths) or depth <= 2:
        return []  # no common wallet shape to compare with

    def hardening(path):
        return [bool(step & HARDENED) for step in path]

    prefix = input_paths[0][:-2]
    pattern = hardening(input_paths[0])
    index_max = max(p[-1] & ~HARDENED for p in input_paths) + 200
    expected = "%s/{0~1}%s/{0~%d}%s expected" % (
        ints_to_path(prefix), "'" if pattern[-2] else "", index_max, "'" if pattern[-1] else "")
    problems = []
    for n, out in enumerate(outputs):
        if not out.is_change:
            continue
        for full_path in out.key_paths.values():
            if full_path[0] != my_xfp:
                continue
            path = full_path[1:]
            if len(path) != depth:
                issue = "has wrong path length (%d not %d)" % (len(path), depth)
            elif hardening(path) != pattern:
                issue = "has different hardening pattern"
            elif path[: len(prefix)] != prefix:
                issue = "goes to diff path prefix"
            elif path[-2] & ~HARDENED not in (0, 1):
                issue = "2nd last component not 0 or 1"
            elif path[-1] & ~HARDENED > index_max:
                issue = "last component beyond reasonable gap"
            else:
                continue
            problems.append("Output#%d: %s: %s not %s" % (n, issue, ints_to_path(path), expected))
            break
    return problems


def check_change_keys(outputs: list[OutputInfo], keys: DeviceKeys) -> None:
    """At signing: each change output has a key of ours really derived at its stated path."""
    for n, out in enumerate(outputs):
        if not out.is_change:
            continue
        if not any(path[0] == keys.xfp and keys.pubkey(path[1:]) == pubkey
                   for pubkey, path in out.key_paths.items()):
            raise change_fraud(n, "Deception regarding change output. BIP-32 path doesn't match actual address.")

