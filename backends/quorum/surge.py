"""The TOTP surge tier at spend time: the owner's code, relayed to each signer asked.

A spend given a TOTP code (``quorum spend --totp CODE``) is judged against the surge
global cap, and each signer asked to sign gets the code first (Coldcard ``user``, which in
HSM mode queues it for the next PSBT); the device checks it against the user it holds and
refuses in its own words (``User 'owner' gave wrong auth value: mismatch`` / ``replay``).

A device refuses a code it already accepted, but only that device: under "2 of 3" the
third signer never saw the code a spend used, so a second spend could ride it there. The
coordinator therefore refuses to relay a code it already relayed within the time a
device would still accept it (the current and two previous 30 s steps, see
``backends/coldcard/hsm/users``), for every spend of this data dir.

A relayed code waits on the device with no time limit: a Coldcard has no clock, keeps the
queue in memory and empties it only when the next PSBT reaches its policy (signed or
refused), when a newer code for the same user replaces it, or at a power cycle. A
signing request that fails before the policy judges it (the link drops, the device
cannot read the PSBT, no answer in time) leaves the code queued for whatever PSBT comes
next, however late. So after such a failure the coordinator replaces the queued code
with one that can never be right (``sign_with_code``): the device refuses that next PSBT
once instead of letting it ride the owner's code, and the spend says so per device.

The code is a secret: it lives only in ``SurgeCode`` (whose ``repr`` hides it) and
reaches no log, audit entry, event or error text. Relayed codes are kept as salted
HMACs, and only for the few minutes they could be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GateRefused, QuorumError

#: a device accepts a TOTP code for its 30 s step and the two before it
REPLAY_SECONDS = 3 * 30 + 30

_SCHEMA = """
CREATE TABLE IF NOT EXISTS relayed_codes (
    user TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    relayed REAL NOT NULL,
    spend_id INTEGER
);
"""


class BadTotpCode(QuorumError):
    """A TOTP code that is not one (its text is never repeated)."""


@dataclass(frozen=True)
class SurgeCode:
    """The owner's TOTP code for one spend, and the signer user it belongs to."""

    user: str
    code: str = field(repr=False)

    def __repr__(self) -> str:
        return f"SurgeCode(user={self.user!r}, code=<hidden>)"


def parse_totp_code(text: str) -> str:
    """Six ASCII digits (spaces allowed between, as authenticator apps show them)."""
    if not isinstance(text, str) or len(text) > 16:
        raise BadTotpCode("a TOTP code is 6 digits", hint="type the 6 digits the owner's authenticator shows")
    code = text.replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise BadTotpCode("a TOTP code is 6 digits", hint="type the 6 digits the owner's authenticator shows")
    return code


def surge_user(policy: dict, given: str | None = None) -> str:
    """The signer user whose code unlocks the surge tier: ``given``, else the one user the
    policy's rules name."""
    named = sorted({u for rule in policy.get("rules", []) if isinstance(rule, dict)
                    for u in rule.get("users", []) if isinstance(u, str)})
    if given:
        if named and given not in named:
            raise QuorumError(f"no rule of the armed policy names user {given!r} (it names: {', '.join(named)})",
                              hint="give the user of the surge rule")
        return given
    if len(named) == 1:
        return named[0]
    if not named:
        raise QuorumError("the armed policy has no rule with users: no TOTP surge tier is configured",
                          hint="add a surge rule with users and min_users to the policy (policy push)")
    raise QuorumError(f"the policy names several users ({', '.join(named)}); say whose code this is",
                      hint="give --totp-user NAME")


#: what replaces a code left queued on a device: six characters, never six digits, so no
#: HOTP value can equal it
VOID_CODE = "voided"


def sign_with_code(client, surge: SurgeCode, name: str, sign: Callable[[], bytes]) -> bytes:
    """Relay the owner's code to signer ``name`` and ``sign()`` right after. A device's
    decision (signed, or ``SigningRefused``) used the code up; any other failure may have
    left it queued, and it is voided there before the failure is passed on."""
    from backends.coldcard.errors import SigningRefused
    from backends.errors import CustodyError

    try:
        client.user_auth(surge.user, surge.code)
        return sign()
    except SigningRefused:
        raise
    except CustodyError as exc:
        try:
            client.user_auth(surge.user, VOID_CODE)
        except CustodyError as again:
            raise QuorumError(
                f"{exc}; the owner's code may still be queued on {name}, and the device would judge the next "
                f"PSBT it is sent with it, however late (voiding it failed: {again})",
                hint=f"power-cycle {name} (that empties its queue) before it signs again") from None
        raise QuorumError(
            f"{exc}; the owner's code may have stayed queued on {name}: it was replaced there by a void "
            f"one, so the next PSBT {name} is sent is refused once (wrong auth value)",
            hint=exc.hint) from None


class RelayedCodes:
    """Codes relayed from this data dir, to refuse a second relay of the same one."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        from backends.sqlite import open_wal_database

        self._db = open_wal_database(Path(path), _SCHEMA, 1, what="relayed TOTP codes", error=QuorumError)
        self._lock = threading.Lock()
        self.clock = clock

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def consume(self, surge: SurgeCode, spend_id: int | None = None) -> None:
        """Record ``surge`` as relayed, or ``GateRefused`` if it already was (atomic across
        processes: two spends cannot both take one code)."""
        from backends.sqlite import immediate_transaction

        now = self.clock()
        with self._lock, immediate_transaction(self._db):
            self._db.execute("DELETE FROM relayed_codes WHERE relayed < ?", (now - REPLAY_SECONDS,))
            for salt, digest, earlier in self._db.execute(
                    "SELECT salt, digest, spend_id FROM relayed_codes WHERE user=?", (surge.user,)).fetchall():
                if hmac.compare_digest(_digest(salt, surge.code), digest):
                    which = f" for spend #{earlier}" if earlier is not None else ""
                    raise GateRefused(f"this TOTP code of {surge.user!r} was already relayed{which}; a code "
                                      "unlocks one spend; nothing was asked of any signer",
                                      hint="wait for the authenticator's next code (30 s)")
            salt = os.urandom(16)
            self._db.execute("INSERT INTO relayed_codes (user, salt, digest, relayed, spend_id) VALUES (?, ?, ?, ?, ?)",
                             (surge.user, salt, _digest(salt, surge.code), now, spend_id))


def _digest(salt: bytes, code: str) -> bytes:
    return hmac.new(salt, code.encode("ascii"), hashlib.sha256).digest()
