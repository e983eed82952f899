"""Typed failures of the quorum coordinator."""

from __future__ import annotations

from backends.errors import CustodyError


class QuorumError(CustodyError):
    """A quorum operation failed; the message says what to do."""


class QuorumConfigError(QuorumError):
    """The quorum's configuration is wrong (the message names the key)."""


class UnknownSigner(QuorumError):
    """An operator named a signer the configuration does not have."""


class SpendRefused(QuorumError):
    """A spend could not gather enough signatures; nothing was broadcast.

    ``refusals`` maps each signer asked (or skipped) to its reason, in the device's words
    where the device gave any."""

    def __init__(self, message: str, *, refusals: dict[str, str], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.refusals = dict(refusals)


class GateRefused(QuorumError):
    """A coordinator gate (velocity cap, second factor, ...) refused the spend before any
    device was asked."""
