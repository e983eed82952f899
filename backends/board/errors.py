"""The board's error family: every refusal names the post (ceremony, phase, poster) it is
about, so an operator knows whom to ask; none carries secret material."""

from __future__ import annotations

from backends.errors import CustodyError


class BoardError(CustodyError):
    """The board could not be read, written or synchronised."""


class PostRejected(BoardError):
    """A post on the board failed a check; ``poster`` names who it claims to be from
    (the roster name when known, else the key's hex prefix), ``path`` where it lies."""

    def __init__(self, message: str, *, path: str, poster: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.poster = poster


class UnknownPoster(PostRejected):
    """The post's key is not on the roster of host keys this node trusts."""


class BadSignature(PostRejected):
    """The post's signature does not verify under its poster's host key (forged or tampered)."""


class MalformedPost(PostRejected):
    """The file is not a post in the documented layout (size, JSON, fields, place)."""


class PostConflict(BoardError):
    """A different post already sits at the path of this one (a post is written once)."""


class BoardRewound(BoardError):
    """The remote's history no longer contains the head this node last saw: someone
    force-pushed or deleted the branch. Nothing is fetched into the node's view."""

    def __init__(self, message: str, *, seen: str, now: str | None) -> None:
        super().__init__(message, hint="Compare the board with the other keyholders before trusting it again; "
                         "posts this node has seen are kept in its local copy.")
        self.seen = seen
        self.now = now


class BoardSyncError(BoardError):
    """Fetch or push failed for a reason other than a race with another node."""
