"""Typed failures of the bunker: each says what the operator (or the device) can do."""

from __future__ import annotations

from backends.errors import CustodyError


class BunkerError(CustodyError):
    """Base of every bunker failure."""


class InvalidKey(BunkerError):
    """A secret or public key that is not a valid secp256k1 key."""


class InvalidEvent(BunkerError):
    """A nostr event with a wrong shape, id or signature."""


class DecryptionFailed(BunkerError):
    """A NIP-44 payload that cannot be opened (wrong version, size, MAC or padding)."""


class InvalidPlaintext(BunkerError):
    """A plaintext NIP-44 cannot carry (empty or too long)."""


class InvalidPermission(BunkerError):
    """A permission string that is not ``method`` or ``method:kind``."""


class InvalidBunkerUrl(BunkerError):
    """A ``bunker://`` URL that cannot be parsed."""


class TokenNotFound(BunkerError):
    """No token with that id."""


class TokenRefused(BunkerError):
    """A token does not allow a request (revoked, expired, used up, bound elsewhere, scope)."""


class InvalidTokenRequest(BunkerError):
    """An operator asked for a token that cannot exist (bad expiry, use count, key)."""


class RelayError(BunkerError):
    """A relay cannot be reached or refused an event."""


class RemoteSignerError(BunkerError):
    """A bunker answered a client's request with an error."""
