"""One approval rule: parsed like ``hsm.ApprovalRule`` and checked against a transaction.

A rule's checks run in the firmware's order and the first failing one is the rule's
reason: wallet, max_amount, whitelist (BASIC or ATTEST), local_conf, users/min_users,
per_period, min_pct_self_transfer, patterns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.coldcard.hsm import texts
from backends.coldcard.hsm.attest import AttestationError, attested_address
from backends.coldcard.hsm.errors import HsmPolicyError
from backends.coldcard.hsm.fields import (
    MAX_SATS,
    assert_empty,
    pop_addresses,
    pop_bool,
    pop_dict,
    pop_float,
    pop_int,
    pop_list,
    pop_string,
)
from backends.coldcard.hsm.summary import TxSummary

TX_PATTERNS = {
    "EQ_NUM_INS_OUTS": "the number of inputs and outputs must be equal",
    "EQ_NUM_OWN_INS_OUTS": "the number of OWN inputs and outputs must be equal",
    "EQ_OUT_AMOUNTS": "all outputs must have equal amounts",
}

MAX_USERNAME_LEN = 16


class RuleMismatch(Exception):
    """The first check of a rule that a transaction fails; ``str()`` is the device's reason."""


@dataclass(frozen=True)
class WhitelistOpts:
    mode: str = "BASIC"
    allow_zeroval_outs: bool = False

    @classmethod
    def from_json(cls, obj: dict) -> WhitelistOpts:
        obj = dict(obj)  # unknown keys in here are silently ignored, as on the device
        mode = (pop_string(obj, "mode") or "BASIC").upper()
        if mode not in ("BASIC", "ATTEST"):
            raise HsmPolicyError(
                texts.INVALID_WHITELIST_MODE.format(mode=mode), texts.WHERE_INVALID_WHITELIST_MODE
            )
        return cls(mode=mode, allow_zeroval_outs=pop_bool(obj, "allow_zeroval_outs"))

    @property
    def attest(self) -> bool:
        return self.mode == "ATTEST"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"mode": self.mode}
        if self.allow_zeroval_outs:
            out["allow_zeroval_outs"] = True
        return out


@dataclass(frozen=True)
class ApprovalRule:
    """A rule; ``index`` is its 1-based number as shown in reasons (``rule #2``)."""

    index: int
    per_period: int | None = None
    max_amount: int | None = None
    users: list[str] = field(default_factory=list)
    min_users: int | None = None
    local_conf: bool = False
    whitelist: list[str] = field(default_factory=list)
    whitelist_opts: WhitelistOpts | None = None
    wallet: str | None = None
    min_pct_self_transfer: float | None = None
    patterns: list[str] = field(default_factory=list)

    @classmethod
    def from_json(
        cls,
        obj: Any,
        index: int,
        *,
        known_users: Collection[str] | None = None,
        wallets: Sequence[str] | None = None,
    ) -> ApprovalRule:
        """Parse rule ``obj`` (consumed); ``known_users``/``wallets`` as the device knows them.

        ``None`` for either skips that existence check (offline validation of a file).
        """
        if not isinstance(obj, dict):
            raise HsmPolicyError(
                f"'{type(obj).__name__}' object has no attribute 'pop'", "hsm.py:107"
            )

        def check_user(name: Any) -> Any:
            if not isinstance(name, str) or (known_users is not None and name not in known_users):
                raise HsmPolicyError(
                    texts.UNKNOWN_USER.format(user=name), texts.WHERE_UNKNOWN_USER
                )
            return name

        per_period = pop_int(obj, "per_period", 0, MAX_SATS)
        max_amount = pop_int(obj, "max_amount", 0, MAX_SATS)
        users = pop_list(obj, "users", check_user)
        whitelist = pop_addresses(obj, "whitelist")
        opts_obj = pop_dict(obj, "whitelist_opts")
        whitelist_opts = None if opts_obj is None else WhitelistOpts.from_json(opts_obj)
        min_users = pop_int(obj, "min_users", 1, len(users))
        local_conf = pop_bool(obj, "local_conf")
        wallet = pop_string(obj, "wallet", 1, 20)
        min_pct = pop_float(obj, "min_pct_self_transfer", 0, 100.0)
        patterns = pop_list(obj, "patterns")

        if len(set(map(repr, users))) != len(users):
            raise HsmPolicyError(texts.DUP_USERS, texts.WHERE_DUP_USERS)
        if whitelist_opts is not None and not whitelist:
            raise HsmPolicyError(texts.WHITELIST_OPTS_ALONE, texts.WHERE_WHITELIST_OPTS_ALONE)
        if min_users is None and users:
            min_users = len(users)
        if wallet and wallet != "1" and wallets is not None and wallet not in wallets:
            raise HsmPolicyError(
                texts.UNKNOWN_MS_WALLET.format(name=wallet), texts.WHERE_UNKNOWN_MS_WALLET
            )
        for pattern in patterns:
            if not isinstance(pattern, str) or pattern not in TX_PATTERNS:
                raise HsmPolicyError(
                    texts.UNKNOWN_PATTERN.format(pattern=pattern), texts.WHERE_UNKNOWN_PATTERN
                )
        assert_empty(obj)
        return cls(
            index=index + 1,
            per_period=per_period,
            max_amount=max_amount,
            users=users,
            min_users=min_users,
            local_conf=local_conf,
            whitelist=whitelist,
            whitelist_opts=whitelist_opts,
            wallet=wallet,
            min_pct_self_transfer=min_pct,
            patterns=patterns,
        )

    @property
    def has_velocity(self) -> bool:
        return self.per_period is not None

    def to_json(self) -> dict:
        """The cleaned rule as the device saves and hashes it: truthy values only."""
        out: dict[str, Any] = {}
        for name in (
            "per_period", "max_amount", "users", "min_users", "local_conf",
            "whitelist", "wallet", "min_pct_self_transfer", "patterns",
        ):  # fmt: skip
            value = getattr(self, name)
            if value:
                out[name] = value
        if self.whitelist_opts is not None:
            out["whitelist_opts"] = self.whitelist_opts.to_json()
        return out

    def check(
        self,
        tx: TxSummary,
        *,
        users: Collection[str],
        local_ok: bool,
        spent_so_far: int,
        chain: str,
    ) -> None:
        """Raise :class:`RuleMismatch` with the first failing check's reason."""
        total_out = tx.total_out
        if self.wallet:
            if tx.wallet_name is not None:
                _require(self.wallet == tx.wallet_name, texts.WRONG_WALLET)
            else:
                _require(self.wallet == "1", texts.NOT_MULTISIG)
        if self.max_amount is not None:
            _require(total_out <= self.max_amount, texts.AMOUNT_EXCEEDED)
        if self.whitelist:
            if self.whitelist_opts is not None and self.whitelist_opts.attest:
                self._check_attestations(tx, chain)
            else:
                self._check_whitelist(tx)
        if self.local_conf:
            _require(local_ok, texts.LOCAL_NOT_CONFIRMED)
        if self.users:
            given = set(self.users).intersection(users)
            _require(bool(given), texts.NEED_USERS)
            _require(
                len(given) >= self.min_users,
                texts.NEED_MORE_USERS.format(got=len(given), need=self.min_users),
            )
        if self.per_period is not None:
            _require(spent_so_far + total_out <= self.per_period, texts.WOULD_EXCEED_PERIOD)
        if self.min_pct_self_transfer:
            self._check_self_transfer(tx)
        self._check_patterns(tx)

    def _skipped(self, out) -> bool:
        zero_ok = self.whitelist_opts is not None and self.whitelist_opts.allow_zeroval_outs
        return out.is_change or (out.amount_sat == 0 and zero_ok)

    def _check_whitelist(self, tx: TxSummary) -> None:
        destinations = [out.address for out in tx.outputs if not self._skipped(out)]
        allowed = set(self.whitelist)
        offending = [address for address in destinations if address not in allowed]
        # the device reports one of them, picked by set order; we report the first
        if offending:
            raise RuleMismatch(texts.NON_WHITELISTED.format(address=offending[0]))

    def _check_attestations(self, tx: TxSummary, chain: str) -> None:
        for index, out in enumerate(tx.outputs):
            if self._skipped(out):
                continue
            _require(bool(out.attestation), texts.MISSING_ATTESTATION.format(index=index))
            try:
                address = attested_address(out, chain)
            except AttestationError as exc:
                raise RuleMismatch(str(exc)) from None
            _require(
                address in self.whitelist,
                texts.NON_WHITELISTED_ATTESTATION.format(index=index),
            )

    def _check_self_transfer(self, tx: TxSummary) -> None:
        own_in = sum(i.amount_sat for i in tx.inputs if i.is_ours)
        own_out = sum(o.amount_sat for o in tx.outputs if o.ours)
        if own_in == 0:
            raise RuleMismatch(texts.MPY_DIVIDE_BY_ZERO)
        percentage = own_out / own_in * 100.0
        _require(
            percentage >= self.min_pct_self_transfer,
            texts.SELF_TRANSFER.format(expected=self.min_pct_self_transfer, actual=percentage),
        )

    def _check_patterns(self, tx: TxSummary) -> None:
        if "EQ_NUM_INS_OUTS" in self.patterns:
            _require(len(tx.inputs) == len(tx.outputs), texts.UNEQUAL_INS_OUTS)
        if "EQ_NUM_OWN_INS_OUTS" in self.patterns:
            own_ins = sum(1 for i in tx.inputs if i.is_ours)
            own_outs = sum(1 for o in tx.outputs if o.ours)
            _require(own_ins == own_outs, texts.UNEQUAL_OWN_INS_OUTS)
        if "EQ_OUT_AMOUNTS" in self.patterns and tx.outputs:
            wanted = tx.outputs[0].amount_sat
            _require(all(o.amount_sat == wanted for o in tx.outputs), texts.UNEQUAL_AMOUNTS)


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise RuleMismatch(reason)
