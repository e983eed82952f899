"""The one base class of every expected failure.

A ``CustodyError`` carries a message an operator can act on. It never carries secret
material: callers pass labels, paths and reasons, never passphrases, keys or seeds.
"""


class CustodyError(Exception):
    """An expected failure with an operator-facing message."""

    #: a short hint of what to do next, shown under the message when present
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:  # noqa: D105 - the message alone, never the args' repr
        return self.args[0] if self.args else self.__class__.__name__


def os_error_message(exc: OSError) -> str:
    """What an operator needs from a failed file operation: the path and the reason."""
    reason = exc.strerror or type(exc).__name__
    path = exc.filename2 or exc.filename  # a rename's target is the path the operator named
    if path is None:
        return reason
    return f"cannot use {path}: {reason}"
