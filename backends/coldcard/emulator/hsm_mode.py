"""HSM mode on the emulated device: the USB commands of HSM and users, built on the
policy engine of ``backends.coldcard.hsm`` (policy validation, rule evaluation, velocity,
users), and the device-side bookkeeping around it (start approval, status, storage
locker, boot-to-HSM, the refusal limit).

As the firmware (``usb.py``, ``hsm_ux.py``, ``auth.py``) does it:

- ``hsms`` parses and validates the uploaded (or saved) policy, then puts up the
  "Start HSM?" story; OK, and for a new file the random digit of the "Last chance"
  story, activates it (the engine saves a new policy file);
- once active, every PSBT and message is decided by the engine instead of the operator;
  a refusal answers ``refu`` to ``stok``/``smok`` and its reason is ``last_refusal`` in
  ``hsts``; the 100th refusal powers the device off. Failures during evaluation are
  refusals too (the engine's doing); anything that still escapes it fails the request
  (``err_<text>`` to ``stok``/``smok``) rather than leaving it pending;
- keys typed while HSM is active go to the HSM screen's keypad (local confirmation code,
  the ``boot_to_hsm`` escape code);
- at power-up a saved ``boot_to_hsm`` policy is re-entered without asking, pre-charged.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

from backends.coldcard.hsm import (
    HsmEngine,
    HsmError,
    HsmPolicy,
    HsmRefusal,
    InputSummary,
    OutputSummary,
    TxSummary,
    UserStore,
    explain,
    inactive_status,
    policy_available,
)
from backends.coldcard.hsm import texts
from backends.coldcard.hsm.engine import problem_text

from . import micropython_json
from .approvals import PendingAction, Story

#: the digits the "Last chance" story picks its confirmation key from
CONFIRM_CHARS = "12346"
MAX_POLICY_LEN = 200 * 1000
SD_CARD_DIR = "MicroSD"


class RequestFailed(ValueError):
    """An engine error the device reports as ``err_<text>`` (its ValueError or assert)."""


def users_of(dev) -> UserStore:
    """The device's user table (the firmware's ``usr`` setting), kept in its state dir."""
    if getattr(dev, "_users", None) is None:
        dev._users = UserStore(dev.state.dir, serial=dev.serial)
    return dev._users


def wallet_names(dev) -> list[str]:
    return [w["name"] for w in dev.state.get("multisig") or []]


# ---- the active mode ----------------------------------------------------------------

class HsmMode:
    """``glob.hsm_active``: the engine plus what the device does around its decisions."""

    def __init__(self, dev, engine: HsmEngine) -> None:
        self.dev = dev
        self.engine = engine

    # data sharing: not a refusal, just "Not allowed in HSM mode"
    def check_xpub_share(self, path: str) -> None:
        if not self.engine.may_share_xpub(path):
            _denied()

    def check_address_share(self, path: str | None, is_p2sh: bool) -> None:
        if not self.engine.may_share_address(path, p2sh=is_p2sh):
            _denied()

    # decisions
    def decide_transaction(self, action, analysis) -> None:
        from .story import approval_story

        story = approval_story(analysis, self.dev.chain, prompt=False)  # what the audit log records
        self._decide(action, lambda: self.engine.approve_transaction(tx_summary(analysis), story=story))

    def decide_message(self, action, path: str, text: str, address: str) -> None:
        self._decide(action, lambda: self.engine.approve_message(
            path, message=text.encode(), address=address))

    def _decide(self, action, judge) -> None:
        """Approve (as if OK were pressed), refuse, or fail the pending request."""
        try:
            judge()
        except HsmRefusal:
            self._refused(action)
            return
        except Exception as exc:
            # the engine turns failures during evaluation into refusals; one before it
            # (outside the firmware's try too) fails the request, so stok never hangs
            self._failed(action, exc)
            return
        finally:
            self._write_log()
        action.on_key("y")

    @staticmethod
    def _failed(action, exc: Exception) -> None:
        action.failed = problem_text(exc)
        action.finish()

    def _refused(self, action) -> None:
        action.refused = True
        action.finish()
        if self.engine.should_shutdown:
            self.dev.power = "logout"

    def _write_log(self) -> None:
        entry = self.engine.last_log
        if entry is None:
            return
        self.engine.last_log = None
        folder = Path(self.dev.state.dir) / SD_CARD_DIR / entry.directory
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / entry.filename, "a") as fd:
                fd.write(entry.text)
        except OSError:
            pass  # the decision is already made (and counted); a log the card cannot take does not undo it

    # the HSM screen's keypad
    def on_key(self, key: str) -> bool:
        self.engine.keypad(key)
        if self.engine.released:
            self.dev.hsm = None
        return True

    # simulator hooks
    def fast_forward(self, seconds: float) -> None:
        self.engine.fast_forward(seconds)

    def sim_attribute(self, name: str):
        if name == "period_started":
            return self.engine.velocity.period_started or 0
        if name in ("approvals", "refusals", "sl_reads", "last_refusal", "local_code_pending",
                    "next_local_code", "pending_auth", "summary", "uptime"):
            return getattr(self.engine, name)
        if name == "policy_hash" or name == "hash()":
            return self.engine.policy_hash
        raise AttributeError("'HSMPolicy' object has no attribute '%s'" % name)

    def status(self) -> dict:
        return self.engine.status()


def _denied():
    from .device import HsmDenied

    raise HsmDenied()


def tx_summary(analysis) -> TxSummary:
    """What the policy sees of a PSBT the signer has analysed."""
    return TxSummary(
        wallet_name=analysis.wallet.name if analysis.wallet is not None else None,
        outputs=[OutputSummary(o.address, o.amount_sat, o.is_change, o.is_ours, o.script, o.attestation)
                 for o in analysis.outputs],
        fee_sat=analysis.fee or 0,
        total_in_sat=analysis.total_in or 0,
        warnings=[label for label, _text in analysis.warnings],
        psbt_sha256=analysis.psbt_sha256,
        inputs=[InputSummary(i.amount_sat or 0, i.is_ours) for i in analysis.inputs],
    )


# ---- starting ---------------------------------------------------------------------

class ApproveHsmPolicy(PendingAction):
    """The "Start HSM?" story, then (new file only) the "Last chance" digit."""

    kind = "hsm-start"
    title = texts.START_TITLE

    def __init__(self, dev, policy: HsmPolicy, new_file: bool) -> None:
        super().__init__()
        self.dev, self.policy, self.new_file = dev, policy, new_file
        self.confirm_char: str | None = None
        self.story = Story(self.title, explain(policy, dev.chain) + texts.PRESS_OK)

    def on_key(self, key: str) -> None:
        if self.confirm_char is None:
            if key == "y" and self.new_file:
                self.confirm_char = random.choice(CONFIRM_CHARS)
                body = texts.LAST_CHANCE.format(hash=self.policy.hash(), key=self.confirm_char)
                self.story = Story(self.title, body)
            elif key == "y":
                self._done(approved=True)
            elif key == "x":
                self._done(approved=False)
            return
        # strict escape: only cancel and the one digit leave this story
        if key == self.confirm_char:
            self._done(approved=True)
        elif key == "x":
            self._done(approved=False)

    def _done(self, *, approved: bool) -> None:
        self.refused = not approved
        self.finish()
        self.dev.approvals.cleanup()
        if approved:
            activate(self.dev, self.policy, new_file=self.new_file)


def load_policy(dev, text: bytes) -> HsmPolicy:
    try:
        return HsmPolicy.from_text(text, users=users_of(dev), wallets=wallet_names(dev))
    except HsmError as exc:
        raise RequestFailed(str(exc)) from None


def activate(dev, policy: HsmPolicy, *, new_file: bool) -> None:
    engine = HsmEngine(policy, dev.state.dir, users=users_of(dev), chain=dev.chain, new_file=new_file)
    dev.hsm = HsmMode(dev, engine)


def maybe_boot_to_hsm(dev) -> None:
    """Power-up: a saved policy turns ``hsmcmd`` on; a ``boot_to_hsm`` one starts at once."""
    if not policy_available(dev.state.dir):
        return
    dev.state.put_and_save("hsmcmd", True)
    try:
        engine = HsmEngine.boot(dev.state.dir, users=users_of(dev), wallets=wallet_names(dev), chain=dev.chain)
    except HsmError:
        return  # the firmware would brick itself on a broken boot_to_hsm policy
    if engine is not None:
        dev.hsm = HsmMode(dev, engine)


# ---- hooks the command set calls ----------------------------------------------------

def check_xpub_share(dev, path: str) -> None:
    if dev.hsm is not None:
        dev.hsm.check_xpub_share(path)


def check_address_share(dev, path: str | None, *, is_p2sh: bool = False) -> None:
    if dev.hsm is not None:
        dev.hsm.check_address_share(path, is_p2sh)


def decide_transaction(dev, action, analysis) -> None:
    dev.hsm.decide_transaction(action, analysis)


def decide_message(dev, action, path: str, text: str = "", address: str = "") -> None:
    dev.hsm.decide_message(action, path, text, address)


def device_inactive_status(dev) -> dict:
    active = dev.approvals.active
    waiting = isinstance(active, ApproveHsmPolicy) and not active.ux_done
    return inactive_status(policy_available=policy_available(dev.state.dir), users=users_of(dev).list(),
                           wallets=wallet_names(dev), chain=dev.chain, approval_wait=waiting)


# ---- the USB commands -------------------------------------------------------------

def _status(dev, args):
    status = dev.hsm.status() if dev.hsm is not None else device_inactive_status(dev)
    return b"asci" + micropython_json.dumps(status).encode()


def _start(dev, args):
    from .commands import staged_bytes

    if args:
        file_len, file_sha = struct.unpack_from("<I32s", args)
        if file_sha != dev.file_checksum.digest():
            return b"err_Checksum"
        assert 2 <= file_len <= MAX_POLICY_LEN, "badlen"
    else:
        file_len = 0
    dev.approvals.cleanup()
    if file_len:
        text, new_file = staged_bytes(dev, file_len), True
    else:
        text, new_file = dev.state.saved_policy(), False
        if text is None:
            raise ValueError(texts.NO_EXISTING_POLICY)
    policy = load_policy(dev, text)
    dev.approvals.start(ApproveHsmPolicy(dev, policy, new_file))


def _storage_locker(dev, args):
    assert dev.hsm is not None, "need hsm"
    try:
        return b"biny" + dev.hsm.engine.read_storage_locker()
    except HsmError as exc:
        raise RequestFailed(str(exc)) from None


def _new_user(dev, args):
    auth_mode, name_len, secret_len = struct.unpack_from("<BBB", args)
    username = bytes(args[3 : 3 + name_len]).decode("ascii")
    secret = bytes(args[3 + name_len : 3 + name_len + secret_len])
    try:
        return b"asci" + users_of(dev).create(username, auth_mode, secret).encode("ascii")
    except HsmError as exc:
        raise RequestFailed(str(exc)) from None


def _delete_user(dev, args):
    (name_len,) = struct.unpack_from("<B", args)
    users_of(dev).delete(bytes(args[1 : 1 + name_len]).decode("ascii"))


def _user_auth(dev, args):
    totp_time, name_len, token_len = struct.unpack_from("<IBB", args)
    username = bytes(args[6 : 6 + name_len]).decode("ascii")
    token = bytes(args[6 + name_len : 6 + name_len + token_len])
    if dev.hsm is not None:
        # only queued: checked when the next PSBT arrives
        try:
            dev.hsm.engine.queue_user_auth(username, token, totp_time)
        except HsmError as exc:
            raise RequestFailed(str(exc)) from None
        return None
    return b"asci" + users_of(dev).auth(username, token, totp_time).encode("ascii")


HANDLERS = {"hsts": _status, "hsms": _start, "gslr": _storage_locker,
            "nwur": _new_user, "rmur": _delete_user, "user": _user_auth}
