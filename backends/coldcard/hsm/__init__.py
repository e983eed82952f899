"""The Coldcard HSM policy engine, as pure logic: what the device decides in HSM mode.

Owns: validating a policy JSON with the firmware's error texts (:class:`HsmPolicy`), the
running policy (:class:`HsmEngine`: first-match rules, per-rule velocity with one shared
period, whitelists that skip change, users/min_users, the local confirmation code,
warnings_ok, must_log, msg_paths/share_xpubs/share_addrs, refusal counting and the
100-refusal shutdown, the storage locker, boot_to_hsm pre-charge, ``hsts``), and the
user table with TOTP/HOTP/password checks (:class:`UserStore`). State on disk, in the
directory it is given: the saved policy, the storage locker and the users — what a
Coldcard keeps over a power cycle. Velocity, counters and queued auths are not kept.

It does no I/O besides that directory and knows nothing of USB or PSBT parsing: the
emulator extracts a :class:`TxSummary` and renders addresses; the engine decides.

Reference: firmware tag ``2025-11-03T1527-v5.4.5`` (what the official simulator runs).
Where this differs from the firmware:
- ``Unknown item: a, b`` lists keys in document order (the device uses its hash order),
  and a BASIC whitelist refusal names the first offending output (the device: any one);
- MicroPython's own messages (a non-numeric ``period`` and the like) are approximated;
- the velocity clock is the injected wall clock, not device uptime in whole seconds;
- v5.4.5 words an unknown wallet ``unknown MS wallet: X`` (master: ``unknown or
  ambiguous MS wallet: X``); master's BIP-322 branch is not implemented;
- ``from_json`` checks users/wallets only when given them (``None`` = offline check).
- evaluation turns any ``Exception`` into a refusal (the device: ``BaseException``), so
  ``KeyboardInterrupt``/``SystemExit`` still stop the host process.
"""

from backends.coldcard.hsm.engine import (
    ABSOLUTE_MAX_REFUSALS,
    BOOT_LOCKOUT_TIME,
    HsmEngine,
    HsmLogEntry,
)
from backends.coldcard.hsm.errors import (
    HsmError,
    HsmPolicyError,
    HsmRefusal,
    HsmRequestError,
    UserError,
)
from backends.coldcard.hsm.explain import explain
from backends.coldcard.hsm.otp import calc_hotp, calc_local_pincode, password_key, totp_counter
from backends.coldcard.hsm.paths import cleanup_deriv_path, match_deriv_path
from backends.coldcard.hsm.policy import HsmPolicy
from backends.coldcard.hsm.rules import ApprovalRule, WhitelistOpts
from backends.coldcard.hsm.saved import (
    delete_saved_policy,
    load_saved_policy,
    policy_available,
    save_policy,
)
from backends.coldcard.hsm.status import inactive_status
from backends.coldcard.hsm.summary import InputSummary, OutputSummary, TxSummary
from backends.coldcard.hsm.users import (
    USER_AUTH_HMAC,
    USER_AUTH_HOTP,
    USER_AUTH_SHOW_QR,
    USER_AUTH_TOTP,
    UserInfo,
    UserStore,
)

__all__ = [
    "ABSOLUTE_MAX_REFUSALS",
    "BOOT_LOCKOUT_TIME",
    "USER_AUTH_HMAC",
    "USER_AUTH_HOTP",
    "USER_AUTH_SHOW_QR",
    "USER_AUTH_TOTP",
    "ApprovalRule",
    "HsmEngine",
    "HsmError",
    "HsmLogEntry",
    "HsmPolicy",
    "HsmPolicyError",
    "HsmRefusal",
    "HsmRequestError",
    "InputSummary",
    "OutputSummary",
    "TxSummary",
    "UserError",
    "UserInfo",
    "UserStore",
    "WhitelistOpts",
    "calc_hotp",
    "calc_local_pincode",
    "cleanup_deriv_path",
    "delete_saved_policy",
    "explain",
    "inactive_status",
    "load_saved_policy",
    "match_deriv_path",
    "password_key",
    "policy_available",
    "save_policy",
    "totp_counter",
]
