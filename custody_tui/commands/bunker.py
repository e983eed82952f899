"""``custody-tui bunker ...``: NIP-46 device tokens, the signer service, a demo ATM.

Token commands work on the token database alone (no passphrase): the pubkey of a bunker
key is public keystore metadata. ``serve`` and ``key add`` unlock the keystore.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..services import Services
from .common import UsageError, add_json_flag, count_arg, emit
from .keys import unlocked

if TYPE_CHECKING:
    from backends.bunker.tokens import TokenInfo


def register(subparsers) -> None:
    bunker = subparsers.add_parser("bunker", help="NIP-46 bunker: device tokens, signer service")
    areas = bunker.add_subparsers(dest="bunker_area", required=True, metavar="AREA")

    key = areas.add_parser("key", help="bunker signing keys (nostr entries in the keystore)")
    key_actions = key.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = key_actions.add_parser("add", help="create a nostr signing key in the keystore")
    p.add_argument("label")
    add_json_flag(p)
    p = key_actions.add_parser("list", help="the nostr keys the bunker can serve")
    add_json_flag(p)

    token = areas.add_parser("token", help="device tokens: create, list, revoke, re-issue, log")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("create", help="a scoped, expiring token and its bunker:// URL")
    p.add_argument("--key", required=True, help="keystore label of the nostr key that signs")
    p.add_argument("--client", required=True, help="the device's name, e.g. atm-lisbon-03")
    p.add_argument("--perm", action="append", required=True,
                   help="a permission: sign_event:KIND, sign_event (any kind), nip44_encrypt, nip44_decrypt, "
                        "nip04_encrypt, nip04_decrypt (repeatable)")
    p.add_argument("--expires", default="30d", help="lifetime: 90m, 12h, 30d, 4w (default 30d)")
    p.add_argument("--uses", type=int, help="at most this many signatures/encryptions")
    add_json_flag(p)
    p = actions.add_parser("list", help="every token with its state and expiry")
    add_json_flag(p)
    p = actions.add_parser("revoke", help="cut a device off now (paired or not)")
    p.add_argument("id", help="the token id (see `bunker list`)")
    add_json_flag(p)
    p = actions.add_parser("revoke-all", help="cut every device off now")
    p.add_argument("--key", help="only the tokens of this key")
    add_json_flag(p)
    p = actions.add_parser("reissue", help="re-pair: new secret and lifetime, same scope; unbinds the old device")
    p.add_argument("id", help="the token id (see `bunker list`)")
    add_json_flag(p)
    p = actions.add_parser("rotate", help="bind the token to the device's new client pubkey")
    p.add_argument("id", help="the token id (see `bunker list`)")
    p.add_argument("pubkey", help="the device's new client pubkey (64 hex)")
    add_json_flag(p)
    p = actions.add_parser("log", help="the requests a token's device made, newest first")
    p.add_argument("id", help="the token id (see `bunker list`)")
    p.add_argument("--limit", type=count_arg(1, 1_000_000), default=50)
    add_json_flag(p)

    areas.add_parser("serve", help="run the bunker on the configured relays until Ctrl-C")
    p = areas.add_parser("relay", help="run a nostr relay on loopback (for trials and the demo)")
    p.add_argument("--port", type=count_arg(1, 65535), default=7447)
    p = areas.add_parser("demo-client", help="act as an ATM: pair through URL, sign kind 21000, try kind 1")
    p.add_argument("url", help="the bunker:// URL of a token, or - to read it from stdin (its secret "
                               "then stays out of shell history and the process list)")
    add_json_flag(p)


def parse_duration(text: str) -> int:
    from backends.bunker.tokens import parse_lifetime

    return parse_lifetime(text)


def when(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M")


def token_line(token: TokenInfo, now: int) -> str:
    expires = token.expires_in(now)
    warn = "  ! expires soon" if token.expiring_soon(now) else ""
    device = (token.client_pubkey or "-")[:12]
    return (f"{token.id}  {token.client_name:<16} {token.key_label:<12} "
            f"{','.join(str(p) for p in token.permissions):<20} {expires:<10} {device:<12} "
            f"{token.state(now)}{warn}")


def run(args, services: Services) -> int:
    area = args.bunker_area
    if area == "token":
        return run_token(args, services)
    if area == "key":
        return run_key(args, services)
    if area == "serve":
        return serve(services)
    if area == "relay":
        return relay(args.port)
    return demo_client(args)


def run_key(args, services: Services) -> int:
    from backends.bunker.keys import create_key, key_pubkey

    if args.action == "add":
        with unlocked(services) as keystore, services.audited("bunker", "key add", key=args.label) as result:
            info = create_key(keystore, args.label)
            result["pubkey"] = info.public["pubkey"]
        emit(args, {"label": info.label, "pubkey": info.public["pubkey"]},
             f"{info.label}: {info.public['pubkey']}")
        return 0
    keystore = services.keystore
    rows = [{"label": e.label, "pubkey": key_pubkey(keystore, e.label)}
            for e in keystore.entries() if e.kind.value == "nostr"]
    emit(args, rows, "\n".join(f"{r['label']:<24} {r['pubkey']}" for r in rows) or "(no nostr keys)")
    return 0


def run_token(args, services: Services) -> int:
    store = services.bunker
    action = args.action
    if action == "create":
        from backends.bunker.keys import issue_token

        lifetime = parse_duration(args.expires)
        relays = services.config.bunker.relay_list()
        with services.audited("bunker", "token create", key=args.key, client=args.client,
                              permissions=",".join(args.perm), lifetime_seconds=lifetime,
                              uses=args.uses) as result:
            token, url = issue_token(
                store, services.keystore, key_label=args.key, client_name=args.client,
                permissions=args.perm, lifetime_seconds=lifetime, relays=relays, max_uses=args.uses,
            )
            result["token"] = token.id
        emit(args, {"id": token.id, "url": str(url), "expires_at": token.expires_at},
             f"token {token.id} for {token.client_name}, expires {when(token.expires_at)} UTC\n{url}\n"
             "The URL pairs one device, once; it is not shown again (re-issue for a new one).")
    elif action == "list":
        now = store.now()
        tokens = store.tokens()
        emit(args, [t.to_public_dict(now) for t in tokens],
             "\n".join(token_line(t, now) for t in tokens) or "(no tokens)")
    elif action == "revoke":
        with services.audited("bunker", "token revoke", token=args.id):
            token = store.revoke(args.id)
        emit(args, token.to_public_dict(store.now()), f"token {token.id} ({token.client_name}) revoked")
    elif action == "revoke-all":
        with services.audited("bunker", "token revoke-all", key=args.key) as result:
            count = store.revoke_all(args.key)
            result["revoked"] = count
        emit(args, {"revoked": count}, f"{count} token(s) revoked")
    elif action == "reissue":
        with services.audited("bunker", "token reissue", token=args.id):
            token, url = store.reissue(args.id)
        emit(args, {"id": token.id, "url": str(url), "expires_at": token.expires_at},
             f"token {token.id} re-issued, expires {when(token.expires_at)} UTC\n{url}")
    elif action == "rotate":
        with services.audited("bunker", "token rotate", token=args.id, device=args.pubkey):
            token = store.rotate(args.id, args.pubkey)
        emit(args, token.to_public_dict(store.now()), f"token {token.id} now bound to {args.pubkey}")
    elif action == "log":
        records = store.request_log(args.id, args.limit)
        emit(args, [r.to_public_dict() for r in records], "\n".join(
            f"{when(r.at)}  {r.method:<14} {'' if r.kind is None else r.kind:<6} "
            f"{'allowed' if r.allowed else 'REFUSED'}  {r.reason}" for r in records) or "(no requests)")
    return 0


def build_service(services: Services, keystore, on_status=None, status_file=None):
    from backends.bunker.admin import AdminRpc
    from backends.bunker.keys import load_keys
    from backends.bunker.nostr import SecretKey
    from backends.bunker.service import BunkerService
    from backends.bunker.signer import RemoteSigner

    config = services.config.bunker
    relays = config.relay_list()
    if not relays:
        raise UsageError("no relays configured", hint="set bunker.relays in the config file")
    keys = load_keys(keystore, config.key_list())
    keys.pop(config.admin_key, None)  # the admin key answers admin RPC only; it never signs for devices
    if not keys:
        raise UsageError("the keystore holds no nostr key to serve",
                         hint="create one with: custody-tui bunker key add LABEL")
    admin_key = SecretKey(keystore.get_secret(config.admin_key)) if config.admin_key else None
    rpc = AdminRpc(relays, services.audited)
    signer = RemoteSigner(keys, services.bunker, admin=rpc, admin_key=admin_key,
                          admin_pubkeys=config.admin_list())
    rpc.signer = signer
    return BunkerService(signer, relays, on_status=on_status, status_file=status_file)


def serve(services: Services) -> int:
    with unlocked(services) as keystore, services.audited("bunker", "serve"):
        from backends.bunker.service import STATUS_FILE_NAME

        service = build_service(services, keystore, on_status=lambda url, status: print(
            f"{url}: {status}", file=sys.stderr, flush=True), status_file=services.data_dir / STATUS_FILE_NAME)
    labels = ", ".join(f"{label} ({pubkey[:12]}...)" for pubkey, label in service.signer.labels.items())
    print(f"bunker serving {labels}; Ctrl-C to stop", flush=True)
    import asyncio

    try:
        asyncio.run(service.run())
    except KeyboardInterrupt:
        pass
    return 0


def relay(port: int) -> int:
    import threading

    from backends.bunker.local_relay import LocalRelay

    with LocalRelay(port=port) as running:
        print(f"relay on {running.url}; Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def demo_client(args) -> int:
    import asyncio

    from backends.bunker.client import BunkerClient
    from backends.bunker.errors import RemoteSignerError
    from backends.bunker.url import parse_bunker_url

    url = parse_bunker_url(sys.stdin.readline() if args.url == "-" else args.url)

    async def atm() -> dict:
        async with BunkerClient(url) as client:
            report = {"device_pubkey": client.key.public_hex, "connect": await client.connect()}
            report["signer_pubkey"] = await client.get_public_key()
            report["kind_21000"] = (await client.sign_event(21000, "demo ATM cash-out"))["id"]
            try:
                await client.sign_event(1, "demo ATM tries a kind-1 note")
                report["kind_1"] = "signed (this token allows kind 1)"
            except RemoteSignerError as exc:
                report["kind_1"] = f"refused: {exc}"
            return report

    report = asyncio.run(atm())
    emit(args, report, "\n".join([
        f"paired as device {report['device_pubkey']}",
        f"bunker key {report['signer_pubkey']}",
        f"kind 21000 signed: event {report['kind_21000']}",
        f"kind 1: {report['kind_1']}",
    ]))
    return 0
