"""Byte layout of the keystore header file and of each entry file (format version 1).

Both files start with the same fixed 57-byte prefix; all integers are big-endian::

    offset size field
    0      4    magic: b"CTKS" (keystore header) or b"CTKE" (entry)
    4      1    format version (1)
    5      16   Argon2id salt
    21     4    Argon2id opslimit (u32)
    25     8    Argon2id memlimit in bytes (u64)
    33     24   XChaCha20-Poly1305 nonce

An entry continues with::

    57     4    N = length of the public metadata (u32, at most 64 KiB)
    61     N    public metadata: canonical JSON (sorted keys, no spaces, ASCII)
    61+N   ...  ciphertext of the secret payload || 16-byte Poly1305 tag

The keystore header continues with the sealed 32-byte passphrase verifier.

The associated data of the AEAD is every byte before the ciphertext, so a change to the
magic, version, salt, cost, nonce or metadata makes decryption fail.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

from backends.keystore.crypto import (
    NONCE_BYTES,
    SALT_BYTES,
    TAG_BYTES,
    KdfParams,
)
from backends.keystore.errors import InvalidKdfParams, KeystoreCorrupt
from backends.outside_input import load_json

HEADER_MAGIC = b"CTKS"
ENTRY_MAGIC = b"CTKE"
FORMAT_VERSION = 1

_PREFIX = struct.Struct(f">4sB{SALT_BYTES}sIQ{NONCE_BYTES}s")
PREFIX_BYTES = _PREFIX.size  # 57
_LENGTH = struct.Struct(">I")
METADATA_MAX_BYTES = 64 * 1024

VERIFIER_PLAINTEXT = b"custody-tui keystore verifier v1"  # 32 bytes, not secret


@dataclass(frozen=True, slots=True)
class KdfStamp:
    """The salt and cost a file's key was derived with; hashable, so keys cache by it."""

    salt: bytes
    params: KdfParams


@dataclass(frozen=True, slots=True)
class SealedFile:
    """A parsed header or entry: ``associated`` is the AEAD associated data."""

    stamp: KdfStamp
    nonce: bytes
    associated: bytes
    sealed: bytes
    metadata: dict | None = None


def canonical_json(metadata: dict) -> bytes:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _prefix(magic: bytes, stamp: KdfStamp, nonce: bytes) -> bytes:
    return _PREFIX.pack(
        magic, FORMAT_VERSION, stamp.salt, stamp.params.opslimit, stamp.params.memlimit, nonce
    )


def header_associated(stamp: KdfStamp, nonce: bytes) -> bytes:
    return _prefix(HEADER_MAGIC, stamp, nonce)


def entry_associated(stamp: KdfStamp, nonce: bytes, metadata: dict) -> bytes:
    body = canonical_json(metadata)
    if len(body) > METADATA_MAX_BYTES:
        raise ValueError("entry metadata is larger than 64 KiB")
    return _prefix(ENTRY_MAGIC, stamp, nonce) + _LENGTH.pack(len(body)) + body


def _parse_prefix(data: bytes, magic: bytes, path: Path) -> tuple[KdfStamp, bytes]:
    if len(data) < PREFIX_BYTES:
        raise KeystoreCorrupt(f"{path} is truncated ({len(data)} bytes)")
    found_magic, version, salt, opslimit, memlimit, nonce = _PREFIX.unpack_from(data)
    if found_magic != magic:
        raise KeystoreCorrupt(f"{path} is not a custody-tui keystore file (bad magic)")
    if version != FORMAT_VERSION:
        raise KeystoreCorrupt(
            f"{path} has format version {version}; this build reads version {FORMAT_VERSION}",
            hint="Open it with the custody-tui release that wrote it.",
        )
    try:
        params = KdfParams(opslimit=opslimit, memlimit=memlimit)
    except InvalidKdfParams:
        raise KeystoreCorrupt(f"{path} has out-of-range Argon2id settings") from None
    return KdfStamp(salt=salt, params=params), nonce


def parse_header(data: bytes, path: Path) -> SealedFile:
    stamp, nonce = _parse_prefix(data, HEADER_MAGIC, path)
    sealed = data[PREFIX_BYTES:]
    if len(sealed) != len(VERIFIER_PLAINTEXT) + TAG_BYTES:
        raise KeystoreCorrupt(f"{path} has a verifier of the wrong length")
    return SealedFile(stamp, nonce, data[:PREFIX_BYTES], sealed)


def parse_entry(data: bytes, path: Path) -> SealedFile:
    stamp, nonce = _parse_prefix(data, ENTRY_MAGIC, path)
    metadata_start = PREFIX_BYTES + _LENGTH.size
    if len(data) < metadata_start:
        raise KeystoreCorrupt(f"{path} is truncated ({len(data)} bytes)")
    (length,) = _LENGTH.unpack_from(data, PREFIX_BYTES)
    metadata_end = metadata_start + length
    if length > METADATA_MAX_BYTES or len(data) < metadata_end + TAG_BYTES:
        raise KeystoreCorrupt(f"{path} is truncated or has a bad metadata length")
    try:
        raw = data[metadata_start:metadata_end].decode("ascii")
        metadata = load_json(raw, max_bytes=METADATA_MAX_BYTES, what="entry metadata")
    except (UnicodeDecodeError, ValueError):
        raise KeystoreCorrupt(f"{path} has unreadable metadata") from None
    if not isinstance(metadata, dict):
        raise KeystoreCorrupt(f"{path} has unreadable metadata")
    return SealedFile(stamp, nonce, data[:metadata_end], data[metadata_end:], metadata)


def encode_file(associated: bytes, sealed: bytes) -> bytes:
    return associated + sealed
