"""``custody-tui quorum ...``: the signer quorum from the command line (the same
coordinator calls as the Quorum screen, audited the same way)."""

from __future__ import annotations

import dataclasses
import sys

from backends.errors import CustodyError

from ..services import Services
from .common import add_json_flag, count_arg, emit, read_secret_line
from .keys import verify_signature

#: no amount can exceed every bitcoin there will ever be
MAX_MONEY_SAT = 21_000_000 * 100_000_000


def register(subparsers) -> None:
    quorum = subparsers.add_parser("quorum", help="the signer quorum: status, arming, spends, proof of control")
    actions = quorum.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("status", help="each signer's checks, the quorum's health and balance")
    add_json_flag(p)

    p = actions.add_parser("arm", help="enrol the wallet, upload the policy, start HSM mode and verify")
    p.add_argument("names", nargs="*", metavar="NAME", help="signers to arm (default: every enabled one)")
    add_json_flag(p)

    for verb in ("enable", "disable"):
        p = actions.add_parser(verb, help=f"{verb} a signer (kept in the data dir)")
        p.add_argument("name")
        add_json_flag(p)

    for verb, text in (("spend", "pay an address: pre-flight, two signers, broadcast"),
                       ("preflight", "what each live signer's policy would decide, asking no device")):
        p = actions.add_parser(verb, help=text)
        p.add_argument("--amount", type=count_arg(1, MAX_MONEY_SAT), required=True, metavar="SATS", help="amount to pay, in satoshis")
        p.add_argument("--to", required=True, metavar="ADDRESS", help="the address paid (on the policy's whitelist)")
        if verb == "spend":
            p.add_argument("--note", default="", help="a note kept with the spend")
            p.add_argument("--totp", action="store_true",
                           help="the surge tier: read the owner's TOTP code at a hidden prompt or from stdin "
                                "(never argv), relay it to each signer; quorum.surge_global_cap_sat applies")
            p.add_argument("--totp-user", metavar="NAME", help="whose code it is (default: the one user the "
                           "policy's rules name)")
        add_json_flag(p)

    p = actions.add_parser("sign-message", help="proof of control: two signers sign TEXT (BIP-137)")
    p.add_argument("text")
    add_json_flag(p)

    p = actions.add_parser("verify-message", help="verify one signer's BIP-137 signature")
    p.add_argument("address")
    p.add_argument("message", metavar="TEXT")
    p.add_argument("signature", help="base64 signature")
    add_json_flag(p)


def run(args, services: Services) -> int:
    action = args.action
    if action == "verify-message":
        return verify_signature(args, services, "quorum")
    coordinator = services.quorum
    if action == "status":
        return _status(args, services, coordinator)
    if action == "arm":
        statuses = coordinator.arm(args.names or None, say=lambda text: _progress(args, text))
        _read_the_others(coordinator, statuses)
        emit(args, {"signers": [s.as_dict() for s in statuses], "health": coordinator.health()},
             "\n".join(_signer_line(s) for s in statuses) + f"\nhealth: {coordinator.health()}")
        return 0 if all(s.live for s in statuses) else 1
    if action in ("enable", "disable"):
        status = coordinator.set_enabled(args.name, action == "enable")
        _read_the_others(coordinator, [status])
        emit(args, {"signer": status.as_dict(), "health": coordinator.health()},
             f"{_signer_line(status)}\nhealth: {coordinator.health()}")
        return 0
    if action == "preflight":
        with services.audited("quorum", "preflight", amount_sat=args.amount, destination=args.to) as result:
            flight = coordinator.preflight(args.amount, args.to)
            result["would_pass"] = flight.would_pass
        emit(args, _preflight_dict(flight), _preflight_text(flight))
        return 0 if flight.would_pass else 1
    if action == "spend":
        return _spend(args, coordinator)
    if action == "sign-message":
        return _sign_message(args, coordinator)
    raise AssertionError(action)


def _read_the_others(coordinator, done) -> None:
    """The quorum's health needs every signer's status, not only the ones acted on."""
    names = {s.name for s in done}
    others = [s.name for s in coordinator.spec.signers if s.name not in names]
    if others:
        coordinator.refresh(others)


def _progress(args, text: str) -> None:
    if not getattr(args, "json", False):
        print(text, file=sys.stderr, flush=True)


def _signer_line(s) -> str:
    mark = "live" if s.live else s.state
    counts = f"approvals {s.approvals} refusals {s.refusals}"
    why = f"  ({s.problem})" if s.problem and s.enabled else ""
    # its next PSBT is judged with the queued code(s): a void one after a failed surge request
    queued = f"  ({s.pending_auth} user code(s) queued for its next PSBT)" if s.pending_auth else ""
    return f"{s.name:<10} {s.xfp or '--------'}  {mark:<9} {counts}{why}{queued}"


def _status(args, services: Services, coordinator) -> int:
    statuses = coordinator.refresh()
    balance = None
    if services.chain_configured:
        try:
            found = coordinator.balance()
            balance = {"confirmed": found.confirmed_sat, "unconfirmed": found.unconfirmed_sat}
        except CustodyError as exc:
            _progress(args, f"balance unavailable: {exc}")
    data = {"health": coordinator.health(),
            "signers": [{k: v for k, v in s.as_dict().items() if k in _STATUS_KEYS} for s in statuses],
            "balance_sat": balance}
    usage = _global_usage(args, services, coordinator)
    data["global"] = usage.as_dict() if usage is not None else None
    lines = [f"health: {data['health']}"] + [_signer_line(s) for s in statuses]
    for s in statuses:
        if s.last_refusal:
            lines.append(f"{s.name}: last refusal: {s.last_refusal}")
    if balance is not None:
        lines.append(f"balance: {balance['confirmed']} sat confirmed, {balance['unconfirmed']} sat unconfirmed")
    if usage is not None:
        lines.append(f"global cap: {usage.summary()}")
    emit(args, data, "\n".join(lines))
    return 0


def _global_usage(args, services: Services, coordinator):
    if coordinator.global_cap is None or not services.chain_configured:
        return None
    try:
        return coordinator.global_usage()
    except CustodyError as exc:
        _progress(args, f"global cap unavailable: {exc}")
        return None


_STATUS_KEYS = ("name", "xfp", "reachable", "hsm_active", "policy_ok", "live", "approvals", "refusals",
                "last_refusal", "enabled", "pending_auth")


def _preflight_dict(flight) -> dict:
    return {"would_pass": flight.would_pass, "amount_sat": flight.amount_sat, "fee_sat": flight.fee_sat,
            "threshold": flight.threshold,
            "signers": [dataclasses.asdict(v) for v in flight.verdicts]}


def _preflight_text(flight) -> str:
    lines = [f"pre-flight: {flight.amount_sat} sat, fee {flight.fee_sat} sat; "
             f"{flight.approvals} would sign, {flight.threshold} needed"]
    for v in flight.verdicts:
        verdict = f"rule #{v.rule}" if v.approved else f"REFUSED: {v.reason}"
        room = f", {v.headroom_sat} sat left this period" if v.headroom_sat is not None else ""
        lines.append(f"  {v.signer:<10} {verdict}{room}")
    return "\n".join(lines)


def _spend(args, coordinator) -> int:
    from backends.quorum import DeviceResult, Done, Failed, Preflight, Refusal, Step

    last = None
    totp = read_secret_line("Owner's TOTP code: ") if args.totp else None
    for event in coordinator.spend(args.amount, args.to, args.note, totp=totp, totp_user=args.totp_user):
        last = event
        if isinstance(event, Step):
            _progress(args, f"{event.name}: {event.text}")
        elif isinstance(event, Preflight):
            _progress(args, _preflight_text(event))
        elif isinstance(event, DeviceResult):
            _progress(args, f"{event.signer}: {'signed' if event.ok else event.detail}")
        elif isinstance(event, Refusal):
            _progress(args, f"{event.signer}: refused: {event.reason}")
    if isinstance(last, Done):
        emit(args, {"ok": True, "txid": last.txid, "signers": list(last.signers), "fee_sat": last.fee_sat},
             f"broadcast {last.txid} (fee {last.fee_sat} sat, signed by {', '.join(last.signers)})")
        return 0
    assert isinstance(last, Failed)
    refusals = "".join(f"\n  {name}: {reason}" for name, reason in last.refusals.items())
    emit(args, {"ok": False, "reason": last.reason, "refusals": last.refusals},
         f"spend failed: {last.reason}{refusals}" + (f"\nhint: {last.hint}" if last.hint else ""))
    return 1


def _sign_message(args, coordinator) -> int:
    from backends.quorum import DeviceResult, Failed, Proven, Refusal

    last = None
    for event in coordinator.sign_message(args.text):
        last = event
        if isinstance(event, Refusal):
            _progress(args, f"{event.signer}: refused: {event.reason}")
        elif isinstance(event, DeviceResult) and not event.ok:
            _progress(args, f"{event.signer}: {event.detail}")
    if isinstance(last, Proven):
        rows = [dataclasses.asdict(s) for s in last.signatures]
        emit(args, {"ok": True, "text": last.text, "signatures": rows},
             "\n".join(f"{s.signer}: {s.address} {s.signature}" for s in last.signatures))
        return 0
    assert isinstance(last, Failed)
    emit(args, {"ok": False, "reason": last.reason, "refusals": last.refusals},
         f"not signed: {last.reason}" + "".join(f"\n  {n}: {r}" for n, r in last.refusals.items()))
    return 1

