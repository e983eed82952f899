"""The one-time codes the device computes: HOTP/TOTP, password keys, the local PIN code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

#: PBKDF2 rounds for password users (``public_constants.PBKDF2_ITER_COUNT``)
PBKDF2_ITER_COUNT = 2500
#: a TOTP step is 30 s; the device trusts the counter the host sends
TOTP_STEP = 30


def calc_hotp(secret: bytes, counter: int, *, digits: int = 6) -> str:
    """RFC 4226 HOTP with HMAC-SHA1 and dynamic truncation (a TOTP is this at ``t // 30``)."""
    mac = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[19] & 15
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, number % 10**digits)


def totp_counter(unix_time: float) -> int:
    """The counter a host sends with a TOTP code (``int(time.time()) // 30``)."""
    return int(unix_time) // TOTP_STEP


def password_key(password: bytes, serial: str) -> bytes:
    """The 32-byte HMAC key of a password user, salted with the device serial (v4+)."""
    salt = hashlib.sha256(b"pepper" + serial.encode("ascii")).digest()
    return hashlib.pbkdf2_hmac("sha512", password, salt, PBKDF2_ITER_COUNT)[:32]


def calc_local_pincode(psbt_sha256: bytes, next_local_code: str) -> str:
    """The 6 digits the local operator types to confirm this PSBT (``ckcc.utils`` does the same)."""
    key = base64.b64decode(next_local_code)
    if len(psbt_sha256) != 32:
        raise ValueError("psbt_sha256 must be 32 bytes")
    digest = hmac.new(key, psbt_sha256, hashlib.sha256).digest()
    number = struct.unpack(">I", digest[-4:])[0] & 0x7FFFFFFF
    return "%06d" % (number % 1000000)


def b32encode(data: bytes) -> str:
    """Base32 without padding, as the device's ``ngu.codecs.b32_encode`` stores secrets."""
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))
