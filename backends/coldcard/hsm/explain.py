"""The approval story's text for a policy (``HSMPolicy.explain``, ``ApprovalRule.to_text``);
``hsts`` reports it as ``summary``."""

from __future__ import annotations

from backends.coldcard.hsm.policy import HsmPolicy
from backends.coldcard.hsm.rules import TX_PATTERNS, ApprovalRule


def render_value(sats: int, chain: str) -> str:
    """An amount in whole coins without trailing zeros, e.g. ``0.00001 XTN``."""
    whole, frac = divmod(sats, 100_000_000)
    text = ("%d.%08d" % (whole, frac)).rstrip("0") if frac else "%d" % whole
    return f"{text} {chain}"


def rule_text(rule: ApprovalRule, chain: str) -> str:
    if rule.per_period is not None:
        text = "Up to %s per period" % render_value(rule.per_period, chain)
        if rule.max_amount is not None:
            text += ", and up to %s per txn" % render_value(rule.max_amount, chain)
    elif rule.max_amount is not None:
        text = "Up to %s per txn" % render_value(rule.max_amount, chain)
    else:
        text = "Any amount"
    if rule.wallet == "1":
        text += " (non multisig)"
    elif rule.wallet:
        text += ' from multisig wallet "%s"' % rule.wallet
    text += _users_text(rule)
    if rule.whitelist:
        opts = rule.whitelist_opts
        if opts is not None and opts.attest:
            text += " if outputs attested by one of: " + ", ".join(rule.whitelist)
        else:
            text += " provided it goes to: " + ", ".join(rule.whitelist)
        if opts is not None and opts.allow_zeroval_outs:
            text += " while allowing outputs with zero value"
    if rule.local_conf:
        text += " if local user confirms"
    if rule.min_pct_self_transfer:
        text += " if self-transfer percentage is at least %.2f" % rule.min_pct_self_transfer
    if rule.patterns:
        text += " with the following patterns: "
        text += "".join(TX_PATTERNS[p] + "; " for p in rule.patterns)
    return text


def _users_text(rule: ApprovalRule) -> str:
    if not rule.users:
        return " will be approved"
    count, need = len(rule.users), rule.min_users
    text = " may be authorized by "
    if need == count == 1:
        return text + "user: " + rule.users[0]
    if need == count:
        return text + "all users: " + ", ".join(rule.users)
    if need == 1:
        return text + "any one user: " + " OR ".join(rule.users)
    return text + "at least %d users: " % need + ", ".join(rule.users)


def _paths(paths: list[str]) -> str:
    remap = {"any": "(any path)", "p2sh": "(any P2SH)"}
    return " OR ".join(remap.get(p, p) for p in paths)


def explain(policy: HsmPolicy, chain: str) -> str:
    out = []
    if policy.notes:
        out.append("=-=\n%s\n=-=\n" % policy.notes)
    out.append("\nTransactions:\n")
    if not policy.rules:
        out.append("- No transaction will be signed.\n")
    for rule in policy.rules:
        out.append("- Rule #%d: %s\n" % (rule.index, rule_text(rule, chain)))
    if policy.period:
        out.append("\nVelocity Period:\n %d minutes" % policy.period)
        if policy.period >= 60:
            out.append("\n = %.3g hrs" % (policy.period / 60))
        out.append("\n")
    out.append("\nMessage signing:\n")
    if policy.msg_paths:
        out.append("- Allowed if path matches: %s\n" % _paths(policy.msg_paths))
    else:
        out.append("- Not allowed.\n")
    out.append("\nOther policy:\n")
    out.extend(_other_policy(policy))
    return "".join(out)


def _other_policy(policy: HsmPolicy) -> list[str]:
    out = []
    if not policy.never_log:
        must = "MUST" if policy.must_log else "will"
        out.append("- MicroSD card %s receive log entries.\n" % must)
    else:
        out.append("- No logging.\n")
    if policy.set_sl:
        out.append(
            "- Storage Locker will be updated, and can be read %d times.\n" % policy.allow_sl
        )
    elif policy.allow_sl:
        times = "once" if policy.allow_sl == 1 else "%d times" % policy.allow_sl
        out.append("- Storage Locker can be read only %s.\n" % times)
    if policy.warnings_ok:
        out.append("- PSBT warnings will be ignored.\n")
    if policy.share_xpubs:
        out.append(
            "- XPUB values will be shared, if path matches: m OR %s.\n" % _paths(policy.share_xpubs)
        )
    if policy.share_addrs:
        out.append(
            "- Address values will be shared, if path matches: %s.\n" % _paths(policy.share_addrs)
        )
    if policy.priv_over_ux:
        out.append("- Status responses optimized for privacy.\n")
    if policy.boot_to_hsm:
        out.append("- Boot to HSM enabled.\n")
    return out
