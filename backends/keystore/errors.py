"""The keystore's typed failures.

Every message names what the operator can act on (a label, a file, a path, a word
position) and never carries secret material: no passphrase, mnemonic word, seed or key.
"""

from __future__ import annotations

from backends.errors import CustodyError


class KeystoreError(CustodyError):
    """Base of every keystore failure."""


class KeystoreNotInitialized(KeystoreError):
    """No keystore header exists in the directory yet."""


class KeystoreAlreadyInitialized(KeystoreError):
    """``initialize`` was called on a directory that already holds a keystore."""


class KeystoreLocked(KeystoreError):
    """The operation needs the keystore unlocked (or the unlock TTL has run out)."""


class WrongPassphrase(KeystoreError):
    """The passphrase does not open the keystore or the entry."""


class KeystoreCorrupt(KeystoreError):
    """A keystore file is truncated, tampered with, or of an unknown format or version."""


class InvalidPassphrase(KeystoreError):
    """A new passphrase is unacceptable (for example, empty)."""


class InvalidKdfParams(KeystoreError):
    """Argon2id cost settings outside the accepted range."""


class InvalidLabel(KeystoreError):
    """A label is outside the safe charset that lets it become a file name."""


class EntryNotFound(KeystoreError):
    """No entry carries this label."""


class EntryExists(KeystoreError):
    """An entry with this label already exists."""


class WrongEntryKind(KeystoreError):
    """The operation does not apply to this kind of entry (e.g. an xpub of a TOTP secret)."""


class InvalidSecret(KeystoreError):
    """Raw secret bytes or their public metadata are unacceptable for their kind."""


class InvalidMnemonic(KeystoreError):
    """A BIP-39 mnemonic has a wrong word count, an unknown word or a bad checksum."""


class InvalidPath(KeystoreError):
    """A BIP-32 derivation path cannot be parsed."""


class InvalidExtendedKey(KeystoreError):
    """A serialized BIP-32 extended key (xpub/xprv) is malformed."""


class UnsupportedNetwork(KeystoreError):
    """The network name is not one of main, test, signet, regtest."""


class UnsupportedScript(KeystoreError):
    """The address script type is unknown, or not usable for this operation."""


class InvalidAddress(KeystoreError):
    """An address cannot be decoded for the given network."""
