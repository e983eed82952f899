"""BIP-39 mnemonics (English wordlist): generation, validation, seed.

Validation errors say which check failed and at which position, never which word, so a
mistyped phrase does not end up in a log or on screen.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata

from embit.bip39 import mnemonic_from_bytes
from embit.wordlists.bip39 import WORDLIST

from backends.keystore.crypto import nfkd_utf8
from backends.keystore.errors import InvalidMnemonic

WORD_COUNTS = (12, 15, 18, 21, 24)
_WORD_INDEX = {word: index for index, word in enumerate(WORDLIST)}
_PBKDF2_ROUNDS = 2048


def normalize_mnemonic(mnemonic: str) -> str:
    """NFKD, lower case, single spaces between words (BIP-39 §From mnemonic to seed)."""
    return " ".join(unicodedata.normalize("NFKD", mnemonic).lower().split())


def generate_mnemonic(words: int = 12) -> str:
    if words not in (12, 24):
        raise InvalidMnemonic(f"a new mnemonic has 12 or 24 words, not {words}")
    return mnemonic_from_bytes(bytearray(os.urandom(words * 4 // 3)))


def validate_mnemonic(mnemonic: str) -> str:
    """Return the normalised mnemonic, or raise InvalidMnemonic without echoing words."""
    words = normalize_mnemonic(mnemonic).split(" ")
    if len(words) not in WORD_COUNTS:
        raise InvalidMnemonic(
            f"a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words; this one has {len(words)}"
        )
    bits = 0
    for position, word in enumerate(words, start=1):
        index = _WORD_INDEX.get(word)
        if index is None:
            raise InvalidMnemonic(
                f"word {position} of {len(words)} is not in the BIP-39 English wordlist",
                hint="Check the spelling of that word against your backup.",
            )
        bits = (bits << 11) | index
    checksum_bits = len(words) // 3
    entropy_bits = len(words) * 11 - checksum_bits
    entropy = (bits >> checksum_bits).to_bytes(entropy_bits // 8, "big")
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    if bits & ((1 << checksum_bits) - 1) != expected:
        raise InvalidMnemonic(
            "the mnemonic's checksum does not match",
            hint="A word is wrong or the words are out of order.",
        )
    return " ".join(words)


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytearray:
    """PBKDF2-HMAC-SHA512(mnemonic, "mnemonic" + passphrase, 2048) → 64-byte seed."""
    normalized = nfkd_utf8(mnemonic, "the mnemonic")
    salt = nfkd_utf8("mnemonic" + passphrase, "the BIP-39 passphrase")
    return bytearray(hashlib.pbkdf2_hmac("sha512", normalized, salt, _PBKDF2_ROUNDS, 64))
