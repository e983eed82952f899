"""Typed failures of policy operations. A policy the firmware would refuse is raised as
the HSM engine's own :class:`~backends.coldcard.hsm.HsmPolicyError` (the device's words);
these are the failures that are the coordinator's, not the device's."""

from __future__ import annotations

from backends.errors import CustodyError


class PolicyError(CustodyError):
    """A policy operation could not be done; the message says what to do."""


class PolicyFileError(PolicyError):
    """A policy file that cannot be read, or is not a JSON policy at all."""


class WrongNetworkAddress(PolicyError):
    """A whitelist entry the firmware would take that is not an address of our network."""


class NotTwoTier(PolicyError):
    """A policy whose rules are not the automated + surge shape the editor edits."""


class PushFailed(PolicyError):
    """No signer took the policy: nothing changed. ``outcomes`` says why, per signer."""

    def __init__(self, message: str, *, outcomes: list, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.outcomes = list(outcomes)


class EnrolmentError(PolicyError):
    """A TOTP enrolment that could not be done (never carries the secret)."""
