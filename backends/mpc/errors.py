"""The one error family of threshold signing and key generation.

Every error names *which check* failed and, where a participant is to blame, *who*
(a participant or signer index, or the coordinator). None carries secret material:
messages are built from indices, lengths and check names only.
"""

from __future__ import annotations

from backends.errors import CustodyError


class MpcError(CustodyError):
    """A threshold-signing input or contribution was refused.

    ``check`` is a short stable name of the failed check (tests and callers match on it);
    ``participant`` is the blamed participant's index when one is to blame, else None.
    """

    check: str = "mpc"
    participant: int | None = None

    def __init__(self, message: str, *, check: str, participant: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.check = check
        self.participant = participant

    def __repr__(self) -> str:
        return f"{type(self).__name__}(check={self.check!r}, participant={self.participant!r})"


class InvalidInputError(MpcError):
    """Our own input is malformed or inconsistent (the spec's plain 'fail')."""


class InvalidContributionError(MpcError):
    """Another party sent something invalid; ``participant`` names them (None: the coordinator).

    ``contrib`` names what was bad, in the spec's words (``pubnonce``, ``aggnonce``, ``psig``, ...).
    """

    def __init__(self, participant: int | None, contrib: str, reason: str) -> None:
        who = "the coordinator" if participant is None else f"participant {participant}"
        super().__init__(f"invalid {contrib} from {who}: {reason}", check=contrib, participant=participant)
        self.contrib = contrib


class NonceReuseError(MpcError):
    """A secret nonce was offered to signing a second time."""

    def __init__(self) -> None:
        super().__init__(
            "this secret nonce was already used to sign; signing again with it would reveal the key share",
            check="secnonce_reuse",
            hint="start a new signing round with a fresh nonce",
        )
