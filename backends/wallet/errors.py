"""Typed failures of the wallet layer: each names the culprit and what to do about it.

Messages carry positions, labels and public data (addresses, fingerprints, amounts); never a
private key, seed or a descriptor text that may hold one.
"""

from backends.errors import CustodyError


class WalletError(CustodyError):
    """Base class of every expected failure in ``backends.wallet``."""


class UnknownNetwork(WalletError):
    """A network name that is none of main, test, signet, regtest."""


class NetworkMismatch(WalletError):
    """An address, key or descriptor that belongs to another network."""


class DescriptorError(WalletError):
    """A descriptor that cannot be parsed or is of a form the wallet does not support."""


class DescriptorChecksumError(DescriptorError):
    """A descriptor whose ``#checksum`` does not match its text (BIP-380)."""

    def __init__(self, expected: str, given: str) -> None:
        super().__init__(
            f"descriptor checksum mismatch: expected #{expected}, given #{given}",
            hint="the descriptor text was altered or mistyped; copy it again from its source",
        )
        self.expected = expected
        self.given = given


class AddressError(WalletError):
    """An address that does not decode: bad checksum, bad length, unknown form."""


class PsbtError(WalletError):
    """Base class of PSBT failures."""


class PsbtFormatError(PsbtError):
    """Bytes that are not a valid BIP-174 PSBT."""


class PsbtVersionError(PsbtFormatError):
    """A PSBT of a version other than 0 (PSBTs are exchanged as version 0)."""


class PsbtMismatch(PsbtError):
    """PSBTs that do not describe the same unsigned transaction."""


class PsbtSignerCheckError(PsbtError):
    """An input whose data fails the checks a signer must make (BIP-174, Signer)."""


class PsbtIncomplete(PsbtError):
    """A PSBT that cannot be finalized or extracted yet (missing signatures)."""


class PsbtSignatureError(PsbtError):
    """A partial signature that does not verify against its input."""


class PsbtBuildError(PsbtError):
    """Inputs or outputs that cannot make a PSBT (wrong coin, dust, overspend)."""


class CannotFund(WalletError):
    """Coin selection found no set of coins that meets the policy; carries the reason."""

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        super().__init__(f"cannot fund this spend: {reason}", hint=hint)
        self.reason = reason
