"""``custody-tui mint ...``: the mint's reserve, deposits, keys and redemptions from the command line.

Read-only commands print figures; every command that changes the mint is an audited
operator action. Commands that sign (keys, payouts) unlock the keystore for that one command.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backends.outside_input import excerpt

from ..services import Services
from .common import UsageError, add_json_flag, count_arg, emit
from .keys import unlocked

STATUSES = ("pending", "approved", "broadcast", "finalized", "rejected")


def hours_arg(high: float):
    """An argparse type for a duration in hours: a finite number above 0 and at most ``high``
    (``float`` alone takes 'nan', 'inf' and '1e400', which no clock can use)."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0 < value <= high):
            raise argparse.ArgumentTypeError(
                f"must be a number of hours above 0 and at most {high:g}, got {excerpt(text)!r}")
        return value

    parse.__name__ = "hours"
    return parse


def add_operator_flag(parser) -> None:
    parser.add_argument("--operator", metavar="KEY_ID",
                        help="the operator key that signs the request (default: the first in the keystore, by id)")


def register(subparsers) -> None:
    mint = subparsers.add_parser("mint", help="the mint: reserves, deposits, keys, redemptions")
    actions = mint.add_subparsers(dest="action", required=True, metavar="ACTION")

    for name, text in (("status", "keysets, deposits, redemptions, in-flight payouts and health"),
                       ("reserves", "the reserve's coins: spendable, waiting, held, fragmentation"),
                       ("health", "healthy, warn or critical, and why"),
                       ("accounting", "deposits, issued, outstanding, redeemed, reserves, surplus")):
        add_json_flag(actions.add_parser(name, help=text))

    actions.add_parser("metrics", help="the mint's figures in Prometheus text format")

    p = actions.add_parser("refresh", help="credit deposits at depth and settle recorded payouts")
    add_json_flag(p)

    keys = actions.add_parser("keys", help="denomination sets (a key per denomination)")
    keys_actions = keys.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    p = keys_actions.add_parser("create", help="a new set that takes over issuing")
    p.add_argument("--denominations", required=True, help="comma-separated sat amounts, e.g. 1000,10000,100000")
    p.add_argument("--variant", default=None, help="RFC 9474 variant (default RSABSSA-SHA384-PSS-Randomized)")
    add_json_flag(p)
    add_json_flag(keys_actions.add_parser("list", help="the sets and their public keys"))

    deposit = actions.add_parser("deposit", help="deposits into the reserve")
    deposit_actions = deposit.add_subparsers(dest="deposit_action", required=True, metavar="ACTION")
    add_json_flag(deposit_actions.add_parser(
        "address", help="a fresh deposit address and its claim secret (shown once; give both to the depositor)"))
    p = deposit_actions.add_parser("register", help="register an output paying a deposit address")
    p.add_argument("txid")
    p.add_argument("vout", type=int)
    p.add_argument("--amount", type=int, help="the amount the depositor claims, checked against the chain")
    add_json_flag(p)
    add_json_flag(deposit_actions.add_parser("list", help="registered deposits"))

    redemptions = actions.add_parser("redemptions", help="the redemption queue")
    red_actions = redemptions.add_subparsers(dest="redemptions_action", required=True, metavar="ACTION")
    p = red_actions.add_parser("list", help="redemptions, oldest first")
    p.add_argument("--status", choices=STATUSES)
    add_json_flag(p)
    p = red_actions.add_parser("approve", help="approve, sign with the reserve key and broadcast (an "
                                               "operator-signed request, as over HTTP); irreversible")
    p.add_argument("batch_id", help="the redemption's batch id (see `mint redemptions list`)")
    add_operator_flag(p)
    add_json_flag(p)
    p = red_actions.add_parser("reject", help="reject a pending redemption; its notes are restored (an "
                                              "operator-signed request, as over HTTP)")
    p.add_argument("batch_id", help="the redemption's batch id (see `mint redemptions list`)")
    p.add_argument("--reason", required=True, help="why, kept with the redemption and in the audit log")
    add_operator_flag(p)
    add_json_flag(p)

    consolidate = actions.add_parser("consolidate", help="merge the reserve's small coins")
    con_actions = consolidate.add_subparsers(dest="consolidate_action", required=True, metavar="ACTION")
    add_json_flag(con_actions.add_parser("plan", help="the dry run: coins, fee, and the reserve after"))
    p = con_actions.add_parser("execute", help="sign with the reserve key, record, broadcast (an operator-signed "
                                               "request, as over HTTP)")
    add_operator_flag(p)
    add_json_flag(p)
    add_json_flag(con_actions.add_parser("list", help="consolidations so far"))

    p = actions.add_parser("attest", help="sign a reserve attestation at the chain tip")
    p.add_argument("--out", type=Path, help="write it to this file (refused if it exists, unless --force)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p = actions.add_parser("verify-attestation", help="verify an attestation file offline")
    p.add_argument("file", type=Path)
    p.add_argument("--pubkey", help="the mint's attestation key (x-only hex) it must be signed by")
    add_json_flag(p)

    p = actions.add_parser("verify-requests", help="check every operator-signed request the audit log keeps "
                                                  "against the operator keys (exit 1 if any fails)")
    add_json_flag(p)

    p = actions.add_parser("serve", help="serve the mint's JSON HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=count_arg(1, 65535), default=8080)
    p.add_argument("--unlock-hours", type=hours_arg(720), default=12.0,
                   help="keep the keystore unlocked this long (signing endpoints refuse afterwards)")

    events = actions.add_parser("events", help="the events history, acknowledgements and silences")
    ev_actions = events.add_subparsers(dest="events_action", required=True, metavar="ACTION")
    p = ev_actions.add_parser("list", help="newest events first; active alerts are marked")
    p.add_argument("--limit", type=count_arg(1, 1_000_000), default=50)
    add_json_flag(p)
    p = ev_actions.add_parser("ack", help="acknowledge an event")
    p.add_argument("event_id", type=int)
    p = ev_actions.add_parser("silence", help="keep events of a kind out of the alerts for a while")
    p.add_argument("kind", help="an event kind (health, pause, unfundable, quorum_refused, double_spend, "
                                   "deposit_limit) or '*'")
    p.add_argument("--hours", type=hours_arg(720), required=True, help="above 0, at most 720 (30 days)")
    p.add_argument("--reason", required=True)
    add_json_flag(ev_actions.add_parser("silences", help="silences in force"))

    p = actions.add_parser("pause", help="pause redemption payouts (new redemptions still queue)")
    p.add_argument("--reason", required=True)
    add_json_flag(p)
    add_json_flag(actions.add_parser("resume", help="resume redemption payouts"))
    p = actions.add_parser("auto-pause", help="pause automatically when reserve health is critical")
    p.add_argument("setting", choices=("on", "off"))
    add_json_flag(p)

    operator = actions.add_parser("operator", help="operator keys that sign admin requests")
    op_actions = operator.add_subparsers(dest="operator_action", required=True, metavar="ACTION")
    p = op_actions.add_parser("create", help="a new HMAC operator key; its secret is shown once")
    p.add_argument("key_id")

    from ..demo_mint import add_wallet_parser

    add_wallet_parser(actions)


#: (action, sub-action) pairs that only read the mint: on a data dir without one they say so
#: and create nothing (opening the ledger would make a new mint)
READ_ONLY = {("status", None), ("reserves", None), ("health", None), ("accounting", None), ("metrics", None),
             ("keys", "list"), ("deposit", "list"), ("redemptions", "list"), ("consolidate", "plan"),
             ("consolidate", "list"), ("events", "list"), ("events", "silences")}


def _sub_action(args) -> str | None:
    return next((getattr(args, name) for name in ("keys_action", "deposit_action", "redemptions_action",
                                                  "consolidate_action", "events_action") if hasattr(args, name)),
                None)


def run(args, services: Services) -> int:
    if (args.action, _sub_action(args)) in READ_ONLY:
        from backends.mint.ledger import require_ledger

        require_ledger(services.data_dir)
    handler = {
        "status": _status, "reserves": _reserves, "health": _health, "accounting": _accounting,
        "refresh": _refresh, "metrics": lambda args, services: print(services.mint.metrics_text(), end=""), "keys": _keys, "deposit": _deposit, "redemptions": _redemptions,
        "operator": _operator, "consolidate": _consolidate, "attest": _attest,
        "verify-attestation": _verify_attestation, "verify-requests": _verify_requests, "serve": _serve, "demo-wallet": _demo_wallet, "events": _events, "pause": _pause, "resume": _pause, "auto-pause": _pause,
    }[args.action]
    handler(args, services)
    return 0


def _status(args, services: Services) -> None:
    mint = services.mint
    keysets = mint.keysets()
    deposits = mint.deposits()
    redemptions = mint.redemptions()
    flight = mint.in_flight()
    data = {
        "mint_id": mint.mint_id,
        "keysets": [{"keyset_id": k.keyset_id, "variant": k.variant.value, "active": k.active,
                     "denominations": list(k.denominations)} for k in keysets],
        "deposits": {s: sum(1 for d in deposits if d.status == s) for s in ("registered", "credited", "conflicted")},
        "redemptions": {s: sum(1 for r in redemptions if r.status == s) for s in STATUSES},
        "pending_spend_commitment_count": flight.pending_spend_commitment_count,
        "pending_spend_input_count": flight.pending_spend_input_count,
        "deposit_addresses": mint.deposit_address_figures(),
    }
    pause = mint.pause_state()
    data["pause"] = pause.to_dict()
    if mint.settings.reserve_descriptor and mint.chain is not None:
        data["health"] = mint.health().to_dict()
        data["recommendation"] = mint.recommendation()
    allowance = mint.payout_allowance()
    data["payout_allowance"] = allowance.to_dict() if allowance else None
    issuing = next((k for k in keysets if k.active), None)
    lines = [
        f"mint {mint.mint_id[:16]}",
        f"issuing keyset: {issuing.keyset_id} ({', '.join(map(str, issuing.denominations))} sat)"
        if issuing else "issuing keyset: none (mint keys create)",
        "deposits: " + ", ".join(f"{n} {s}" for s, n in data["deposits"].items()),
        "redemptions: " + ", ".join(f"{n} {s}" for s, n in data["redemptions"].items()),
        f"in flight: {flight.pending_spend_commitment_count} payout(s), {flight.pending_spend_input_count} input(s)",
        "deposit addresses: {outstanding} waiting for a deposit (cap {cap}); refused so far: {rate} over a "
        "client's rate, {cap_refused} at the cap".format(cap_refused=data["deposit_addresses"]["refused"]["cap"],
                                                         rate=data["deposit_addresses"]["refused"]["rate"],
                                                         **data["deposit_addresses"]),
    ]
    lines.append(f"payouts: paused by {pause.by}: {pause.reason}" if pause.paused else "payouts: running")
    lines.append(f"auto-pause: {'on' if pause.auto_pause else 'off'}")
    if "health" in data:
        lines.append(f"health: {data['health']['status']} (recommendation: {data['recommendation']})")
    lines.append(f"payouts signed by: {allowance.text() if allowance else 'the hot key'}")
    emit(args, data, "\n".join(lines))


def _reserves(args, services: Services) -> None:
    inv = services.mint.inventory()
    emit(args, inv.to_dict(), "\n".join([
        f"spendable: {inv.utxo_count} coin(s), {inv.utxo_value_sat} sat",
        f"waiting:   {inv.waiting_count} coin(s), {inv.waiting_value_sat} sat",
        f"held:      {inv.locked_count} coin(s), {inv.locked_value_sat} sat (recorded payouts)",
        f"small (< {inv.small_utxo_sat} sat): {inv.small_utxo_count}, fragmentation {inv.fragmentation:.0%}",
        f"largest {inv.largest_utxo_sat} sat, median {inv.median_utxo_sat} sat",
        f"one payout of {inv.max_inputs} coins can move {inv.max_payout_sat} sat",
    ]))


def _health(args, services: Services) -> None:
    health = services.mint.health()
    emit(args, health.to_dict(), "\n".join([health.status, *(f"- {r}" for r in health.reasons)]))


def _accounting(args, services: Services) -> None:
    data = services.mint.accounting().to_dict()
    width = max(map(len, data))
    emit(args, data, "\n".join(f"{k:<{width}}  {v:>16}" for k, v in data.items()))


def _refresh(args, services: Services) -> None:
    with services.audited("mint", "refresh") as result:
        deposits, redemptions = services.mint.refresh()
        result["deposits"] = [f"{d.reference[:16]}:{d.status}" for d in deposits]
        result["redemptions"] = [f"{r.redemption_id}:{r.status}" for r in redemptions]
    emit(args, result, f"{len(deposits)} deposit(s) and {len(redemptions)} redemption(s) changed")


def _keys(args, services: Services) -> None:
    if args.keys_action == "list":
        sets = [k.to_public_dict() for k in services.mint.keysets()]
        emit(args, sets, "\n".join(f"{k['keyset_id']}  {k['variant']}  {'issuing' if k['active'] else 'redeem only'}"
                                   f"  {', '.join(k['keys'])} sat" for k in sets) or "(no keysets)")
        return
    try:
        denominations = [int(part) for part in args.denominations.split(",") if part.strip()]
    except ValueError:
        raise UsageError("--denominations takes whole sat amounts separated by commas") from None
    from backends.mint.blindrsa import Variant
    from backends.mint.keysets import DEFAULT_VARIANT

    variant = Variant.parse(args.variant) if args.variant else DEFAULT_VARIANT
    with unlocked(services), services.audited("mint", "keys create", denominations=denominations,
                                              variant=variant.value) as result:
        keyset = services.mint.create_keyset(denominations, variant=variant)
        result["keyset_id"] = keyset.keyset_id
    emit(args, keyset.to_public_dict(), f"keyset {keyset.keyset_id} issues {', '.join(map(str, denominations))} sat")


def _deposit(args, services: Services) -> None:
    mint = services.mint
    depth = mint.settings.finalization_depth
    if args.deposit_action == "list":
        deposits = mint.deposits()
        emit(args, [d.to_dict(depth_required=depth) for d in deposits],
             "\n".join(f"{d.reference[:16]}  {d.outpoint}  {d.amount_sat} sat  {d.status}  issued {d.issued_sat}"
                       for d in deposits) or "(no deposits)")
        return
    if args.deposit_action == "address":
        with services.audited("mint", "deposit address") as result:  # the secret is never audited
            given = mint.deposit_address()
            result.update(address=given.address, address_index=given.address_index)
        emit(args, given.to_dict(mint.mint_id),
             f"deposit address {given.address} (index {given.address_index})\n"
             f"claim secret, shown only now: {given.claim_secret.hex()}\n"
             "only whoever holds it can have notes issued on what pays this address")
        return
    with services.audited("mint", "deposit register", txid=args.txid, vout=args.vout) as result:
        deposit = mint.register_deposit(args.txid, args.vout, amount_sat=args.amount)
        result["reference"] = deposit.reference
    emit(args, deposit.to_dict(depth_required=depth),
         f"deposit {deposit.reference}\n{deposit.amount_sat} sat, {deposit.status} (credited at {depth} confirmations)")


def _redemptions(args, services: Services) -> None:
    mint = services.mint
    depth = mint.settings.finalization_depth
    action = args.redemptions_action
    if action == "list":
        rows = mint.redemptions(args.status)
        allowance = mint.payout_allowance()  # the queue shows what the quorum's policy still allows
        emit(args, [r.to_dict(depth_required=depth) for r in rows],
             "\n".join([*(f"{r.redemption_id}  {r.amount_sat} sat  {r.status}  {r.address}"
                          + (f"  ({r.reason})" if r.reason else "") for r in rows)] or ["(no redemptions)"])
             + (f"\n{allowance.text()}" if allowance else ""))
        return
    # the signed request the HTTP API takes for the same action, signed with the operator's
    # key and checked by the mint: the records name the operator key, not the local user
    if action == "approve":
        def approve(operator: str, result: dict):
            done = mint.approve_redemption(args.batch_id, operator)
            result.update(status=done.status, txid=done.txid, reason=done.reason)
            return done

        with unlocked(services):
            redemption = _as_operator(args, services, "redemption approve", "/redemptions/approve_broadcast",
                                      {"batch_id": args.batch_id}, approve, irreversible=True,
                                      batch_id=args.batch_id)
    else:
        def reject(operator: str, result: dict):
            done = mint.reject_redemption(args.batch_id, operator, args.reason)
            result["status"] = done.status
            return done

        with unlocked(services):
            redemption = _as_operator(args, services, "redemption reject", "/redemptions/update",
                                      {"batch_id": args.batch_id, "action": "reject", "reason": args.reason},
                                      reject, batch_id=args.batch_id, reason=args.reason)
    text = f"{redemption.redemption_id}: {redemption.status}"
    if redemption.txid:
        text += f" (txid {redemption.txid})"
    if redemption.reason:
        text += f"\n{redemption.reason}"
    emit(args, redemption.to_dict(depth_required=depth), text)


def _as_operator(args, services: Services, action: str, path: str, fields: dict, run, **details):
    from backends.mint.local_operator import run_as_operator

    return run_as_operator(services.audited, services.mint, services.keystore, action, "POST", path, fields, run,
                           now=lambda: services.clocks.wall().timestamp(), via="cli", key_id=args.operator,
                           **details)


def _consolidate(args, services: Services) -> None:
    mint = services.mint
    action = args.consolidate_action
    if action == "plan":
        plan = mint.consolidation_plan()
        after = plan.estimated_post_action
        text = plan.reason or (
            f"merge {len(plan.inputs)} small coin(s) ({plan.input_sat} sat) into one of {plan.output_sat} sat, "
            f"fee {plan.fee_sat} sat at {plan.fee_rate:g} sat/vB\n"
            f"after: {after['utxo_count']} coin(s) (was {after['utxo_count_before']}), "
            f"fragmentation {after['fragmentation']:.0%} (was {after['fragmentation_before']:.0%})")
        emit(args, plan.to_dict(), text)
    elif action == "list":
        rows = mint.consolidations()
        emit(args, [c.to_dict() for c in rows], "\n".join(
            f"{c.consolidation_id}  {c.inputs} in  fee {c.fee_sat}  {c.status}  {c.txid}" for c in rows)
            or "(no consolidations)")
    else:
        def execute(operator: str, result: dict):
            made = mint.consolidate(operator)
            result.update(consolidation_id=made.consolidation_id, txid=made.txid, inputs=made.inputs)
            return made

        with unlocked(services):
            done = _as_operator(args, services, "consolidate", "/reserves/consolidate", {}, execute,
                                irreversible=True)
        emit(args, done.to_dict(), f"consolidation {done.consolidation_id}: {done.status}, {done.inputs} coins, "
                                   f"txid {done.txid}")


def _attest(args, services: Services) -> None:
    import json

    from backends.fsutil import atomic_write

    with unlocked(services), services.audited("mint", "attest", out=str(args.out or "-")) as result:
        signed = services.mint.attest(services.actor)
        result.update(height=signed["height"], reserves_sat=signed["reserves_sat"],
                      liabilities_sat=signed["liabilities_sat"])
        text = json.dumps(signed, indent=2, sort_keys=True) + "\n"
        if args.out is not None:
            try:
                atomic_write(args.out, text.encode(), mode=0o644, make_parents=False, exclusive=not args.force)
            except FileExistsError:
                raise UsageError(f"{args.out} already exists; nothing was written",
                                 hint="choose another file or pass --force") from None
    if args.out is None:
        print(text, end="")
    else:
        print(f"attestation at height {signed['height']} written to {args.out}")


def _verify_attestation(args, services: Services) -> None:
    import json

    from backends.mint.attestation import AttestationError, verify_attestation

    try:
        data = json.loads(args.file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AttestationError(f"{args.file} is not a JSON attestation: {exc}") from None
    fields = verify_attestation(data, expected_pubkey=args.pubkey)
    emit(args, fields, f"attestation verified (key {fields['pubkey'][:16]}...): reserves {fields['reserves_sat']} "
                       f"sat, liabilities {fields['liabilities_sat']} sat, surplus {fields['surplus_sat']} sat "
                       f"at height {fields['height']} ({fields['block_hash']})")


def _verify_requests(args, services: Services) -> None:
    from backends.errors import CustodyError
    from backends.mint.operators import check_audited_requests

    with unlocked(services):  # the operator keys are HMAC secrets: checking needs them
        rows = check_audited_requests(services.keystore, services.audit.export_dicts())
    emit(args, rows, "\n".join(f"{r['seq']:>6}  {r['action']:<20} {r['operator']!s:<16} "
                               f"{'ok' if r['problem'] is None else 'FAILED: ' + r['problem']}" for r in rows)
         or "(no signed requests in the audit log)")
    failed = sum(r["problem"] is not None for r in rows)
    if failed:
        raise CustodyError(f"{failed} of {len(rows)} signed requests in the audit log do not verify",
                           hint="the audit log or the operator keys were altered; compare with a backup")


def _serve(args, services: Services) -> None:
    from ..mint_api import make_server
    from .common import keystore_passphrase

    keystore = services.keystore
    ttl = args.unlock_hours * 3600
    # bound first, not by uvicorn (which exits 3 on a taken port): a port we cannot have
    # fails before anything is unlocked or audited, with a message of ours
    with _listener(args.host, args.port) as listener:
        with services.audited("mint", "serve", host=args.host, port=args.port, unlock_seconds=ttl):
            keystore.unlock(keystore_passphrase(services), ttl)
            if services.mint.chain is not None:
                services.mint.refresh()  # find payouts a crash left unrecorded before serving
        print(f"mint API on http://{args.host}:{args.port} (Ctrl-C stops it)", flush=True)
        server = make_server(services, args.host, args.port)
        try:
            server.run(sockets=[listener])
        finally:
            keystore.lock()
            server.config.app.stopped()


def _listener(host: str, port: int):
    import socket

    from backends.errors import CustodyError

    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise CustodyError(f"cannot serve the mint API on {host}:{port}: {exc.strerror or exc}",
                           hint="pick another --port (or --host)") from None
    return listener


def _events(args, services: Services) -> None:
    mint = services.mint
    action = args.events_action
    if action == "list":
        rows = mint.events(limit=args.limit)
        alerts = {e.event_id for e in mint.alerts()}
        emit(args, rows, "\n".join(
            f"{'!' if e['event_id'] in alerts else ' '} {e['event_id']:>5}  {e['severity']:<8} {e['kind']:<12} "
            f"{e['message']}" + ("  (silenced)" if e["silenced"] else "")
            + (f"  (acked by {e['acked_by']})" if e["acked_by"] else "") for e in rows) or "(no events)")
    elif action == "silences":
        rows = [s.to_dict() for s in mint.silences()]
        emit(args, rows, "\n".join(f"{s['silence_id']:>4}  {s['kind']}  until {s['until']:.0f}  {s['reason']}"
                                   for s in rows) or "(no silences)")
    elif action == "ack":
        with services.audited("mint", "event ack", event_id=args.event_id):
            mint.acknowledge(args.event_id, services.actor)
        print(f"event {args.event_id} acknowledged")
    else:
        until = services.clocks.wall().timestamp() + args.hours * 3600
        with services.audited("mint", "event silence", kind=args.kind, hours=args.hours, reason=args.reason):
            made = mint.silence(args.kind, until, args.reason, services.actor)
        emit(args, made.to_dict(), f"silence {made.silence_id}: {args.kind} for {args.hours:g} h")


def _pause(args, services: Services) -> None:
    mint = services.mint
    if args.action == "pause":
        with services.audited("mint", "pause", reason=args.reason):
            state = mint.pause(services.actor, args.reason)
    elif args.action == "resume":
        with services.audited("mint", "resume"):
            state = mint.resume(services.actor)
    else:
        with services.audited("mint", "auto-pause", setting=args.setting):
            state = mint.set_auto_pause(args.setting == "on")
    text = f"payouts paused by {state.by}: {state.reason}" if state.paused else "payouts running"
    emit(args, state.to_dict(), f"{text}; auto-pause {'on' if state.auto_pause else 'off'}")


def _operator(args, services: Services) -> None:
    with unlocked(services), services.audited("mint", "operator create", key_id=args.key_id):
        secret = services.mint.create_operator_key(args.key_id)
    print(f"operator key {args.key_id} created; its secret, shown only now:\n{secret.hex()}")


def _demo_wallet(args, services: Services) -> None:
    from ..demo_mint import run_wallet

    claim = None
    if args.deposit is not None:
        from .common import read_secret_line

        claim = read_secret_line("Claim secret: ")  # a secret: never taken from argv
    result = run_wallet(services, args.url, deposit=args.deposit, claim=claim, amount_sat=args.amount,
                        address=args.redeem_to)
    emit(args, result, "\n".join(result["steps"]))
