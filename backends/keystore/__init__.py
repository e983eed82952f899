"""Encrypted secrets at rest: BIP-39 seeds and typed raw secrets, BIP-32, BIP-137, unlock TTL.

This package owns the keystore directory (normally ``<data dir>/keystore``, mode 0700) and
everything secret in custody-tui. It is pure Python and never imports textual or rich.

Files
-----
``keystore.hdr``
    The keystore header: the keystore-wide Argon2id salt and cost, and a 32-byte constant
    sealed with the derived key (the passphrase verifier).
``<label>.entry``
    One file per entry, mode 0600, written atomically (temp file, fsync, rename).
``keystore.hdr.next``
    Present only while (or after a crash during) ``change_passphrase``.

Both file kinds share a 57-byte prefix; integers are big-endian::

    0   4   magic  b"CTKS" (header) | b"CTKE" (entry)
    4   1   format version, 1
    5   16  Argon2id salt            (keystore-wide; copied into every entry)
    21  4   Argon2id opslimit, u32
    25  8   Argon2id memlimit, u64 bytes
    33  24  XChaCha20-Poly1305 nonce (random per write)

An entry continues with ``u32 N``, ``N`` bytes of public metadata (canonical JSON:
label, kind, fingerprint, created_at, public{...}, e.g. ``words`` for a mnemonic) and the
ciphertext || 16-byte tag of the payload. The header continues with the sealed verifier.
The AEAD's associated data is every byte before the ciphertext, so any change to the magic,
version, KDF settings, nonce or metadata is detected when the entry is opened. The
metadata is readable without the passphrase, which is how ``entries()`` lists a locked
keystore. An entry's label must match its file name (swapped files are detected).

Payloads: a mnemonic entry holds ``words + "\\n" + BIP-39 passphrase`` (UTF-8); a raw
entry holds the secret bytes. Fingerprints: the BIP-32 master key fingerprint (xfp) for a
mnemonic; for raw secrets, 8 hex of SHA-256 over a domain tag, the kind and the secret.

Keys and unlocking
------------------
Key = Argon2id(NFKD(passphrase), salt, opslimit, memlimit), 32 bytes. ``unlock`` runs it
once for the header and checks the verifier (a tampered header reads as a wrong
passphrase). Entries sealed under other settings (only after an interrupted passphrase
change) get their key derived in the same unlock. Keys are held in ``bytearray``s and
zeroed by ``lock()`` or when the unlock TTL runs out. A wrong passphrase or a tampered
file raises a typed error and nothing on disk changes.

``change_passphrase`` decrypts every entry first, writes ``keystore.hdr.next``, rewrites
each entry, then renames the new header into place. After a crash each file opens with
the old or the new passphrase; ``unlock`` accepts either, and repeating
``change_passphrase(old, new)`` completes the change.
"""

from backends.keystore.addresses import (
    NETWORK_NAMES,
    DerivedAddress,
    ScriptType,
    address_for,
)
from backends.keystore.bip32 import format_path, parse_extended_key, parse_path
from backends.keystore.bip39 import generate_mnemonic, mnemonic_to_seed, validate_mnemonic
from backends.keystore.crypto import KdfParams
from backends.keystore.entries import EntryInfo, EntryKind, EntryListing
from backends.keystore.env import PASSPHRASE_ENV, passphrase_from_env
from backends.keystore.errors import (
    EntryExists,
    EntryNotFound,
    InvalidAddress,
    InvalidExtendedKey,
    InvalidKdfParams,
    InvalidLabel,
    InvalidMnemonic,
    InvalidPassphrase,
    InvalidPath,
    InvalidSecret,
    KeystoreAlreadyInitialized,
    KeystoreCorrupt,
    KeystoreError,
    KeystoreLocked,
    KeystoreNotInitialized,
    UnsupportedNetwork,
    UnsupportedScript,
    WrongEntryKind,
    WrongPassphrase,
)
from backends.keystore.messages import (
    malformed_signature_reason,
    message_hash,
    sign_message_with_key,
    verify_message,
)
from backends.keystore.store import Keystore

__all__ = [
    "NETWORK_NAMES",
    "PASSPHRASE_ENV",
    "DerivedAddress",
    "EntryExists",
    "EntryInfo",
    "EntryKind",
    "EntryListing",
    "EntryNotFound",
    "InvalidAddress",
    "InvalidExtendedKey",
    "InvalidKdfParams",
    "InvalidLabel",
    "InvalidMnemonic",
    "InvalidPassphrase",
    "InvalidPath",
    "InvalidSecret",
    "KdfParams",
    "Keystore",
    "KeystoreAlreadyInitialized",
    "KeystoreCorrupt",
    "KeystoreError",
    "KeystoreLocked",
    "KeystoreNotInitialized",
    "ScriptType",
    "UnsupportedNetwork",
    "UnsupportedScript",
    "WrongEntryKind",
    "WrongPassphrase",
    "address_for",
    "format_path",
    "generate_mnemonic",
    "message_hash",
    "mnemonic_to_seed",
    "parse_extended_key",
    "parse_path",
    "sign_message_with_key",
    "validate_mnemonic",
    "verify_message",
    "malformed_signature_reason",
]
