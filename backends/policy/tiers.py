"""The two-tier policy as an operator edits it, mapped onto Coldcard HSM rules.

Rule #1 is the **automated tier**: up to ``max_amount`` per transaction and ``per_period``
per period, to the whitelist, with no person in the loop. Rule #2 is the **surge tier**:
a higher max and velocity, to the same whitelist, only when ``min_users`` of ``users``
(the owner's TOTP) confirm. The device takes the first rule that matches, so a small
spend signs unattended and a larger one falls through to the surge rule.

The editor keeps every top-level field; a policy whose rules have another shape (local
confirmation, patterns, three rules...) is :class:`NotTwoTier` and is edited as a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from backends.outside_input import is_decimal

from .errors import NotTwoTier

#: the top-level fields the editor carries as they are (besides period and the rules)
_TOP_LEVEL = ("msg_paths", "share_xpubs", "share_addrs", "notes", "warnings_ok", "must_log",
              "never_log", "priv_over_ux", "boot_to_hsm", "allow_sl", "set_sl")
#: rule keys the two tiers use; any other makes the policy not two-tier
_TIER_KEYS = {"wallet", "max_amount", "per_period", "whitelist", "users", "min_users"}


@dataclass(frozen=True)
class Tier:
    max_amount_sat: int | None = None
    per_period_sat: int | None = None
    users: tuple[str, ...] = ()
    min_users: int | None = None


@dataclass(frozen=True)
class TwoTierPolicy:
    automated: Tier
    surge: Tier | None
    whitelist: tuple[str, ...]
    wallet: str | None
    period_minutes: int | None
    #: msg_paths, share_xpubs, notes, warnings_ok, must_log, boot_to_hsm, ... as in the JSON
    top_level: dict = field(default_factory=dict, repr=False)  # boot_to_hsm/set_sl are codes

    @classmethod
    def from_policy(cls, policy: dict) -> TwoTierPolicy:
        """The tiers of a policy (validate it first); NotTwoTier says what does not fit."""
        rules = policy.get("rules") or []
        if not 1 <= len(rules) <= 2:
            raise NotTwoTier(f"the policy has {len(rules)} rules; the editor edits an automated "
                             "rule and an optional surge rule", hint="edit it as a file (policy push FILE)")
        for number, rule in enumerate(rules, 1):
            extra = sorted(k for k, v in rule.items() if k not in _TIER_KEYS and v not in (None, False))
            if extra:
                raise NotTwoTier(f"rule #{number} uses {', '.join(extra)}, which the tier editor does not edit",
                                 hint="edit it as a file (policy push FILE)")
        automated, surge = rules[0], (rules[1] if len(rules) == 2 else None)
        if automated.get("users"):
            raise NotTwoTier("rule #1 needs users; the automated tier needs none")
        if surge is not None:
            if not surge.get("users"):
                raise NotTwoTier("rule #2 needs no users; the surge tier is gated by users (TOTP)")
            if _whitelist(surge) != _whitelist(automated) or surge.get("wallet") != automated.get("wallet"):
                raise NotTwoTier("the two rules differ in whitelist or wallet; the tiers share both")
        return cls(automated=_tier(automated), surge=None if surge is None else _tier(surge),
                   whitelist=_whitelist(automated), wallet=automated.get("wallet"),
                   period_minutes=policy.get("period"),
                   top_level={k: policy[k] for k in _TOP_LEVEL if policy.get(k) not in (None, False, [], "")})

    def to_policy(self) -> dict:
        policy: dict = dict(self.top_level)
        if self.period_minutes is not None:
            policy["period"] = self.period_minutes
        policy["rules"] = [self._rule(self.automated)] + ([self._rule(self.surge)] if self.surge else [])
        return policy

    def _rule(self, tier: Tier) -> dict:
        rule: dict = {}
        if self.wallet:
            rule["wallet"] = self.wallet
        for key, value in (("max_amount", tier.max_amount_sat), ("per_period", tier.per_period_sat)):
            if value is not None:
                rule[key] = value
        if self.whitelist:
            rule["whitelist"] = list(self.whitelist)
        if tier.users:
            rule["users"] = list(tier.users)
            if tier.min_users is not None:
                rule["min_users"] = tier.min_users
        return rule

    def with_address(self, address: str) -> TwoTierPolicy:
        from dataclasses import replace

        return replace(self, whitelist=(*self.whitelist, address))


def _tier(rule: dict) -> Tier:
    return Tier(rule.get("max_amount"), rule.get("per_period"), tuple(rule.get("users") or ()), rule.get("min_users"))


def _whitelist(rule: dict) -> tuple[str, ...]:
    return tuple(rule.get("whitelist") or ())


# -- the editor's form: text fields in, a policy document out ------------------------------

#: (field, label) in the order the editor shows them
FORM_FIELDS = (
    ("period", "period (minutes)"),
    ("auto_max", "automated: max per tx (sat)"),
    ("auto_velocity", "automated: per period (sat)"),
    ("surge_max", "surge: max per tx (sat)"),
    ("surge_velocity", "surge: per period (sat)"),
    ("surge_users", "surge: users (TOTP)"),
    ("surge_min_users", "surge: users needed"),
    ("whitelist", "whitelist"),
    ("msg_paths", "msg_paths"),
    ("share_xpubs", "share_xpubs"),
    ("share_addrs", "share_addrs"),
    ("notes", "notes"),
)
#: the yes/no fields
FORM_FLAGS = ("warnings_ok", "must_log")


def to_form(tiers: TwoTierPolicy) -> dict[str, str | bool]:
    def num(value):
        return "" if value is None else str(value)

    top = tiers.top_level
    surge = tiers.surge or Tier()
    form: dict[str, str | bool] = {
        "period": num(tiers.period_minutes),
        "auto_max": num(tiers.automated.max_amount_sat), "auto_velocity": num(tiers.automated.per_period_sat),
        "surge_max": num(surge.max_amount_sat), "surge_velocity": num(surge.per_period_sat),
        "surge_users": ", ".join(surge.users), "surge_min_users": num(surge.min_users),
        "whitelist": ", ".join(tiers.whitelist),
        "msg_paths": ", ".join(top.get("msg_paths") or ()), "share_xpubs": ", ".join(top.get("share_xpubs") or ()),
        "share_addrs": ", ".join(top.get("share_addrs") or ()), "notes": top.get("notes") or "",
    }
    for flag in FORM_FLAGS:
        form[flag] = bool(top.get(flag))
    return form


def from_form(form: dict[str, str | bool], base: TwoTierPolicy) -> dict:
    """The policy document the form describes, *not yet validated*: a number typed as
    digits becomes a number, anything else stays text so the firmware's check words it
    (``max_amount: must be integer``). Fields the form lacks keep ``base``'s values."""
    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    surge_users = _items(text("surge_users"))
    surge = None
    if surge_users or text("surge_max") or text("surge_velocity"):
        surge = Tier(_number(text("surge_max")), _number(text("surge_velocity")), tuple(surge_users),
                     _number(text("surge_min_users")))
    top = {k: v for k, v in base.top_level.items()}
    for name in ("msg_paths", "share_xpubs", "share_addrs"):
        top[name] = _items(text(name))
    top["notes"] = text("notes") or None
    for flag in FORM_FLAGS:
        top[flag] = bool(form.get(flag))
    top = {k: v for k, v in top.items() if v not in (None, False, [], "")}
    tiers = TwoTierPolicy(
        automated=Tier(_number(text("auto_max")), _number(text("auto_velocity"))), surge=surge,
        whitelist=tuple(_items(text("whitelist"))), wallet=base.wallet,
        period_minutes=_number(text("period")), top_level=top)
    return tiers.to_policy()


def _number(text: str):
    if not text:
        return None
    return int(text) if is_decimal(text) else text  # the engine words a non-number


def _items(text: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", text) if item]
