"""HSM mode while it runs: the policy applied to each request (``HSMPolicy`` at runtime).

One engine is one activation. Building it *is* activating the policy (as the device does
once the operator approved it): the policy file is saved when new, the storage locker is
written, and — for a ``boot_to_hsm`` policy started from the saved file — every velocity
rule is pre-charged with its whole ``per_period``, so a reboot cannot reset spending.
Counters, velocity, queued auths and the local code live in memory only: a power cycle
forgets them, as on the device. Users (with their replay counters), the saved policy and
the storage locker persist in ``state_dir`` (or, with ``state_dir=None``, in memory only).

Failures while a PSBT is judged are refusals, as in the firmware's ``approve_transaction``
(which catches ``BaseException``): a rule check that crashes gives that rule the reason
``rule #N: <text>`` and the next rule is tried; any other exception once evaluation has
started (a user table that cannot be saved, a velocity bookkeeping error, ...) refuses
with ``Rejected: <text>``. ``<text>`` is ``str(exc)``, or ``file.py:line`` when that is
empty (:func:`problem_file_line`). Either way the refusal is counted, becomes
``last_refusal`` and is logged; queued user auths and the local code are consumed.
Only ``Exception`` is caught here: ``KeyboardInterrupt``/``SystemExit`` still propagate.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import traceback
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.errors import HsmRefusal, HsmRequestError
from backends.coldcard.hsm.explain import explain
from backends.coldcard.hsm.locker import StorageLocker
from backends.coldcard.hsm.otp import calc_local_pincode, totp_counter
from backends.coldcard.hsm.paths import cleanup_deriv_path, match_deriv_path
from backends.coldcard.hsm.policy import HsmPolicy
from backends.coldcard.hsm.rules import MAX_USERNAME_LEN, RuleMismatch
from backends.coldcard.hsm.saved import load_saved_policy, policy_available, save_policy
from backends.coldcard.hsm.status import active_status
from backends.coldcard.hsm.summary import TxSummary
from backends.coldcard.hsm.users import MAX_NUMBER_USERS, UserStore
from backends.coldcard.hsm.velocity import VelocityLedger

#: the device shuts itself down after this many refusals
ABSOLUTE_MAX_REFUSALS = 100
#: seconds after HSM start during which the boot_to_hsm code releases the device
BOOT_LOCKOUT_TIME = 60
LOCAL_PIN_LENGTH = 6

AuthValue = str | bytes | tuple[str | bytes, int]


@dataclass(frozen=True)
class HsmLogEntry:
    """What the device appends to the microSD card for one request."""

    directory: str  # "psbt" or "messages"
    filename: str  # last 8 bytes of the request's SHA-256, hex, ".log"
    text: str


class _AuditLog:
    def __init__(self, directory: str, digest: bytes, saved: bool) -> None:
        self.directory, self.digest, self.saved = directory, digest, saved
        self.lines: list[str] = []

    def info(self, line: str) -> None:
        self.lines.append(line)

    def entry(self) -> HsmLogEntry | None:
        if not self.saved:
            return None
        text = "".join(line + "\n" for line in self.lines) + "\n===\n\n"
        return HsmLogEntry(self.directory, self.digest[-8:].hex() + ".log", text)


def problem_file_line(exc: BaseException) -> str:
    """``file.py:line`` where ``exc`` was raised (the firmware's ``utils.problem_file_line``).

    Falls back to ``str(exc)``, then ``Exception``, when there is no traceback.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        return "%s:%d" % (os.path.basename(frames[-1].filename), frames[-1].lineno)
    return str(exc) or "Exception"


def problem_text(exc: BaseException) -> str:
    """How the firmware words a failure in a refusal: ``str(exc) or problem_file_line(exc)``."""
    return str(exc) or problem_file_line(exc)


class HsmEngine:
    """The running policy. See the module docstring for what activation does."""

    def __init__(
        self,
        policy: HsmPolicy,
        state_dir: Path | None,
        *,
        clock: Callable[[], float] = time.time,
        users: UserStore,
        chain: str = "XTN",
        new_file: bool = True,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if state_dir is None and new_file:
            raise ValueError("a policy saved as new needs a state directory")
        self.policy = policy
        #: ``None``: nothing is kept on disk (pre-flight judging a copy of a signer's policy)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.users = users
        self.chain = chain
        self._clock = clock
        self._random_bytes = random_bytes
        self.approvals = 0
        self.refusals = 0
        self.sl_reads = 0
        self.last_refusal: str | None = None
        self.pending_auth: dict[str, tuple[bytes, int]] = {}
        self.local_code_pending = ""
        self.next_local_code = self._new_local_code()
        self.keypad_digits = ""
        #: set when the boot_to_hsm code was typed in time: the device leaves HSM mode
        self.released = False
        #: the log the last request wrote (``None`` when nothing was saved)
        self.last_log: HsmLogEntry | None = None
        self.summary = explain(policy, chain)
        self.policy_hash = policy.hash()
        self.velocity = VelocityLedger(policy.period, len(policy.rules), clock)
        self._locker = StorageLocker(self.state_dir)
        self._activate(new_file)

    @classmethod
    def boot(
        cls,
        state_dir: Path,
        *,
        users: UserStore,
        wallets: Sequence[str] | None = None,
        clock: Callable[[], float] = time.time,
        chain: str = "XTN",
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> HsmEngine | None:
        """At power-up: re-enter HSM mode without asking if the saved policy says
        ``boot_to_hsm``; ``None`` otherwise (or without a saved policy).

        A saved boot_to_hsm policy that no longer validates raises
        :class:`HsmPolicyError` (the device refuses to run at all then).
        """
        if not policy_available(state_dir):
            return None
        policy = load_saved_policy(state_dir, users=users, wallets=wallets)
        if not policy.boot_to_hsm:
            return None
        return cls(
            policy, state_dir, clock=clock, users=users, chain=chain,
            new_file=False, random_bytes=random_bytes,
        )  # fmt: skip

    def _activate(self, new_file: bool) -> None:
        self.start_time = self._clock()
        if new_file:
            save_policy(self.state_dir, self.policy)
        if self.policy.set_sl:
            self._locker.write(self.policy.set_sl)
        self.velocity.reset()
        if self.policy.boot_to_hsm and not new_file:
            # the PIN holder may be rebooting to reset the period: assume it is used up
            for rule in self.policy.rules:
                if rule.per_period:
                    self.velocity.record_spend(rule.index, rule.per_period)

    # -- state ---------------------------------------------------------------------------
    @property
    def uptime(self) -> float:
        """Seconds since HSM mode started (millisecond resolution, like the device)."""
        return round(self._clock() - self.start_time, 3)

    @property
    def should_shutdown(self) -> bool:
        """After 100 refusals the device powers itself off."""
        return self.refusals >= ABSOLUTE_MAX_REFUSALS

    @property
    def log_required(self) -> bool:
        """``must_log``: a request is refused when its log cannot be written."""
        return self.policy.must_log

    @property
    def logging_enabled(self) -> bool:
        return not self.policy.never_log

    @property
    def storage_locker(self) -> bytes | None:
        """The storage locker's content (``None`` if never written); does not count a read."""
        return self._locker.read()

    def status(self) -> dict:
        """The ``hsts`` JSON object (see :mod:`backends.coldcard.hsm.status`)."""
        return active_status(self)

    def fast_forward(self, seconds: int) -> None:
        """Simulator only: move the velocity period's start back by ``seconds``."""
        self.velocity.fast_forward(seconds)

    # -- remote users and the local operator ---------------------------------------------
    def queue_user_auth(self, username: str, token: bytes | str, totp_time: int) -> None:
        """``user`` in HSM mode: keep the code until the next PSBT (checked then).

        As on the device (firmware ``HSMPolicy.usb_auth_user``, consumed at the top of its
        ``approve_transaction``): there is no time limit, the device having no clock; the
        queue empties only when a PSBT reaches the policy, approved or refused, or at a
        power cycle (it is memory only), and a newer code for the same user replaces the
        older. A PSBT that fails before the policy judges it leaves the queue as it was."""
        if not 1 < len(username) <= MAX_USERNAME_LEN:
            raise HsmRequestError(texts.AUTH_BADLEN)
        if len(self.pending_auth) + 1 > MAX_NUMBER_USERS:
            raise HsmRequestError(texts.AUTH_TOOMANY)
        if isinstance(token, str):
            token = token.encode("ascii")
        self.pending_auth[username] = (token, totp_time)

    def local_code_challenge(self, psbt_sha256: bytes) -> str:
        """The 6 digits the local operator must type before this PSBT is sent."""
        return calc_local_pincode(psbt_sha256, self.next_local_code)

    def local_pin_entered(self, code: str) -> bool:
        """Six digits typed on the device; returns True if that released boot_to_hsm."""
        self.local_code_pending = code
        if self.policy.boot_to_hsm and self.uptime < BOOT_LOCKOUT_TIME:
            if code == self.policy.boot_to_hsm:
                self.released = True
        return self.released

    def keypad(self, key: str) -> None:
        """A key press on the HSM screen: digits, ``x`` clears, ``y`` submits six digits.

        The sixth digit submits by itself, as on the device.
        """
        if key == "x":
            self.keypad_digits = ""
        elif key == "y":
            if len(self.keypad_digits) == LOCAL_PIN_LENGTH:
                self.local_pin_entered(self.keypad_digits)
                self.keypad_digits = ""
        elif key:
            if len(self.keypad_digits) < LOCAL_PIN_LENGTH:
                self.keypad_digits += key[0]
            if len(self.keypad_digits) == LOCAL_PIN_LENGTH:
                self.local_pin_entered(self.keypad_digits)

    def _consume_local_code(self, psbt_sha256: bytes) -> bool:
        expect = calc_local_pincode(psbt_sha256, self.next_local_code)
        got, self.local_code_pending = self.local_code_pending, ""
        self.next_local_code = self._new_local_code()
        return got == expect

    def _new_local_code(self) -> str:
        return base64.b64encode(self._random_bytes(15)).decode("ascii")

    # -- decisions -------------------------------------------------------------------------
    def _approve(self, log: _AuditLog, message: str) -> None:
        log.info("\nAPPROVED: " + message)
        self.approvals += 1
        self.last_refusal = None
        self.last_log = log.entry()

    def _refuse(self, log: _AuditLog, message: str) -> HsmRefusal:
        log.info("\nREFUSED: " + message)
        self.refusals += 1
        self.last_refusal = message
        self.last_log = log.entry()
        return HsmRefusal(message)

    def _open_log(self, directory: str, digest: bytes, log_ok: bool) -> _AuditLog:
        return _AuditLog(directory, digest, saved=log_ok and not self.policy.never_log)

    def approve_transaction(
        self,
        summary: TxSummary,
        *,
        auth: Mapping[str, AuthValue] | None = None,
        local_code: str | None = None,
        log_ok: bool = True,
        story: str = "",
    ) -> int:
        """Decide on a PSBT; returns the number of the rule that approved it.

        ``auth`` adds user codes as if sent with ``user`` just before (a bare token gets
        the current TOTP counter; pass ``(token, counter)`` to choose); ``local_code`` as
        if typed on the keypad. ``log_ok`` says whether the microSD log could be written.
        Raises :class:`HsmRefusal` with the device's ``last_refusal`` text, also when
        something fails once evaluation has started (see the module docstring).
        """
        for name, value in (auth or {}).items():
            token, counter = value if isinstance(value, tuple) else (value, None)
            if counter is None:
                counter = totp_counter(self._clock())
            self.queue_user_auth(name, token, counter)
        if local_code is not None:
            self.local_pin_entered(local_code)
        sha = summary.psbt_sha256
        self.velocity.time_left()  # resets an expired period before anything is judged
        log = self._open_log("psbt", sha, log_ok)
        if self.policy.must_log and not log.saved:
            raise self._refuse(log, texts.COULD_NOT_LOG)
        log.info("Transaction signing requested:")
        log.info("SHA256(PSBT) = " + sha.hex())
        log.info("-vvv-\n%s\n-^^^-" % story)
        queued, self.pending_auth = self.pending_auth, {}
        try:
            return self._judge(summary, queued, log)
        except HsmRefusal:
            raise
        except (RuleMismatch, ValueError) as exc:  # the firmware's own reasons
            raise self._refuse(log, texts.REJECTED.format(reason=problem_text(exc))) from None
        except Exception as exc:  # anything else: still a refusal, never a crash
            raise self._refuse(log, texts.REJECTED.format(reason=problem_text(exc))) from exc

    def _judge(self, tx: TxSummary, queued: dict[str, tuple[bytes, int]], log: _AuditLog) -> int:
        # cleared first thing so a wrong code never carries over to the next attempt
        local_ok = self._consume_local_code(tx.psbt_sha256)
        if not self.policy.rules:
            raise ValueError(texts.NO_TXN_SIGNING)
        if tx.warnings:
            if not self.policy.warnings_ok:
                raise ValueError(texts.HAS_WARNINGS.format(count=len(tx.warnings)))
            log.info("Txn has warnings, but policy is to accept anyway.")
        users = []
        for name, (token, counter) in queued.items():
            problem = self.users.auth(name, token, counter, psbt_hash=tx.psbt_sha256)
            if problem:
                raise self._refuse(log, texts.WRONG_AUTH.format(user=name, problem=problem))
            users.append(name)
        if local_ok:
            log.info("Local operator gave correct code.")
        if users:
            log.info("These users gave correct auth codes: " + ", ".join(users))
        rule = self._first_matching_rule(tx, users, local_ok, log)
        self._approve(log, texts.ACCEPTABLE_BY_RULE.format(index=rule.index))
        if rule.per_period is not None:
            self.velocity.record_spend(rule.index, tx.total_out)
        return rule.index

    def _first_matching_rule(self, tx: TxSummary, users: Collection[str], local_ok: bool, log):
        reasons = []
        for rule in self.policy.rules:
            try:
                rule.check(
                    tx, users=users, local_ok=local_ok, chain=self.chain,
                    spent_so_far=self.velocity.spent_so_far(rule.index),
                )  # fmt: skip
            except Exception as exc:  # a mismatch, or a check that crashed: try the next rule
                reasons.append(texts.RULE_REASON.format(index=rule.index, reason=problem_text(exc)))
                continue
            return rule
        raise self._refuse(log, texts.REJECTED.format(reason=", ".join(reasons)))

    def approve_message(
        self, path: str, *, message: bytes = b"", address: str = "", log_ok: bool = True
    ) -> None:
        """Decide on signing ``message`` with the key at ``path`` (``msg_paths``).

        A malformed path raises :class:`HsmRequestError` (an ``err_`` reply, not a refusal).
        """
        subpath = cleanup_deriv_path(path)
        sha = hashlib.sha256(message).digest()
        log = self._open_log("messages", sha, log_ok)
        if self.policy.must_log and not log.saved:
            raise self._refuse(log, texts.COULD_NOT_LOG)
        log.info("Message signing requested:")
        log.info("SHA256(msg) = " + sha.hex())
        log.info("\n%d bytes to be signed by %s => %s" % (len(message), subpath, address))
        if not self.policy.msg_paths:
            raise self._refuse(log, texts.MSG_NOT_PERMITTED)
        if not match_deriv_path(self.policy.msg_paths, subpath):
            raise self._refuse(log, texts.MSG_PATH_NOT_ENABLED)
        self._approve(log, texts.MSG_ALLOWED)

    # -- data sharing ------------------------------------------------------------------------
    def may_share_xpub(self, path: str) -> bool:
        """``xpub`` in HSM mode: ``m`` always, else a ``share_xpubs`` match."""
        subpath = cleanup_deriv_path(path)
        if subpath == "m":
            return True
        return bool(self.policy.share_xpubs) and match_deriv_path(self.policy.share_xpubs, subpath)

    def may_share_address(self, path: str | None = None, *, p2sh: bool = False) -> bool:
        """``show`` (a path matching ``share_addrs``) or ``p2sh`` (literal ``p2sh`` entry)."""
        if not self.policy.share_addrs:
            return False
        if p2sh:
            return "p2sh" in self.policy.share_addrs
        return match_deriv_path(self.policy.share_addrs, cleanup_deriv_path(path or ""))

    # -- storage locker ----------------------------------------------------------------------
    def read_storage_locker(self) -> bytes:
        """``gslr``: the locker's bytes, at most ``allow_sl`` times per boot."""
        if not self.policy.allow_sl:
            raise HsmRequestError(texts.SL_NOT_ALLOWED)
        if self.sl_reads >= self.policy.allow_sl:
            raise HsmRequestError(texts.SL_CONSUMED)
        self.sl_reads += 1
        return self._locker.read() or b""
