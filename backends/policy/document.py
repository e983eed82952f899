"""A policy document as an operator hands it over: read within bounds, validated by the
HSM engine (the firmware's rules and words), then checked against what only the
coordinator knows: the network its whitelist must pay on, and the wallet it signs for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from backends.coldcard.hsm import HsmPolicy
from backends.coldcard.hsm.policy import MAX_POLICY_BYTES
from backends.outside_input import load_json

from .errors import PolicyFileError, WrongNetworkAddress


def read_policy_file(path: Path) -> bytes:
    """The file's bytes, refused unread beyond the size a device takes (64 KiB)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise PolicyFileError(f"cannot read the policy file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyFileError(f"the policy file {path} is larger than {MAX_POLICY_BYTES // 1024} KiB",
                              hint="a policy with every list full is about 10 KiB; is this the right file?")
    return data


def parse_policy(text: bytes | str, *, network: str, wallets: Sequence[str] | None = None) -> dict:
    """The policy JSON from an uploaded file, validated as :func:`check_policy` does.

    A file the device could not parse is refused with the device's ``JSON parse fail``."""
    HsmPolicy.from_text(text, wallets=wallets)  # the firmware's texts, JSON errors included
    policy = load_json(text, max_bytes=MAX_POLICY_BYTES, what="policy")
    check_policy(policy, network=network, wallets=wallets)
    return policy


def check_policy(policy: object, *, network: str, wallets: Sequence[str] | None = None) -> HsmPolicy:
    """Validate ``policy`` exactly as a Coldcard does (raises ``HsmPolicyError`` with the
    device's text), then check every whitelist entry is an address of ``network`` (a
    Coldcard takes any network's address, and a foreign one would never match a spend).

    ``wallets``: the multisig wallet names the signers hold (a rule's ``wallet`` must be
    one); ``None`` skips that check."""
    checked = HsmPolicy.from_json(policy, wallets=wallets)
    from backends.wallet import parse_address
    from backends.wallet.errors import WalletError

    for rule in checked.rules:
        for address in rule.whitelist:
            try:
                parse_address(address, network)
            except WalletError as exc:
                raise WrongNetworkAddress(
                    f"rule #{rule.index} whitelist: {exc}",
                    hint=f"the quorum pays on {network}; list {network} addresses only") from None
    if not _ascii(policy):
        # the device repeats the policy (notes, ...) in its status, which ckcc reads as ASCII
        raise PolicyFileError("the policy holds non-ASCII text; the signers' status could not be read",
                              hint="write the notes in ASCII")
    return checked


def policy_hash(policy: dict) -> str:
    """The hash a Coldcard armed with ``policy`` reports (``hsts`` ``policy_hash``)."""
    return HsmPolicy.from_json(policy).hash()


def _ascii(policy: object) -> bool:
    import json

    return json.dumps(policy, ensure_ascii=False).isascii()
