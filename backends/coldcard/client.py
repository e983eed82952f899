"""The Coldcard client: every device operation the app needs, over ckcc-protocol.

A device is named by its USB serial or a simulator/emulator socket path. Each operation
opens a fresh ``ColdcardDevice``, does its exchange and closes it (a simulator has five
client slots, and a leaked device object holds one), under one lock per device, since
the device keeps a single link state for everybody. ckcc's exceptions become the typed
errors of ``errors``, keeping the device's words.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import re
import threading
import time
from base64 import b32decode, b64encode
from dataclasses import dataclass
from typing import Callable, Iterator

from backends.outside_input import load_json

from .errors import (
    BadRequest,
    ChecksumMismatch,
    ColdcardError,
    DeviceBusy,
    DeviceError,
    DeviceUnreachable,
    HsmCommandsDisabled,
    LinkError,
    NotAllowedInHsm,
    SigningRefused,
    SigningTimeout,
)

USER_AUTH_TOTP = 1
MAX_USERNAME_LEN = 16  # the firmware's limit, which ckcc asserts without a message
TOTP_SECRET_BYTES = (10, 20, 32)
TOKEN_LENGTHS = range(6, 33)
#: "Press (3) to save policy" (firmware master) or "Press 3 to save policy" (v5.4.5)
_SAVE_POLICY_KEY = re.compile(r"Press \(?(\d)\)? to save policy")
AF_CLASSIC, AF_P2WPKH, AF_P2WPKH_P2SH = 0x01, 0x07, 0x13
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


#: how long a session waits for another process's session on the same device
CROSS_PROCESS_WAIT_SECONDS = 60.0


def device_lock(target: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(target, threading.Lock())


def _lock_file(target: str) -> str:
    """A per-device lock file shared by every custody-tui process of this user."""
    import hashlib
    import os
    import stat
    import tempfile

    directory = os.path.join(tempfile.gettempdir(), f"custody-tui-{os.getuid()}-devices")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        found = os.lstat(directory)
    except OSError as exc:
        raise ColdcardError(f"cannot make the device lock directory {directory}: {exc.strerror}",
                         hint="remove what is in its way, or set TMPDIR to a directory of yours") from None
    # in a shared /tmp, a directory someone else made (or may write) would let them hold
    # every device's lock, or delete it and let two sessions talk to a device at once
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        raise ColdcardError(f"the device lock directory {directory} is not a private directory of this user",
                         hint="remove it (custody-tui makes it again, mode 0700) or set TMPDIR") from None
    return os.path.join(directory, hashlib.sha256(target.encode()).hexdigest()[:24] + ".lock")


@contextlib.contextmanager
def _held_across_processes(target: str) -> Iterator[None]:
    """The device keeps one link state for every client: a session of another process (the
    demo rig's poller, a CLI command) must finish before ours starts."""
    import fcntl

    path = _lock_file(target)
    try:
        handle = open(path, "a")  # noqa: SIM115 -- closed below, after the flock is released
    except OSError as exc:
        raise ColdcardError(f"cannot open the device lock {path}: {exc.strerror}",
                         hint="check the directory's permissions, or set TMPDIR") from None
    with handle:
        deadline = time.monotonic() + CROSS_PROCESS_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DeviceBusy("another program has been using the Coldcard for a minute",
                                     hint="is a signing request waiting on the device?") from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True)
class DeviceVersion:
    date: str
    version: str
    bootloader: str
    timestamp: str
    hw_label: str


@dataclass(frozen=True)
class MasterKey:
    xfp: str  # 8 hex digits in the usual byte order, e.g. 0F056943
    xpub: str


@dataclass(frozen=True)
class SignedMessage:
    address: str
    signature: bytes  # 65-byte BIP-137 compact signature

    @property
    def signature_base64(self) -> str:
        return b64encode(self.signature).decode()


def xfp_text(xfp: int) -> str:
    return xfp.to_bytes(4, "little").hex().upper()


def _translate(exc: BaseException) -> ColdcardError:
    from ckcc.protocol import CCBusyError, CCFramingError, CCProtoError, CCUserRefused

    if isinstance(exc, ColdcardError):
        return exc
    if isinstance(exc, CCFramingError):
        text = str(exc).removeprefix("Framing Error: ")
        return LinkError(f"Coldcard link error: {text}", device_text=text,
                         hint="another program may be talking to the device; retry, or power-cycle it")
    if isinstance(exc, CCProtoError):
        raw = exc.args[1] if len(exc.args) > 1 else str(exc).encode()
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if text == "Not allowed in HSM mode":
            return NotAllowedInHsm(f"Coldcard: {text}", device_text=text)
        if text == "HSM commands disabled":
            return HsmCommandsDisabled(f"Coldcard: {text}", device_text=text,
                                       hint="enable Advanced/Tools > Spending Policy > HSM Mode on the device")
        return DeviceError(f"Coldcard: {text}", device_text=text)
    if isinstance(exc, CCUserRefused):
        return SigningRefused("Coldcard refused the operation")
    if isinstance(exc, CCBusyError):
        return DeviceBusy("Coldcard is busy with another approval", hint="finish or cancel it on the device")
    if isinstance(exc, (ConnectionError, FileNotFoundError, KeyError)) or "Cannot connect" in str(exc):
        return DeviceUnreachable(f"Coldcard not reachable: {exc}")
    if isinstance(exc, AssertionError) and "timeout" in str(exc):
        return DeviceUnreachable("Coldcard stopped answering (timeout)")
    if isinstance(exc, RuntimeError) and "Checksum" in str(exc):
        return ChecksumMismatch(str(exc))
    return ColdcardError(f"Coldcard operation failed: {exc}")


def _username(name: str) -> bytes:
    raw = name.encode("utf-8")
    if not 1 <= len(raw) <= MAX_USERNAME_LEN:
        raise BadRequest(f"a Coldcard user name is 1 to {MAX_USERNAME_LEN} bytes, not {len(raw)}")
    return raw


def _totp_secret(b32: str) -> bytes:
    """The secret's bytes; its text is never repeated in the error."""
    try:
        secret = b32decode(b32.upper(), casefold=True)
    except (ValueError, TypeError):
        raise BadRequest("the TOTP secret is not valid base32") from None
    if len(secret) not in TOTP_SECRET_BYTES:
        raise BadRequest(f"a TOTP secret is 10, 20 or 32 bytes (16, 32 or 52 base32 letters), not {len(secret)} bytes")
    return secret


#: a full HSM status (policy summary, users, counters) is a few KiB
MAX_STATUS_BYTES = 256 * 1024


def _status_reply(raw: bytes | str) -> dict:
    """The device's HSM status document, read within the outside-input limits."""
    try:
        status = load_json(raw, max_bytes=MAX_STATUS_BYTES, what="HSM status")
    except ValueError:
        status = None
    if not isinstance(status, dict):
        raise DeviceError("Coldcard: the HSM status answer is not a JSON object",
                          hint="is this a Coldcard? power-cycle it and retry")
    return status


class ColdcardClient:
    """Operations on one Coldcard (USB serial, or a socket path containing ``/``)."""

    def __init__(self, target: str, *, timeout_ms: int = 5000, expected_xpub: str | None = None) -> None:
        self.target = target
        self.timeout_ms = timeout_ms
        self.expected_xpub = expected_xpub
        self._lock = device_lock(target)

    @property
    def is_simulator(self) -> bool:
        return "/" in self.target

    @contextlib.contextmanager
    def session(self, *, encrypt: bool = True, check_mitm: bool = False) -> Iterator:
        """An open ``ColdcardDevice`` for one operation, closed afterwards; errors typed."""
        from ckcc.client import ColdcardDevice, UnixSimulatorPipe

        with self._lock, _held_across_processes(self.target):
            dev = pipe = None
            try:
                # the pipe is ours to close even when ColdcardDevice() fails half-way (a
                # device that never answers ncry), and to take off ckcc's atexit list,
                # which otherwise keeps every closed pipe of a long-running app
                if self.is_simulator:
                    pipe = UnixSimulatorPipe(self.target)
                # Link encryption v1: v2 and v3 bind the device to the first session until
                # it reboots, and this client opens a session per operation.
                dev = ColdcardDevice(sn=self.target, dev=pipe, is_simulator=self.is_simulator, encrypt=encrypt,
                                     ncry_ver=1, timeout=self.timeout_ms)
                if check_mitm:
                    dev.check_mitm(expected_xpub=self.expected_xpub)
                yield dev
            except ColdcardError:
                raise
            except Exception as exc:
                raise _translate(exc) from None
            finally:
                if dev is not None:
                    with contextlib.suppress(Exception):
                        dev.close()
                if pipe is not None:
                    with contextlib.suppress(Exception):
                        pipe.close()
                    atexit.unregister(pipe.close)

    # ---- identity -----------------------------------------------------------------
    def version(self) -> DeviceVersion:
        with self.session() as dev:
            parts = dev.firmware_version() + [""] * 5
        return DeviceVersion(*parts[:5])

    def master(self) -> MasterKey:
        with self.session(check_mitm=True) as dev:
            return MasterKey(xfp_text(dev.master_fingerprint), dev.master_xpub)

    def xpub(self, path: str) -> str:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            return dev.send_recv(P.get_xpub(path))

    def chain(self) -> str:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            return dev.send_recv(P.block_chain())

    def hsm_status(self) -> dict:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            return _status_reply(dev.send_recv(P.hsm_status()))

    def identity_and_status(self) -> tuple[str, dict]:
        """The device's XFP and its ``hsts`` report from one session: what a status poll
        needs, for the price of one status read on the device's lock."""
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            return xfp_text(dev.master_fingerprint), _status_reply(dev.send_recv(P.hsm_status()))

    # ---- multisig -----------------------------------------------------------------
    def enroll_multisig(self, wallet_file: str | bytes, *, press_ok_on_simulator: bool = False) -> None:
        """Upload a Coldcard multisig wallet file and start enrolment (approved on the device)."""
        from ckcc.protocol import CCProtocolPacker as P

        data = wallet_file.encode() if isinstance(wallet_file, str) else wallet_file
        with self.session() as dev:
            length, sha = dev.upload_file(data)
            dev.send_recv(P.multisig_enroll(length, sha))
            if press_ok_on_simulator:
                self._require_simulator()
                dev.send_recv(P.sim_keypress(b"y"))

    def has_multisig(self, m: int, n: int, xfps: list[int]) -> bool:
        from ckcc.protocol import CCProtocolPacker as P

        xor = 0
        for x in xfps:
            xor ^= x
        with self.session() as dev:
            return bool(dev.send_recv(P.multisig_check(m, n, xor)))

    # ---- HSM ----------------------------------------------------------------------
    def start_hsm(self, policy: dict | bytes | None = None, *, press_ok_on_simulator: bool = False) -> None:
        """Upload ``policy`` (or reuse the saved one) and ask the device to start HSM mode.

        The operator approves on the device ("Start HSM?", then for a new policy the digit
        the "Last chance" screen names); on a simulator ``press_ok_on_simulator`` does that.
        A policy the device rejects raises :class:`DeviceError` with its text
        (``HSM Policy invalid: ...``).
        """
        from ckcc.protocol import CCProtocolPacker as P

        with self.session(check_mitm=True) as dev:
            if policy is None:
                dev.send_recv(P.hsm_start())
            else:
                data = policy if isinstance(policy, bytes) else json.dumps(policy).encode()
                length, sha = dev.upload_file(data)
                dev.send_recv(P.hsm_start(length, sha))
        if press_ok_on_simulator:
            self.approve_hsm_start_on_simulator()

    def approve_hsm_start_on_simulator(self, *, timeout: float = 15.0) -> None:
        """Simulator/emulator only: answer the "Start HSM?" screens until HSM mode is on."""
        from ckcc.protocol import CCProtocolPacker as P

        self._require_simulator()
        deadline = time.monotonic() + timeout
        with self.session(encrypt=False) as dev:
            last_story = None
            while time.monotonic() < deadline:
                if _status_reply(dev.send_recv(P.hsm_status())).get("active"):
                    return
                story = self._screen_story(dev)
                digit = _SAVE_POLICY_KEY.search(story)
                if story != last_story and (digit or "Press OK to enable HSM mode" in story):
                    dev.send_recv(P.sim_keypress((digit.group(1) if digit else "y").encode()))
                    last_story = story
                    continue
                time.sleep(0.2)  # the simulator may still be drawing
        raise ColdcardError("HSM mode did not start", hint="is the Start HSM? screen up? check the policy")

    @staticmethod
    def _screen_story(dev) -> str:
        raw = dev.send_recv(b"EXEC" + b"RV.write('\\0'.join(sim_display.story or []))", encrypt=False)
        return raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else str(raw)

    def screen_story(self) -> str:
        """Simulator/emulator only: the story on screen as ``title\\0body`` ('' if none)."""
        self._require_simulator()
        with self.session(encrypt=False) as dev:
            return self._screen_story(dev)

    def create_user(self, name: str, totp_secret_b32: str | None = None) -> str:
        """Create a TOTP user; returns the secret (base32) the device holds."""
        from ckcc.protocol import CCProtocolPacker as P

        secret = _totp_secret(totp_secret_b32) if totp_secret_b32 else b""
        with self.session(check_mitm=True) as dev:
            picked = dev.send_recv(P.create_user(_username(name), USER_AUTH_TOTP, secret))
        return picked or (totp_secret_b32 or "")

    def delete_user(self, name: str) -> None:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            dev.send_recv(P.delete_user(_username(name)))

    def user_auth(self, name: str, code: str, *, counter: int | None = None) -> str:
        """Send a TOTP code; outside HSM mode returns the device's verdict ('' = accepted)."""
        from ckcc.protocol import CCProtocolPacker as P

        counter = int(time.time()) // 30 if counter is None else counter
        if len(code) not in TOKEN_LENGTHS or not code.isascii():
            raise BadRequest(f"a user's code is 6 to 32 ASCII characters, not {len(code)}")
        with self.session(check_mitm=True) as dev:
            rv = dev.send_recv(P.user_auth(_username(name), code.encode(), counter))
        return rv or ""

    def storage_locker(self) -> bytes:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            return dev.send_recv(P.get_storage_locker())

    # ---- signing ------------------------------------------------------------------
    def sign_psbt(self, psbt: bytes, *, finalize: bool = False, timeout: float = 120.0, poll_interval: float = 0.25,
                  progress: Callable[[str], None] | None = None, press_ok_on_simulator: bool = False) -> bytes:
        """Upload, request signing, poll until the device answers, download the result."""
        from ckcc.protocol import CCProtocolPacker as P

        say = progress or (lambda _text: None)
        with self.session() as dev:
            say("uploading PSBT")
            length, sha = dev.upload_file(psbt)
            say("requesting signature")
            dev.send_recv(P.sign_transaction(length, sha, finalize=finalize))
            if press_ok_on_simulator:
                self._require_simulator()
                dev.send_recv(P.sim_keypress(b"y"))
            result_len, result_sha = self._poll_until_signed(
                dev, P.get_signed_txn(), "Coldcard refused to sign", timeout, poll_interval)
            say("downloading result")
            return dev.download_file(result_len, result_sha)

    def _poll_until_signed(self, dev, poll_request: bytes, refused: str, timeout: float,
                           poll_interval: float):
        """Poll a pending signing request until the device answers, refuses or times out."""
        from ckcc.protocol import CCUserRefused

        deadline = time.monotonic() + timeout
        while True:
            try:
                done = dev.send_recv(poll_request, timeout=self._poll_timeout_ms(deadline))
            except CCUserRefused:
                reason = self._last_refusal(dev)
                raise SigningRefused(refused + (f": {reason}" if reason else ""),
                                     reason=reason) from None
            if done is not None:
                return done
            if time.monotonic() > deadline:
                raise SigningTimeout(f"no answer from the Coldcard within {timeout:.0f} s",
                                     hint="confirm on the device, or check its HSM policy")
            time.sleep(poll_interval)

    def _poll_timeout_ms(self, deadline: float) -> int:
        # A device busy signing may answer a poll late (ckcc's CLI waits forever). ckcc
        # reads once more after a timeout, so each read gets half of what is left: a hung
        # device gives up near the caller's deadline and never holds the lock for ever.
        left_ms = (deadline - time.monotonic()) * 1000
        return max(self.timeout_ms // 2, int(left_ms / 2), 1)

    @staticmethod
    def _last_refusal(dev) -> str | None:
        from ckcc.protocol import CCProtocolPacker as P

        try:
            status = _status_reply(dev.send_recv(P.hsm_status()))
        except Exception:
            return None
        reason = status.get("last_refusal")
        return reason or None

    def sign_message(self, text: str, path: str, *, addr_fmt: int = AF_CLASSIC, timeout: float = 120.0,
                     poll_interval: float = 0.25, press_ok_on_simulator: bool = False) -> SignedMessage:
        from ckcc.protocol import CCProtocolPacker as P

        if not text.isascii():
            raise BadRequest("a Coldcard signs ASCII messages only", hint="remove accents and symbols")
        if not path.isascii():
            raise BadRequest(f"{path!r} is not a derivation path")
        with self.session() as dev:
            dev.send_recv(P.sign_message(text.encode("ascii"), path, addr_fmt))
            if press_ok_on_simulator:
                self._require_simulator()
                dev.send_recv(P.sim_keypress(b"y"))
            return SignedMessage(*self._poll_until_signed(
                dev, P.get_signed_msg(), "Coldcard refused to sign the message", timeout, poll_interval))

    # ---- power --------------------------------------------------------------------
    def logout(self) -> None:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            dev.send_recv(P.logout())

    def reboot(self) -> None:
        from ckcc.protocol import CCProtocolPacker as P

        with self.session() as dev:
            dev.send_recv(P.reboot())

    # ---- simulator only -----------------------------------------------------------
    def _require_simulator(self) -> None:
        if not self.is_simulator:
            raise ColdcardError("keypresses can only be injected into a simulator or emulator")

    def press_keys(self, keys: str) -> None:
        """Simulator/emulator only: press keys one at a time (``y`` OK, ``x`` cancel, digits)."""
        from ckcc.protocol import CCProtocolPacker as P

        self._require_simulator()
        with self.session(encrypt=False) as dev:
            for key in keys:
                dev.send_recv(P.sim_keypress(key.encode("ascii")))

    def sim_exec(self, code: str) -> bytes:
        """Simulator/emulator only: an ``EXEC`` statement (plaintext, as upstream tests send it)."""
        self._require_simulator()
        with self.session(encrypt=False) as dev:
            return dev.send_recv(b"EXEC" + code.encode(), encrypt=False)
