"""``custody-tui ceremony ...``: a keyholder's ceremony node from the command line.

A node lives in ``DATA_DIR/ceremony/NAME`` (``--node NAME``; without it, the only node
there) with its own keystore (``DATA_DIR/ceremony/NAME/keystore``, same passphrase
rules as ``keys``). Every action is audited; commands that touch a secret unlock the
node's keystore for that one command.

    ceremony node init --name NAME (--board REMOTE | --offline) [--host-secret-stdin]
    ceremony node show | roster add NAME HOSTKEY | roster list
    ceremony dkg start --name KEYNAME --participants a,b,c -t 2 | dkg join ID | dkg status [ID]
    ceremony sign request --dkg ID (--message TEXT | --message-hex HEX | --psbt FILE) --reason TEXT
    ceremony sign review ID | sign approve ID | sign decline ID [--reason TEXT]
    ceremony sync [--until-idle] [--timeout S]
    ceremony export ID (FILE | --qr png|svg --out DIR | --qr text) | import (FILE | --bbqr PARTS-FILE)
    ceremony status [ID] [--json] | list [--json] | recover
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..services import Services
from .common import UsageError, add_json_flag, count_arg, emit, keystore_passphrase, read_secret_line

if TYPE_CHECKING:
    from backends.ceremony import Node

_STDIN_SECRET = "host secret (64 hex digits): "


def register(subparsers) -> None:
    cer = subparsers.add_parser("ceremony", help="threshold-key ceremonies over the git board (DKG, signing)")
    cer.add_argument("--node", metavar="NAME", help="which node of DATA_DIR/ceremony (default: the only one)")
    areas = cer.add_subparsers(dest="ceremony_area", required=True, metavar="AREA")

    node = areas.add_parser("node", help="this keyholder's node: create it, show its host key")
    acts = node.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = acts.add_parser("init", help="create the node and its host key (prints the key to give the others)")
    p.add_argument("--name", required=True, help="the keyholder's name on every roster")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--board", help="the board's git remote: a path, ssh:// or https:// URL")
    where.add_argument("--offline", action="store_true", help="an air-gapped node: messages move by file")
    p.add_argument("--host-secret-stdin", action="store_true",
                   help="restore a lost node: read its host secret (hex) from standard input")
    add_json_flag(p)
    p = acts.add_parser("show", help="name, host key, board, post counter")
    add_json_flag(p)

    roster = areas.add_parser("roster", help="the host keys this node trusts")
    acts = roster.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = acts.add_parser("add", help="trust a keyholder's host key (check it with them first)")
    p.add_argument("name")
    p.add_argument("hostkey", help="their host public key, 66 hex digits")
    p = acts.add_parser("list", help="names and host keys")
    add_json_flag(p)

    dkg = areas.add_parser("dkg", help="create a threshold key (ChillDKG)")
    acts = dkg.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = acts.add_parser("start", help="start a DKG among roster names, in order; joins it")
    p.add_argument("--name", required=True, help="a name for the key, e.g. treasury")
    p.add_argument("--participants", required=True, help="comma-separated roster names, this node among them")
    p.add_argument("-t", "--threshold", type=count_arg(1, 64), required=True, help="signers needed")
    add_json_flag(p)
    p = acts.add_parser("join", help="join a DKG this node was invited to")
    p.add_argument("id", help="the ceremony id (or a unique prefix; see `ceremony list`)")
    add_json_flag(p)
    p = acts.add_parser("status", help="DKGs: state, group key, taproot address, params hash")
    p.add_argument("id", nargs="?", help="one ceremony (default: all)")
    add_json_flag(p)

    sign = areas.add_parser("sign", help="signing ceremonies: request, review, approve, decline")
    acts = sign.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = acts.add_parser("request", help="ask the group of a DKG to sign a message or a PSBT")
    p.add_argument("--dkg", required=True, help="the DKG ceremony id (or a unique prefix)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--message", help="a text message")
    what.add_argument("--message-hex", help="a message as hex")
    what.add_argument("--psbt", type=Path, help="a PSBT file (base64 or binary) spending the group's coins")
    p.add_argument("--reason", required=True, help="why: shown to every keyholder in the review")
    add_json_flag(p)
    for name, text in (("review", "the decoded request: outputs, change, fee and fee rate"),
                       ("approve", "approve after review: posts this node's nonce commitment"),
                       ("decline", "decline the request")):
        p = acts.add_parser(name, help=text)
        p.add_argument("id", help="the ceremony id (or a unique prefix; see `ceremony list`)")
        if name == "decline":
            p.add_argument("--reason", default="", help="why, for the others")
        add_json_flag(p)

    p = areas.add_parser("sync", help="post, fetch the board and advance every ceremony")
    p.add_argument("--until-idle", action="store_true", help="repeat until nothing changes for a while")
    p.add_argument("--timeout", type=count_arg(1, 86_400), default=60, help="seconds --until-idle waits at most")
    add_json_flag(p)
    p = areas.add_parser("export", help="write a ceremony's messages to a file (for an offline node or a courier)")
    p.add_argument("id", help="the ceremony id (or a unique prefix; see `ceremony list`)")
    p.add_argument("file", type=Path, nargs="?", help="the ceremony file (not with --qr)")
    p.add_argument("--qr", choices=("png", "svg", "text"),
                   help="as QR codes instead: BBQr parts as PNG or SVG images in --out, or as text lines")
    p.add_argument("--out", type=Path, help="the directory for --qr png|svg (it must exist)")
    p = areas.add_parser("import", help="take in a ceremony file: verify, post (online) or apply (offline)")
    p.add_argument("file", type=Path, nargs="?", help="the ceremony file (not with --bbqr)")
    p.add_argument("--bbqr", type=Path, metavar="FILE",
                   help="a file of scanned BBQr parts, one per line, any order (from `export --qr`)")
    add_json_flag(p)
    p = areas.add_parser("status", help="local state against the board, per ceremony; what waits on me")
    p.add_argument("id", nargs="?", help="one ceremony (default: all)")
    add_json_flag(p)
    p = areas.add_parser("list", help="the ceremonies this node knows")
    add_json_flag(p)
    p = areas.add_parser("recover", help="after a lost or restored data dir: re-read this node's history from the board")
    add_json_flag(p)


# -- opening the node ----------------------------------------------------------------------------


def nodes_dir(services: Services) -> Path:
    return services.data_dir / "ceremony"


def node_dir(args, services: Services) -> Path:
    root = nodes_dir(services)
    if args.node:
        from backends.ceremony.node import _check_name

        _check_name(args.node)
        return root / args.node
    found = sorted(p.name for p in root.iterdir() if (p / "node.sqlite3").exists()) if root.is_dir() else []
    if len(found) == 1:
        return root / found[0]
    if not found:
        raise UsageError("no ceremony node in this data dir", hint="create one with `ceremony node init`")
    raise UsageError(f"several nodes here ({', '.join(found)}): choose one with --node NAME")


def node_keystore(services: Services, directory: Path):
    return services.keystore_at(directory / "keystore")


@contextmanager
def opened(args, services: Services, *, unlock: bool = True):
    from backends.ceremony import Node

    directory = node_dir(args, services)
    keystore = node_keystore(services, directory)
    if unlock:
        passphrase = keystore_passphrase(services, "Node keystore passphrase: ")
        with services.audited("ceremony", "unlock", node=directory.name):
            keystore.unlock(passphrase, services.config.keystore.unlock_ttl_seconds)
    node = Node.open(directory, keystore)
    try:
        yield node
    finally:
        node.close()
        keystore.lock()


def find_or_sync(node: Node, ident: str):
    """The ceremony ``ident``; an online node that does not know it yet syncs once first
    (a keyholder told "approve 3f2a9c..." should not have to sync by hand)."""
    from backends.ceremony import UnknownCeremony

    try:
        return node.find(ident)
    except UnknownCeremony:
        if not node.online:
            raise
        node.sync()
        return node.find(ident)


def _chain(services: Services):
    return services.chain if services.chain_configured else None


def _events(args, events) -> None:
    if getattr(args, "json", False):
        return
    for event in events:
        where = f"[{event.ceremony[:12]}] " if event.ceremony else ""
        print(f"{where}{event.kind}: {event.text}")


# -- commands ------------------------------------------------------------------------------------------


def run(args, services: Services) -> int:
    area = args.ceremony_area
    handler = {"node": run_node, "roster": run_roster, "dkg": run_dkg, "sign": run_sign}.get(area)
    if handler is not None:
        return handler(args, services)
    return {"sync": run_sync, "export": run_export, "import": run_import, "status": run_status,
            "list": run_list, "recover": run_recover}[area](args, services)


def run_node(args, services: Services) -> int:
    if args.action == "init":
        return init_node(args, services)
    with opened(args, services, unlock=False) as node:
        data = {"name": node.name, "hostkey": node.hostpubkey.hex(), "board": node.store.get("board") or None,
                "network": node.network, "counter": node.store.counter(), "dir": str(node.data_dir)}
    emit(args, data, "\n".join(f"{k}: {v}" for k, v in data.items()))
    return 0


def init_node(args, services: Services) -> int:
    from backends.ceremony import Node
    from backends.ceremony.node import _check_name

    _check_name(args.name)
    if args.node and args.node != args.name:
        raise UsageError("--node and --name differ; a node's directory is named after it")
    secret = None
    if args.host_secret_stdin:
        text = read_secret_line(_STDIN_SECRET).strip()
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            raise UsageError("the host secret is 64 hex digits") from None
        if len(secret) != 32:
            raise UsageError("the host secret is 64 hex digits")
    directory = nodes_dir(services) / args.name
    keystore = node_keystore(services, directory)
    passphrase = keystore_passphrase(services, "New node keystore passphrase: ")
    with services.audited("ceremony", "node init", node=args.name, board=args.board or "offline",
                          restored=secret is not None) as result:
        if not keystore.exists():
            keystore.initialize(passphrase)
        keystore.unlock(passphrase, services.config.keystore.unlock_ttl_seconds)
        try:
            node = Node.create(directory, args.name, keystore, board=None if args.offline else args.board,
                               network=services.config.network, host_secret=secret)
        finally:
            keystore.lock()
        result["hostkey"] = node.hostpubkey.hex()
        node.close()
    emit(args, {"name": args.name, "hostkey": result["hostkey"]},
         f"node {args.name} created\nhost key (give it to the other keyholders): {result['hostkey']}")
    return 0


def run_roster(args, services: Services) -> int:
    with opened(args, services, unlock=False) as node:
        if args.action == "add":
            try:
                key = bytes.fromhex(args.hostkey)
            except ValueError:
                raise UsageError("a host key is 66 hex digits") from None
            with services.audited("ceremony", "roster add", node=node.name, name=args.name, hostkey=args.hostkey):
                node.add_peer(args.name, key)
            print(f"{args.name} added to {node.name}'s roster")
            return 0
        rows = [{"name": name, "hostkey": key.hex()} for key, name in node.roster().items()]
    emit(args, rows, "\n".join(f"{r['name']:<20} {r['hostkey']}" for r in rows))
    return 0


def run_dkg(args, services: Services) -> int:
    from backends.ceremony import dkg

    if args.action == "status":
        return dkg_status(args, services)
    with opened(args, services) as node:
        if args.action == "start":
            names = [p.strip() for p in args.participants.split(",") if p.strip()]
            with services.audited("ceremony", "dkg start", node=node.name, name=args.name, participants=names,
                                  t=args.threshold) as result:
                cid = dkg.start(node, args.name, names, args.threshold)
                result["ceremony"] = cid
            row = node.ceremony(cid)
        else:
            row = find_or_sync(node, args.id)
            with services.audited("ceremony", "dkg join", node=node.name, ceremony=row.id):
                dkg.join(node, row.id)
        phash = dkg.params_hash(row)
    emit(args, {"ceremony": row.id, "params_hash": phash},
         f"DKG {row.id}\nparams hash (compare with every keyholder): {phash}")
    return 0


def dkg_status(args, services: Services) -> int:
    from backends.ceremony import dkg

    with opened(args, services, unlock=False) as node:
        rows = [node.find(args.id)] if args.id else [r for r in node.ceremonies() if r.kind == "dkg"]
        data = []
        for row in rows:
            item: dict[str, Any] = {"ceremony": row.id, "name": row.info.get("name"), "state": row.state,
                                    "t": row.info.get("t"), "n": len(row.info.get("hostpubkeys", [])),
                                    "params_hash": dkg.params_hash(row), "note": row.note}
            if "thresh_pk" in row.info:
                group = node.group(row.id)
                item.update(group_key=group.thresh_pk.hex(), address=group.address, descriptor=group.descriptor)
            data.append(item)
    lines = []
    for item in data:
        lines.append(f"{item['ceremony']}  {item['name']!r} {item['t']}-of-{item['n']}  {item['state']}")
        if "address" in item:
            lines += [f"  group key: {item['group_key']}", f"  address:   {item['address']}"]
        lines.append(f"  params hash: {item['params_hash']}")
    emit(args, data, "\n".join(lines) or "(no DKG)")
    return 0


def run_sign(args, services: Services) -> int:
    from backends.ceremony import signing

    if args.action == "review":
        with opened(args, services, unlock=False) as node:
            row = node.find(args.id)
            review = signing.review(node, row.info)
        emit(args, {"ceremony": row.id, "state": row.state, **review.to_dict()},
             "\n".join([f"{row.id}  {row.state}", *review.lines()]))
        return 0
    with opened(args, services) as node:
        if args.action == "request":
            message = psbt = None
            if args.message is not None:
                message = args.message.encode("utf-8")
            elif args.message_hex is not None:
                try:
                    message = bytes.fromhex(args.message_hex)
                except ValueError:
                    raise UsageError("--message-hex is not hex") from None
            else:
                from backends.wallet import parse_psbt, serialize_psbt

                psbt = serialize_psbt(parse_psbt(args.psbt.read_bytes()))
            dkg_row = node.find(args.dkg)
            with services.audited("ceremony", "sign request", node=node.name, dkg=dkg_row.id,
                                  reason=args.reason) as result:
                cid = signing.request(node, dkg_row.id, reason=args.reason, message=message, psbt=psbt)
                result["ceremony"] = cid
            emit(args, {"ceremony": cid}, f"signing ceremony {cid} requested")
            return 0
        row = find_or_sync(node, args.id)
        if args.action == "approve":
            review = signing.review(node, row.info)
            with services.audited("ceremony", "sign approve", node=node.name, ceremony=row.id,
                                  reason=review.reason, spent_sat=review.spent_sat if review.payload == "psbt" else None):
                signing.approve(node, row.id)
        else:
            with services.audited("ceremony", "sign decline", node=node.name, ceremony=row.id, reason=args.reason):
                signing.decline(node, row.id, args.reason)
        state = node.ceremony(row.id).state
    emit(args, {"ceremony": row.id, "state": state}, f"{row.id}: {state}")
    return 0


def run_sync(args, services: Services) -> int:
    chain = _chain(services)
    events_all = []
    with opened(args, services) as node, services.audited("ceremony", "sync", node=node.name) as result:
        deadline = time.monotonic() + args.timeout
        quiet = 0
        while True:
            events = node.sync(chain=chain)
            _events(args, events)
            events_all += events
            if not args.until_idle:
                break
            quiet = quiet + 1 if not events else 0
            if quiet >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        result["posted"] = sum(1 for e in events_all if e.kind == "posted")
        result["refused"] = sum(1 for e in events_all if e.kind == "refused")
    if getattr(args, "json", False):
        emit(args, [vars(e) for e in events_all], "")
    return 0


def run_export(args, services: Services) -> int:
    from backends.ceremony import transfer
    from backends.fsutil import atomic_write

    if args.qr:
        from .ceremony_qr import export_qr

        return export_qr(args, services)
    if args.file is None:
        raise UsageError("give the file to write, or --qr png|svg|text")
    with opened(args, services, unlock=False) as node:
        row = node.find(args.id)
        data = transfer.export_ceremony(node, row.id)
        with services.audited("ceremony", "export", node=node.name, ceremony=row.id, file=str(args.file)):
            atomic_write(args.file, data, mode=0o644, make_parents=False)
    print(f"wrote {len(data)} bytes for ceremony {row.id} to {args.file}")
    return 0


def run_import(args, services: Services) -> int:
    from backends.ceremony import transfer
    from backends.outside_input import OutsideInputRefused

    if (args.file is None) == (args.bbqr is None):
        raise UsageError("give a ceremony file or --bbqr FILE of scanned parts (one of them)")
    if args.bbqr is not None:
        from .ceremony_qr import bundle_of_parts_file

        data = bundle_of_parts_file(args.bbqr)
    else:
        with open(args.file, "rb") as handle:
            data = handle.read(transfer.MAX_BUNDLE_BYTES + 1)
        if len(data) > transfer.MAX_BUNDLE_BYTES:
            raise UsageError(f"{args.file} is larger than a ceremony file can be")
    with opened(args, services) as node:
        try:
            with services.audited("ceremony", "import", node=node.name, file=str(args.file or args.bbqr),
                                  qr=args.bbqr is not None) as result:
                events = transfer.import_bundle(node, data, chain=_chain(services))
                result["events"] = len(events)
        except OutsideInputRefused as exc:  # pragma: no cover - parse_bundle turns these into MessageRefused
            raise UsageError(str(exc)) from None
    _events(args, events)
    if getattr(args, "json", False):
        emit(args, [vars(e) for e in events], "")
    return 0


def run_status(args, services: Services) -> int:
    from backends.ceremony import ceremony_status

    with opened(args, services, unlock=False) as node:
        rows = [node.find(args.id)] if args.id else node.ceremonies()
        statuses = [ceremony_status(node, row) for row in rows]
    emit(args, [s.to_dict() for s in statuses],
         "\n".join(line for s in statuses for line in s.lines()) or "(no ceremonies)")
    return 0


def run_list(args, services: Services) -> int:
    from backends.ceremony.status import title_of

    with opened(args, services, unlock=False) as node:
        rows = node.ceremonies()
    data = [{"ceremony": r.id, "kind": r.kind, "state": r.state, "title": title_of(r), "note": r.note} for r in rows]
    emit(args, data, "\n".join(f"{d['ceremony']}  {d['kind']:<4} {d['state']:<13} {d['title']}" for d in data)
         or "(no ceremonies)")
    return 0


def run_recover(args, services: Services) -> int:
    from backends.ceremony import recovery

    with opened(args, services) as node, services.audited("ceremony", "recover", node=node.name) as result:
        events = recovery.recover(node)
        result["counter"] = node.store.counter()
    _events(args, events)
    if getattr(args, "json", False):
        emit(args, [vars(e) for e in events], "")
    return 0

