"""The signer registry: which Coldcards form the quorum, the wallet they share and the
policy they are armed with, checked once when the coordinator opens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import QuorumConfigError, UnknownSigner


@dataclass(frozen=True)
class SignerSpec:
    """One configured signer (``[[quorum.signers]]``)."""

    name: str
    target: str  # USB serial, or a socket path (contains "/")
    xfp: str  # 8 hex digits, upper case, fingerprint byte order
    enabled: bool = True
    message_path: str = ""

    @property
    def xfp_int(self) -> int:
        """The xfp as ckcc reports it (``master_fingerprint``, little-endian)."""
        return int.from_bytes(bytes.fromhex(self.xfp), "little")


@dataclass(frozen=True)
class QuorumSpec:
    """The whole quorum as configured: signers, wallet, policy and tuning."""

    signers: tuple[SignerSpec, ...]
    descriptor: str  # with checksum
    wallet_name: str
    policy: dict  # the HSM policy JSON the signers are armed with
    network: str
    message_path: str = "m/84h/1h/0h/0/0"
    fee_rate: float = 2.0
    sign_timeout_seconds: float = 30.0
    poll_seconds: float = 3.0
    heal_cooldown_seconds: float = 30.0
    heal_max_attempts: int = 5
    policy_source: str = ""  # where the policy came from, for messages
    global_cap_sat: int = 0  # the coordinator-wide velocity cap (0: none); see ``global_cap``
    global_period_minutes: int = 1440
    surge_global_cap_sat: int = 0  # with the owner's TOTP code (0: the global cap)

    @property
    def threshold(self) -> int:
        return self.wallet.threshold

    @cached_property
    def wallet(self):
        """The parsed descriptor (parsed once: every spend and status read needs it)."""
        return quorum_wallet(self.descriptor, self.network)

    def signer(self, name: str) -> SignerSpec:
        for signer in self.signers:
            if signer.name == name:
                return signer
        known = ", ".join(s.name for s in self.signers)
        raise UnknownSigner(f"no signer named {name!r} in the quorum (signers: {known})")

    def message_path_of(self, signer: SignerSpec) -> str:
        return signer.message_path or self.message_path


def quorum_wallet(descriptor: str, network: str):
    """The parsed descriptor if it is a checksummed native ``wsh(sortedmulti)``, else
    QuorumConfigError: the Coldcards are enrolled with a P2WSH wallet file and the HSM policy
    is written for it, so a nested ``sh(wsh(...))`` or single-key wallet is refused up front."""
    from backends.errors import CustodyError
    from backends.wallet import parse_descriptor

    if not descriptor:
        raise QuorumConfigError("is empty; the quorum needs its wsh(sortedmulti(...)) descriptor")
    try:
        wallet = parse_descriptor(descriptor, network, require_checksum=True)
    except CustodyError as exc:
        raise QuorumConfigError(str(exc), hint=exc.hint) from None
    if wallet.form != "wsh-sortedmulti":
        raise QuorumConfigError(
            f"is {wallet.template}; the quorum signs native wsh(sortedmulti(...)) only",
            hint="give the quorum's wsh(sortedmulti(k,...)) descriptor; nested sh(wsh(...)) wallets are not "
                 "enrolled on the Coldcards")
    return wallet


def check_descriptor(descriptor: str, xfps: list[str], network: str):
    """The parsed descriptor, if it is a checksummed ``wsh(sortedmulti)`` whose keys are
    exactly the configured signers' fingerprints; else QuorumConfigError saying why."""
    wallet = quorum_wallet(descriptor, network)
    in_descriptor = sorted(k.origin.fingerprint.hex().upper() for k in wallet.keys)
    configured = sorted(x.upper() for x in xfps)
    if in_descriptor != configured:
        raise QuorumConfigError(
            f"its keys' fingerprints are {', '.join(in_descriptor)} but the signers' xfps are "
            f"{', '.join(configured)}", hint="each signer's xfp must be one key of the descriptor")
    return wallet


def load_policy(path: Path) -> dict:
    """The HSM policy file, validated offline as the device would validate it."""
    from backends.coldcard.hsm import HsmError, HsmPolicy
    from backends.coldcard.hsm.policy import MAX_POLICY_BYTES
    from backends.outside_input import load_json

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuorumConfigError(f"quorum.policy_file: cannot read {path}: {exc}") from None
    try:
        policy = load_json(text, max_bytes=MAX_POLICY_BYTES, what="policy")
        HsmPolicy.from_json(policy)
    except ValueError as exc:
        raise QuorumConfigError(f"quorum.policy_file: {path} is not JSON ({exc})") from None
    except HsmError as exc:
        raise QuorumConfigError(f"quorum.policy_file: {path} would be refused by a Coldcard: {exc}") from None
    if not text.isascii():
        # the device repeats the policy (notes, ...) in its status, which ckcc reads as ASCII
        raise QuorumConfigError(f"quorum.policy_file: {path} holds non-ASCII text; the signers' status "
                                "could not be read", hint="write the notes in ASCII")
    return policy


def coldcard_wallet_file(spec: QuorumSpec) -> str:
    """The Coldcard multisig wallet file for the quorum's descriptor, to enrol on a device
    that lacks it (``Name``/``Policy``/``Derivation``/``Format`` and one line per key)."""
    wallet = spec.wallet
    paths = {k.origin.path_str() for k in wallet.keys}
    lines = [f"# custody-tui quorum {spec.wallet_name}", f"Name: {spec.wallet_name}",
             f"Policy: {wallet.threshold} of {len(wallet.keys)}", "Format: P2WSH"]
    if len(paths) == 1:
        lines.insert(3, f"Derivation: {paths.pop()}")
        lines.append("")
        lines += [f"{k.origin.fingerprint.hex().upper()}: {k.xpub.to_base58()}" for k in wallet.keys]
    else:
        lines.append("")
        for k in wallet.keys:
            lines += [f"Derivation: {k.origin.path_str()}",
                      f"{k.origin.fingerprint.hex().upper()}: {k.xpub.to_base58()}"]
    return "\n".join(lines) + "\n"
