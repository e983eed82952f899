"""``custody-tui policy ...``: the quorum's HSM policy from the command line (the same
backend calls as the Policy screen, audited the same way)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from ..services import Services
from .common import add_json_flag, emit


def register(subparsers) -> None:
    policy = subparsers.add_parser("policy", help="the signers' HSM policy: show, validate, diff, push, history")
    actions = policy.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("show", help="the intended policy and what each signer has armed")
    add_json_flag(p)
    for verb, text in (("validate", "check a policy file as a Coldcard would (its words), asking no device"),
                       ("diff", "a policy file against the last pushed version and each signer"),
                       ("push", "re-arm every enabled signer with a policy file and keep it as a version")):
        p = actions.add_parser(verb, help=text)
        p.add_argument("file", type=Path, metavar="FILE", help="HSM policy JSON")
        if verb == "push":
            p.add_argument("--reason", default="", help="why (kept with the version)")
        add_json_flag(p)
    p = actions.add_parser("history", help="every version pushed: number, hash, who, when, why")
    add_json_flag(p)
    p = actions.add_parser("authorize", help="add a destination to every signer's whitelist (a push)")
    p.add_argument("address", metavar="ADDRESS")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it is authorised (kept and audited)")
    add_json_flag(p)
    p = actions.add_parser("totp-enroll", help="create the surge tier's TOTP user on every signer; QR for the owner")
    p.add_argument("user", metavar="USER", help="user name (2 to 16 characters)")
    p.add_argument("--show-secret", action="store_true", help="also print the base32 secret (shown this once)")


def run(args, services: Services) -> int:
    action = args.action
    if action == "validate":
        return _validate(args, services)
    if action == "history":
        return _history(args, services)
    coordinator = services.quorum
    history = services.policy_history
    if action == "show":
        return _show(args, coordinator, history)
    if action == "diff":
        return _diff(args, services, coordinator, history)
    if action in ("push", "authorize"):
        return _push(args, services, coordinator, history)
    if action == "totp-enroll":
        return _totp_enroll(args, services, coordinator)
    raise AssertionError(action)


def _progress(args, text: str) -> None:
    if not getattr(args, "json", False):
        print(text, file=sys.stderr, flush=True)


def _wallets(services: Services) -> list[str] | None:
    wallet = services.config.quorum.wallet_name
    return [wallet] if services.quorum_configured and wallet else None


def _read(args, services: Services) -> dict:
    from backends.policy import parse_policy, read_policy_file

    return parse_policy(read_policy_file(args.file), network=services.config.network, wallets=_wallets(services))


def _validate(args, services: Services) -> int:
    from backends.policy import policy_hash

    with services.audited("policy", "validate", file=str(args.file)) as result:
        policy = _read(args, services)
        result["hash"] = policy_hash(policy)
    emit(args, {"valid": True, "hash": result["hash"]}, f"valid: a Coldcard would take it (policy hash {result['hash']})")
    return 0


def _signer_lines(signers) -> list[str]:
    return [f"  {s.name:<10} {s.state:<9} {(s.armed_hash or '-')[:16]:<16}  push: {s.push}" for s in signers]


def _show(args, coordinator, history) -> int:
    from backends.policy import policy_overview

    view = policy_overview(coordinator, history)
    lines = [f"intended policy: {view.hash} ({view.source})"]
    if view.tiers is not None:
        lines += _tier_lines(view.tiers)
    else:
        lines.append(f"rules: {len(view.policy.get('rules') or [])} ({view.not_two_tier})")
    lines.append("signers:")
    lines += _signer_lines(view.signers)
    emit(args, view.as_dict(), "\n".join(lines))
    return 0


def _tier_lines(tiers) -> list[str]:
    def sats(value):
        return "no limit" if value is None else f"{value} sat"

    period = f"per {tiers.period_minutes} min" if tiers.period_minutes else "(no period)"
    lines = [f"automated tier: max {sats(tiers.automated.max_amount_sat)} per tx, "
             f"{sats(tiers.automated.per_period_sat)} {period}"]
    if tiers.surge is not None:
        needed = tiers.surge.min_users or len(tiers.surge.users)
        lines.append(f"surge tier:     max {sats(tiers.surge.max_amount_sat)} per tx, "
                     f"{sats(tiers.surge.per_period_sat)} {period}, {needed} of {', '.join(tiers.surge.users)}")
    lines.append("whitelist:      " + (", ".join(tiers.whitelist) or "none (any destination)"))
    return lines


def _diff(args, services: Services, coordinator, history) -> int:
    from backends.policy import diff_proposed

    with services.audited("policy", "diff", file=str(args.file)) as result:
        diff = diff_proposed(coordinator, history, _read(args, services))
        result.update(hash=diff.hash, changes=len(diff.changes))
    lines = [f"proposed {diff.hash} against {diff.against}:"]
    lines += [f"  {c.text()}" for c in diff.changes] or ["  no field changes"]
    lines.append("signers:")
    lines += _signer_lines(diff.signers)
    emit(args, diff.as_dict(), "\n".join(lines))
    return 0


def _push(args, services: Services, coordinator, history) -> int:
    from backends.policy import SignerOutcome, SignerProgress, authorize_destination, policy_hash, push_policy

    def on_event(event) -> None:
        if isinstance(event, SignerProgress):
            _progress(args, f"{event.signer}: {event.text}")
        elif isinstance(event, SignerOutcome):
            _progress(args, event.text())

    if args.action == "push":
        policy = _read(args, services)
        details = {"file": str(args.file), "hash": policy_hash(policy), "reason": args.reason}
        with services.audited("policy", "push", irreversible=True, **details) as result:
            pushed = push_policy(coordinator, history, policy, actor=services.actor, reason=args.reason,
                                 on_event=on_event)
            result.update(version=pushed.version.number, reached=list(pushed.version.reached), stale=pushed.stale)
    else:
        with services.audited("policy", "authorize", irreversible=True, address=args.address,
                              reason=args.reason) as result:
            pushed = authorize_destination(coordinator, history, args.address, actor=services.actor,
                                           reason=args.reason, on_event=on_event)
            result.update(version=pushed.version.number, hash=pushed.version.hash, stale=pushed.stale)
    number = pushed.version.number
    head = f"version {number} ({pushed.version.hash[:16]}…)" + ("" if pushed.new_version else ", unchanged")
    lines = [head] + [f"  {o.text()}" for o in pushed.outcomes]
    if pushed.stale:
        lines.append(f"stale (not counted live until they run version {number}): {', '.join(pushed.stale)}")
    emit(args, pushed.as_dict(), "\n".join(lines))
    return 1 if pushed.stale else 0


def _history(args, services: Services) -> int:
    versions = services.policy_history.versions()
    lines = [f"{v.number:>4}  {v.hash[:16]}  {_when(v.created)}  {v.actor}  "
             f"reached {','.join(v.reached) or '-'}" + (f"  stale {','.join(v.stale)}" if v.stale else "")
             + (f"\n      {v.reason}" if v.reason else "") for v in versions]
    emit(args, {"versions": [v.as_dict() for v in versions]}, "\n".join(lines) or "no policy pushed yet")
    return 0


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _totp_enroll(args, services: Services, coordinator) -> int:
    from backends.policy import SignerOutcome, SignerProgress, enroll_totp
    from backends.qr import half_block_lines, qr_matrix

    from .keys import unlocked

    def on_event(event) -> None:
        if isinstance(event, SignerProgress):
            _progress(args, f"{event.signer}: {event.text}")
        elif isinstance(event, SignerOutcome):
            _progress(args, event.text())

    with unlocked(services) as keystore:
        with services.audited("policy", "totp-enroll", user=args.user) as result:
            enrolment = enroll_totp(coordinator, keystore, args.user, issuer=f"custody-tui {coordinator.spec.wallet_name}",
                                    on_event=on_event)
            result.update(signers=list(enrolment.signers), keystore_label=enrolment.keystore_label,
                          base32_shown=bool(args.show_secret))
    print("Scan with the owner's authenticator (otpauth:// TOTP):")
    print("\n".join(half_block_lines(qr_matrix(enrolment.uri))))
    if args.show_secret:
        print(f"secret (base32, shown this once): {enrolment.secret_b32}")
    print(f"user {enrolment.username} enrolled on {', '.join(enrolment.signers)}; "
          f"secret kept in the keystore as {enrolment.keystore_label}")
    return 0
