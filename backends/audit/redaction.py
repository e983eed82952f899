"""Keep secrets out of the audit log.

Details are redacted *before* they are hashed and stored, for three reasons: the log is
exported and handed to auditors, so it must never hold a secret; a hash over a secret
would let anyone holding the log brute-force a low-entropy one (a PIN, a passphrase);
and redacting after hashing would break verification. A caller that passes a secret by
mistake therefore loses only that value, never the record of the action.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "<redacted>"

# Compared after lower-casing and turning "-", " " and "." into "_".
SECRET_KEY_PARTS = (
    "passphrase",
    "password",
    "mnemonic",
    "seed",
    "secret",
    "private",
    "privkey",
    "xprv",
    "tprv",
    "nsec",
    "wif",
)
SECRET_KEYS_EXACT = frozenset({"pin", "words", "seed_words", "entropy", "totp", "otp_key", "api_key"})

# Values that are secret whatever key they are filed under (an extended private key or a
# nostr secret key pasted into a free-text field).
SECRET_VALUE_PREFIXES = ("xprv", "tprv", "yprv", "zprv", "uprv", "vprv", "nsec1")
# The same keys anywhere inside a value: in a descriptor, or quoted in an error message;
# and the secret parameter of a URL (a bunker:// pairing URL, an otpauth:// enrolment).
_EMBEDDED_SECRET = re.compile(
    r"[xtyzuvYZUV]prv[1-9A-HJ-NP-Za-km-z]{100,}|nsec1[02-9ac-hj-np-z]{50,}|[?&]secret=[^&\s]", re.IGNORECASE
)


def is_secret_key(key: str) -> bool:
    normalized = key.lower().replace("-", "_").replace(" ", "_").replace(".", "_")
    if normalized in SECRET_KEYS_EXACT or any(part in normalized for part in SECRET_KEY_PARTS):
        return True
    # "pin" only as a whole word: "pin_code" and "user_pin" are secrets, "spinner" is not.
    return "pin" in normalized.split("_")


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-looking keys and values replaced by ``<redacted>``."""
    # any Mapping, not only dict: a read-only one would otherwise be stored as its str()
    if isinstance(value, Mapping):
        return {
            key: REDACTED if is_secret_key(str(key)) else redact(item) for key, item in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(item) for item in value]
    if isinstance(value, str) and (
        value.strip().lower().startswith(SECRET_VALUE_PREFIXES) or _EMBEDDED_SECRET.search(value)
    ):
        return REDACTED
    return value
