"""The HSM policy document: parsed and validated like ``HSMPolicy.load``, saved and hashed
like ``HSMPolicy.save``/``hash``."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.errors import HsmPolicyError
from backends.coldcard.hsm.fields import (
    assert_empty,
    pop_bool,
    pop_deriv_list,
    pop_int,
    pop_list,
    pop_string,
)
from backends.coldcard.hsm.rules import ApprovalRule
from backends.outside_input import OutsideInputRefused, load_json, require_plain

#: a policy file larger than this is refused unread (a full one with every list is ~10 KiB)
MAX_POLICY_BYTES = 64 * 1024
#: the storage locker is 416 bytes: a 2-byte length and up to 414 bytes of text
STORAGE_LOCKER_LEN = 416
#: top-level fields in the order the device saves and hashes them
_SIMPLE_FIELDS = (
    "must_log", "never_log", "msg_paths", "share_xpubs", "share_addrs", "notes",
    "period", "allow_sl", "warnings_ok", "boot_to_hsm", "priv_over_ux",
)  # fmt: skip


@dataclass(frozen=True)
class HsmPolicy:
    """A validated policy. Build it with :meth:`from_json` or :meth:`from_text`."""

    rules: list[ApprovalRule] = field(default_factory=list)
    must_log: bool = False
    never_log: bool = False
    priv_over_ux: bool = False
    warnings_ok: bool = False
    msg_paths: list[str] = field(default_factory=list)
    share_xpubs: list[str] = field(default_factory=list)
    share_addrs: list[str] = field(default_factory=list)
    notes: str | None = None
    period: int | None = None
    allow_sl: int | None = None
    set_sl: str | None = field(default=None, repr=False)
    boot_to_hsm: str | None = field(default=None, repr=False)

    @classmethod
    def from_text(
        cls,
        text: bytes | str,
        *,
        users: Collection[str] | None = None,
        wallets: Sequence[str] | None = None,
    ) -> HsmPolicy:
        """Parse an uploaded policy file; see :meth:`from_json`."""
        try:
            obj = load_json(text, max_bytes=MAX_POLICY_BYTES, what="policy")
        except ValueError:
            raise HsmPolicyError(texts.JSON_PARSE_FAIL, texts.WHERE_JSON_PARSE_FAIL) from None
        return cls.from_json(obj, users=users, wallets=wallets)

    @classmethod
    def from_json(
        cls,
        obj: Any,
        *,
        users: Collection[str] | None = None,
        wallets: Sequence[str] | None = None,
    ) -> HsmPolicy:
        """Validate ``obj`` like the device; raises :class:`HsmPolicyError` with its text.

        ``users`` (the enrolled usernames, or a ``UserStore``) and ``wallets`` (the enrolled
        multisig wallet names) are checked like the device checks them; ``None`` skips that
        check, for offline validation of a file.
        """
        if not isinstance(obj, dict):
            raise HsmPolicyError(
                f"'{type(obj).__name__}' object has no attribute 'get'", "hsm_ux.py:114"
            )
        try:
            require_plain(obj, what="policy")
        except OutsideInputRefused:
            raise HsmPolicyError(texts.JSON_PARSE_FAIL, texts.WHERE_JSON_PARSE_FAIL) from None
        j = copy.deepcopy(obj)
        must_log = pop_bool(j, "must_log")
        never_log = pop_bool(j, "never_log")
        if must_log and never_log:
            raise HsmPolicyError(texts.LOG_CONFLICT, texts.WHERE_LOG_CONFLICT)
        priv_over_ux = pop_bool(j, "priv_over_ux")
        warnings_ok = pop_bool(j, "warnings_ok")
        msg_paths = pop_deriv_list(j, "msg_paths")
        share_xpubs = pop_deriv_list(j, "share_xpubs")
        share_addrs = pop_deriv_list(j, "share_addrs", "p2sh")
        notes = pop_string(j, "notes", 1, 80)
        period = pop_int(j, "period", 1, 3 * 24 * 60)
        allow_sl = pop_int(j, "allow_sl", 1, 100)
        set_sl = pop_string(j, "set_sl", 16, STORAGE_LOCKER_LEN - 2)
        if set_sl and not allow_sl:
            raise HsmPolicyError(texts.NEED_ALLOW_SL, texts.WHERE_NEED_ALLOW_SL)
        boot_to_hsm = pop_string(j, "boot_to_hsm", 1, 6)
        rules = [
            ApprovalRule.from_json(item, index, known_users=users, wallets=wallets)
            for index, item in enumerate(pop_list(j, "rules"))
        ]
        if not period and any(rule.has_velocity for rule in rules):
            raise HsmPolicyError(texts.NEEDS_PERIOD, texts.WHERE_NEEDS_PERIOD)
        assert_empty(j)
        return cls(
            rules=rules, must_log=must_log, never_log=never_log, priv_over_ux=priv_over_ux,
            warnings_ok=warnings_ok, msg_paths=msg_paths, share_xpubs=share_xpubs,
            share_addrs=share_addrs, notes=notes, period=period, allow_sl=allow_sl,
            set_sl=set_sl, boot_to_hsm=boot_to_hsm,
        )  # fmt: skip

    def to_json(self, *, simulator: bool = True) -> dict:
        """The cleaned policy as the device saves it (truthy values only).

        A real device never writes ``set_sl`` into the saved file; the simulator does.
        """
        out: dict[str, Any] = {}
        for name in _SIMPLE_FIELDS:
            value = getattr(self, name)
            if value:
                out[name] = value
        out["rules"] = [rule.to_json() for rule in self.rules]
        if simulator and self.set_sl is not None:
            out["set_sl"] = self.set_sl
        return out

    @property
    def sl_hash(self) -> str | None:
        if not self.set_sl:
            return None
        return hashlib.sha256(self.set_sl.encode() + b"pepper").hexdigest()

    def hash(self) -> str:
        """``policy_hash``: SHA-256 of the canonical JSON (shown on screen and in ``hsts``)."""
        canonical = self.to_json(simulator=False)
        if self.sl_hash:
            canonical["sl_hash"] = self.sl_hash
        return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()

    @property
    def uses_local_conf(self) -> bool:
        return any(rule.local_conf for rule in self.rules)
