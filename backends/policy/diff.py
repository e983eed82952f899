"""What a proposed policy changes: field by field against the last pushed version, and
per signer against what each one has armed (by the policy hash it reports)."""

from __future__ import annotations

from dataclasses import dataclass

from backends.coldcard.hsm import HsmPolicy

#: fields whose value is a code, not shown in a diff (the boot code releases HSM mode)
_MASKED = ("boot_to_hsm", "set_sl")


@dataclass(frozen=True)
class FieldChange:
    field: str  # "period", "rules[2].max_amount", "rules[1].whitelist"
    old: object
    new: object

    def text(self) -> str:
        if self.field.split(".")[-1] in _MASKED:
            return f"{self.field}: changed"
        if isinstance(self.old, list) or isinstance(self.new, list):
            old, new = self.old or [], self.new or []
            added = [f"+{item}" for item in new if item not in old]
            removed = [f"-{item}" for item in old if item not in new]
            return f"{self.field}: {' '.join(added + removed) or 'reordered'}"
        return f"{self.field}: {_shown(self.old)} -> {_shown(self.new)}"

    def as_dict(self) -> dict:
        hidden = self.field.split(".")[-1] in _MASKED
        return {"field": self.field, "old": "…" if hidden else self.old, "new": "…" if hidden else self.new,
                "text": self.text()}


def masked(policy: dict) -> dict:
    """``policy`` for printing: the boot code and the storage locker's text left out."""
    return {k: ("…" if k in _MASKED else v) for k, v in policy.items()}


def _shown(value: object) -> str:
    return "(none)" if value is None else str(value)


def field_changes(old: dict | None, new: dict) -> list[FieldChange]:
    """Changes from ``old`` (None: nothing pushed yet) to ``new``, both valid policies,
    compared in the form the device saves (so ``0``/``false``/absent are the same)."""
    before = HsmPolicy.from_json(old).to_json() if old is not None else {"rules": []}
    after = HsmPolicy.from_json(new).to_json()
    changes = [FieldChange(key, before.get(key), after.get(key))
               for key in _keys(before, after) if key != "rules" and before.get(key) != after.get(key)]
    old_rules, new_rules = before["rules"], after["rules"]
    for number in range(1, max(len(old_rules), len(new_rules)) + 1):
        a = old_rules[number - 1] if number <= len(old_rules) else None
        b = new_rules[number - 1] if number <= len(new_rules) else None
        if a is None or b is None:
            changes.append(FieldChange(f"rules[{number}]", _rule_text(a), _rule_text(b)))
            continue
        changes += [FieldChange(f"rules[{number}].{key}", a.get(key), b.get(key))
                    for key in _keys(a, b) if a.get(key) != b.get(key)]
    return changes


def _keys(a: dict, b: dict) -> list[str]:
    return list(a) + [k for k in b if k not in a]


def _rule_text(rule: dict | None) -> str | None:
    if rule is None:
        return None
    return ", ".join(f"{k}={v}" for k, v in rule.items()) or "(any)"


@dataclass(frozen=True)
class SignerPolicy:
    """One signer's armed policy against the intended (last pushed) and a proposed one."""

    name: str
    state: str  # matches, stale, not armed, down, disabled
    armed_hash: str | None
    runs_proposed: bool
    push: str  # what a push of the proposed policy would do to it

    def as_dict(self) -> dict:
        return {"name": self.name, "state": self.state, "armed_hash": self.armed_hash,
                "runs_proposed": self.runs_proposed, "push": self.push}


def armed_policies(statuses, intended_hash: str, proposed_hash: str | None = None) -> list[SignerPolicy]:
    """Each signer's armed policy, from the coordinator's newest statuses."""
    proposed_hash = proposed_hash or intended_hash
    return [_signer_policy(s, intended_hash, proposed_hash) for s in statuses]


def _signer_policy(status, intended_hash: str, proposed_hash: str) -> SignerPolicy:
    armed = status.policy_hash if status.hsm_active else None
    runs_proposed = armed == proposed_hash
    if not status.enabled:
        state, push = "disabled", "left alone (disabled)"
    elif not status.reachable:
        state, push = "down", "cannot be reached: it stays stale until pushed again"
    elif not status.hsm_active:
        state, push = "not armed", "will be armed"
    else:
        state = "matches" if armed == intended_hash else "stale"
        push = ("already runs it" if runs_proposed else
                "in HSM mode with another policy: power-cycle it, then it is armed (auto-heal or push)")
    return SignerPolicy(status.name, state, armed, runs_proposed, push)
