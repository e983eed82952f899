"""Typed failures of the Coldcard client. Each keeps the device's own words in
``device_text`` (what came after ``err_``/``fram``, or the HSM's ``last_refusal``)."""

from __future__ import annotations

from backends.errors import CustodyError


class ColdcardError(CustodyError):
    """A Coldcard operation failed; ``device_text`` is what the device said, if anything."""

    def __init__(self, message: str, *, device_text: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.device_text = device_text


class BadRequest(ColdcardError):
    """The request breaks the USB protocol's limits; refused before it reaches the device."""


class DeviceUnreachable(ColdcardError):
    """No device at that USB serial or socket path, or it stopped answering."""


class DeviceError(ColdcardError):
    """The device answered ``err_<text>``."""


class NotAllowedInHsm(DeviceError):
    """``Not allowed in HSM mode``: the command is outside the HSM whitelist or policy."""


class HsmCommandsDisabled(DeviceError):
    """``HSM commands disabled``: the device's hsmcmd setting is off."""


class LinkError(ColdcardError):
    """A framing or link-encryption failure (``fram``); reconnecting usually clears it."""


class DeviceBusy(ColdcardError):
    """Another approval is on the device's screen."""


class SigningRefused(ColdcardError):
    """The operator or the HSM policy refused; ``reason`` is the device's last_refusal."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message, device_text=reason)
        self.reason = reason


class SigningTimeout(ColdcardError):
    """No final answer within the time allowed (nobody confirmed on the device?)."""


class ChecksumMismatch(ColdcardError):
    """An upload or download did not arrive intact."""


class DeviceStateUnreadable(ColdcardError):
    """The emulator's saved state is not a file it wrote; it is left as it is."""
