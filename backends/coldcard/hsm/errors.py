"""The typed failures of the HSM policy engine, each carrying the firmware's own words."""

from __future__ import annotations

from backends.errors import CustodyError


class HsmError(CustodyError):
    """Base of every HSM policy engine failure. ``str()`` is the device's text."""


class HsmPolicyError(HsmError):
    """A policy the device would not accept.

    ``reason`` is the validation message; ``where`` the firmware ``file.py:line`` that
    raised it (as the device shows it), or ``None`` for the errors the device reports bare
    (``No existing policy``). ``str()`` is what follows ``err_`` on the wire, before the
    80-byte cut that the USB layer applies to every error.
    """

    def __init__(self, reason: str, where: str | None = None) -> None:
        self.reason = reason
        self.where = where
        text = reason if where is None else f"HSM Policy invalid: {where}: {reason}"
        super().__init__(text, hint="fix the policy JSON and upload it again")


class HsmRefusal(HsmError):
    """The policy refused a request; ``str()`` is exactly the device's ``last_refusal``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class HsmRequestError(HsmError):
    """A request the device answers with ``err_<text>`` (not a refusal; not counted)."""


class UserError(HsmError):
    """A user-management request the device answers with ``err_<text>``."""
