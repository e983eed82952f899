"""The mint's typed failures.

Messages name what the operator (or the wallet calling the mint) can act on: a length, a
denomination, a deposit reference, a note's hash. They never carry a private key, a blinding
factor or anything that links a note to its issuance.
"""

from __future__ import annotations

from backends.errors import CustodyError


class MintError(CustodyError):
    """Base of every expected failure in ``backends.mint``."""


class InvalidBlindInput(MintError):
    """A blinded message, signature, key or message that RFC 9474 rejects (wrong length,
    a value not below the modulus, a message that cannot be blinded)."""


class InvalidSignature(MintError):
    """A signature that does not verify under the mint's public key."""


class SigningFailure(MintError):
    """The private operation produced a value that does not verify; nothing was released."""


class NativeCryptoUnavailable(MintError):
    """OpenSSL 3's libcrypto (the one CPython's ssl module loads) cannot be used."""


class MintKeyError(MintError):
    """A mint key that is missing, malformed, or not valid for the asked denomination."""


class UnknownDenomination(MintError):
    """A note amount that the mint's key set does not issue."""


class InvalidNote(MintError):
    """A note that is malformed or whose signature does not verify; nothing was spent."""


class NoteAlreadySpent(MintError):
    """A note presented after it was redeemed (each note is spendable exactly once)."""


class DepositError(MintError):
    """A deposit that cannot be registered or credited as asked."""


class IssuanceRefused(MintError):
    """Blind issuance refused: no credited deposit, or asked for more than it holds."""


class RedemptionError(MintError):
    """A redemption that cannot be created, approved, rejected or settled as asked."""


class OperatorAuthError(MintError):
    """An admin request whose operator signature is missing, unknown, stale, wrong or replayed."""


class LedgerError(MintError):
    """The mint's ledger file cannot be opened or is not a mint ledger."""


class NoMintHere(MintError):
    """A data directory without a mint ledger, asked something only a mint can answer."""
