"""The ceremony node's error family: every refusal says which ceremony, and when another
party is to blame, names them (roster name and key prefix); none carries secret material."""

from __future__ import annotations

from backends.errors import CustodyError


class CeremonyError(CustodyError):
    """A ceremony action was refused or could not be done."""


class NodeNotInitialized(CeremonyError):
    """The node's data dir holds no node yet."""


class UnknownCeremony(CeremonyError):
    """No ceremony with this id is known to the node."""


class StaleNode(CeremonyError):
    """The board holds posts by this node that its data dir does not know: the data dir is
    an older copy (restored from a backup). Signing is refused until ``recover`` has
    re-read the node's own history from the board and destroyed every stale nonce."""


class NonceRefused(CeremonyError):
    """A secret nonce would be used for a second, different signing session."""


class CeremonyFailed(CeremonyError):
    """A party deviated from the protocol; ``culprit`` names them when known."""

    def __init__(self, message: str, *, culprit: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.culprit = culprit


class MessageRefused(CeremonyError):
    """A ceremony message (a post body or an imported file) is malformed."""
