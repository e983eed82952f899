"""HSM users and their secrets, with the device's rules (``shared/users.py``).

Stored like the device's ``usr`` setting: ``{name: [auth_mode, base32(secret),
last_counter]}``, in one private JSON file. Counters survive a power cycle, which is what
makes a replayed TOTP code fail even after a reboot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.errors import UserError
from backends.coldcard.hsm.otp import b32decode, b32encode, calc_hotp, password_key
from backends.outside_input import load_json
from backends.fsutil import atomic_write

USER_AUTH_TOTP = 1
USER_AUTH_HOTP = 2
USER_AUTH_HMAC = 3
USER_AUTH_SHOW_QR = 0x80
MAX_NUMBER_USERS = 30
MAX_USERNAME_LEN = 16
#: 30 users of ~80 bytes each; a larger file is not one the engine wrote
MAX_USERS_FILE_BYTES = 64 * 1024
#: the simulator's serial; it salts password keys
SIMULATOR_SERIAL = "F1F1F1F1F1F1"
#: TOTP counters below this (the time the firmware code was written) are refused
MIN_TOTP_COUNTER = 52622505

_MODE_NAMES = {
    "totp": USER_AUTH_TOTP,
    "hotp": USER_AUTH_HOTP,
    "hmac": USER_AUTH_HMAC,
    "password": USER_AUTH_HMAC,
}


class UserInfo(NamedTuple):
    auth_mode: int
    secret: str  # base32, as stored
    last_counter: int

    def __repr__(self) -> str:  # the TOTP secret never reaches a log or a traceback
        return f"UserInfo(auth_mode={self.auth_mode}, secret=<hidden>, last_counter={self.last_counter})"


class UserStore:
    """The device's user table in ``state_dir``.

    ``random_bytes`` picks device-chosen secrets (inject a deterministic one in tests).
    After ``create(..., show_qr=True)``, :attr:`shown_qr` holds what the device would show
    as a QR code (an ``otpauth://`` URI, or the password); the reply is then empty.
    """

    FILENAME = "hsm-users.json"

    def __init__(
        self,
        state_dir: Path | None,
        *,
        serial: str = SIMULATOR_SERIAL,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        #: ``None``: the table lives in memory only (the coordinator's pre-flight, which
        #: judges with stand-in users and must keep nothing)
        self.path = Path(state_dir) / self.FILENAME if state_dir is not None else None
        self.serial = serial
        self._random_bytes = random_bytes
        self.shown_qr: str | None = None
        self._users: dict[str, list] = self._load()

    # -- queries ---------------------------------------------------------------------
    def list(self) -> list[str]:
        return sorted(self._users)

    def lookup(self, username: str) -> UserInfo | None:
        row = self._users.get(username)
        return UserInfo(*row) if row else None

    def __contains__(self, username: object) -> bool:
        return isinstance(username, str) and username in self._users

    def as_settings(self) -> dict[str, list]:
        """The ``usr`` setting as the device holds it."""
        return {name: list(row) for name, row in self._users.items()}

    # -- changes ---------------------------------------------------------------------
    def create(
        self,
        username: str,
        auth_mode: int | str,
        secret: bytes = b"",
        *,
        show_qr: bool = False,
    ) -> str:
        """Create a user; returns the device's reply text.

        That is the device-picked secret when ``secret`` is empty (base32; lower case and
        used as the password in HMAC mode), else ``''``. Raises :class:`UserError`.
        """
        mode = _MODE_NAMES.get(auth_mode, 0) if isinstance(auth_mode, str) else auth_mode
        qr_mode = bool(mode & USER_AUTH_SHOW_QR) or show_qr
        mode &= ~USER_AUTH_SHOW_QR
        self.shown_qr = None
        if qr_mode and secret:
            raise UserError(texts.USER_QR_WITH_SECRET)
        if mode not in (USER_AUTH_TOTP, USER_AUTH_HOTP, USER_AUTH_HMAC):
            raise UserError(texts.USER_BAD_MODE)
        if not 1 < len(username) <= MAX_USERNAME_LEN:
            raise UserError(texts.USER_BADLEN)
        if username[0] == "_":
            raise UserError(texts.USER_RESERVED)
        if username in self._users:
            raise UserError(texts.USER_EXISTS)
        if not secret:
            secret, picked = self._pick_secret(mode)
        else:
            picked = ""
            if mode == USER_AUTH_HMAC and len(secret) != 32:
                raise UserError(texts.USER_BAD_HMAC_SECRET)
            if mode != USER_AUTH_HMAC and len(secret) not in (10, 20):
                raise UserError(texts.USER_BAD_OTP_SECRET)
        if len(self._users) >= MAX_NUMBER_USERS:
            raise UserError(texts.USER_TOO_MANY)
        self._users[username] = [mode, b32encode(bytes(secret)), 0]
        self._save()
        if qr_mode:
            if mode == USER_AUTH_HMAC:
                self.shown_qr = picked
            else:
                kind = "t" if mode == USER_AUTH_TOTP else "h"
                self.shown_qr = f"otpauth://{kind}otp/CC?secret={picked}"
            picked = ""
        return picked

    def delete(self, username: str) -> None:
        """Remove a user; no checking, like the device."""
        if self._users.pop(username, None) is not None:
            self._save()

    def replace_all(self, users: Mapping[str, list]) -> None:
        """Set the whole table (the simulator's ``settings.set('usr', {...})``)."""
        self._users = {name: [int(r[0]), str(r[1]), int(r[2])] for name, r in users.items()}
        self._save()

    def _pick_secret(self, mode: int) -> tuple[bytes, str]:
        raw = self._random_bytes(10)  # 80 bits, whatever the mode
        picked = b32encode(raw)
        if mode == USER_AUTH_HMAC:
            picked = picked.lower()
            raw = password_key(picked.encode("ascii"), self.serial)
        return raw, picked

    # -- authentication ----------------------------------------------------------------
    def auth(
        self,
        username: str,
        token: bytes | str,
        totp_time: int = 0,
        psbt_hash: bytes | None = None,
    ) -> str:
        """Check a code or password: ``''`` when good, else the device's problem text.

        A success advances the stored counter (persisted), so a code works once.
        ``totp_time`` is the counter the host sends (ignored for HOTP and passwords);
        ``psbt_hash`` is what a password's HMAC covers (32 zero bytes outside a PSBT).
        """
        if isinstance(token, str):
            token = token.encode("ascii")
        info = self.lookup(username)
        if info is None:
            return texts.AUTH_UNKNOWN_USER
        secret = b32decode(info.secret)
        if info.auth_mode == USER_AUTH_HMAC:
            expect = hmac.new(secret, psbt_hash or bytes(32), hashlib.sha256).digest()
            if not hmac.compare_digest(expect, token):
                return texts.AUTH_MISMATCH
            if info.last_counter == 0:
                self._set_counter(username, 1)  # marks "used successfully once"
            return ""
        if len(token) != 6:
            return texts.AUTH_EXPECT_OTP
        last = info.last_counter
        if info.auth_mode == USER_AUTH_HOTP:
            # the host's counter is ignored; allow for a few wasted codes
            candidates = [last + i for i in range(1, 10)] + ([0] if not last else [])
        else:
            if totp_time < MIN_TOTP_COUNTER:
                return texts.AUTH_RANGE
            if totp_time <= last:
                return texts.AUTH_REPLAY
            candidates = [totp_time - i for i in range(3) if totp_time - i > last]
            if not candidates:
                return texts.AUTH_REPLAY
        for counter in candidates:
            if hmac.compare_digest(calc_hotp(secret, counter).encode("ascii"), token):
                self._set_counter(username, counter)
                return ""
        return texts.AUTH_MISMATCH

    def _set_counter(self, username: str, counter: int) -> None:
        self._users[username][2] = counter
        self._save()

    # -- storage -----------------------------------------------------------------------
    def _load(self) -> dict[str, list]:
        if self.path is None:
            return {}
        try:
            users = load_json(self.path.read_bytes(), max_bytes=MAX_USERS_FILE_BYTES, what="user table")
        except FileNotFoundError:
            return {}
        except ValueError:
            raise UserError(f"the user table {self.path.name} is unreadable") from None
        if not isinstance(users, dict) or not all(_is_record(r) for r in users.values()):
            raise UserError(f"the user table {self.path.name} is unreadable")
        return users

    def _save(self) -> None:
        if self.path is None:
            return
        atomic_write(self.path, json.dumps(self._users, sort_keys=True).encode(), mode=0o600)


def _is_record(record: object) -> bool:
    """``[mode, base32 secret, counter]``, as :meth:`UserStore._save` writes it."""
    return (
        isinstance(record, list) and len(record) == 3
        and all(type(record[i]) is int for i in (0, 2)) and isinstance(record[1], str)
        and _is_base32(record[1])
    )


def _is_base32(text: str) -> bool:
    """A secret that would not decode is refused with the table, not at the first code."""
    try:
        b32decode(text)
    except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
        return False
    return True
