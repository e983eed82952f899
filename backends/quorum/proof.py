"""Proof of control: ``threshold`` signers sign the same challenge text (BIP-137, each on
its configured message path, p2wpkh address); anyone can check each signature with the
keystore's BIP-137 verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from backends.errors import CustodyError

from .errors import SpendRefused
from .events import Event, Step
from .gather import ending_in_failed, gather, live_signers

if TYPE_CHECKING:
    from .coordinator import Coordinator


@dataclass(frozen=True)
class MessageSignature:
    signer: str
    path: str
    address: str
    signature: str  # base64, BIP-137


@dataclass(frozen=True)
class Proven:
    """``threshold`` signers signed ``text``; every signature was verified before this."""

    text: str
    signatures: tuple[MessageSignature, ...]


def prove_control(coordinator: Coordinator, text: str) -> Iterator[Event | Proven]:
    return ending_in_failed(_audited(coordinator, text))


def _audited(coordinator: Coordinator, text: str):
    with coordinator.audited("quorum", "sign-message", text=text) as result:
        proven = yield from _sign(coordinator, text)
        result["signers"] = [s.signer for s in proven.signatures]
    return proven


def _sign(coordinator: Coordinator, text: str):
    from backends.coldcard.client import AF_P2WPKH
    from backends.keystore import verify_message

    spec = coordinator.spec
    if not text.isascii() or not text.strip():
        raise CustodyError("a Coldcard signs ASCII text only, and the text must not be empty")
    live, not_live = yield from live_signers(coordinator)

    def ask(name: str) -> MessageSignature:
        path = spec.message_path_of(spec.signer(name))
        signed = coordinator.clients[name].sign_message(text, path, addr_fmt=AF_P2WPKH,
                                                        timeout=spec.sign_timeout_seconds)
        signature = signed.signature_base64
        if not verify_message(signed.address, text, signature, spec.network):
            raise CustodyError(f"{name}'s signature does not verify for {signed.address}")
        return MessageSignature(name, path, signed.address, signature)

    yield Step("sign", f"asking {', '.join(live[:spec.threshold])} to sign the message")
    signed: dict[str, MessageSignature] = {}
    problems: dict[str, str] = {}
    yield from gather(live, spec.threshold, ask, signed, problems)
    if len(signed) < spec.threshold:
        raise SpendRefused(f"{len(signed)} of {spec.threshold} signers signed the message",
                           refusals={**not_live, **problems})
    return Proven(text, tuple(signed[n] for n in sorted(signed)))
