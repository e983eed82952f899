"""``custody-tui chain ...``: the configured chain from the command line."""

from __future__ import annotations

import dataclasses
import sys
from datetime import UTC, datetime

from backends.amounts import btc_digits

from ..services import Services
from .common import UsageError, add_json_flag, count_arg, emit


def register(subparsers) -> None:
    chain = subparsers.add_parser("chain", help="the chain: tip, watched coins, broadcast, mining")
    actions = chain.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("status", help="backend, network, tip height, hash and time")
    add_json_flag(p)

    p = actions.add_parser("mine", help="mine N blocks (regtest only)")
    p.add_argument("blocks", type=count_arg(0, 10_000), help="how many blocks, 0 to 10,000")
    p.add_argument("--to", dest="address",
                   help="address paid by the blocks (default: chain.auto_mine_address)")
    add_json_flag(p)

    p = actions.add_parser("watch", help="watch an output descriptor (checksum verified)")
    p.add_argument("descriptor")
    p.add_argument("--label", default="")

    p = actions.add_parser("utxos", help="unspent outputs of watched descriptors")
    p.add_argument("--descriptor", help="only this watched descriptor")
    add_json_flag(p)

    p = actions.add_parser("history", help="sends and receives of watched descriptors")
    p.add_argument("--descriptor", help="only this watched descriptor")
    add_json_flag(p)

    p = actions.add_parser("broadcast", help="broadcast a raw transaction (hex, or - for stdin)")
    p.add_argument("raw_tx")
    add_json_flag(p)

    p = actions.add_parser("tx", help="a transaction's status")
    p.add_argument("txid")
    add_json_flag(p)


def record(value) -> dict:
    data = dataclasses.asdict(value)
    return {k: v.hex() if isinstance(v, bytes) else v for k, v in data.items()}




def run(args, services: Services) -> int:
    chain = services.chain
    action = args.action
    if action == "status":
        tip = chain.tip()
        data = {"backend": chain.backend_name, "network": chain.network, "height": tip.height,
                "tip_hash": tip.hash_hex, "tip_time": tip.time}
        when = datetime.fromtimestamp(tip.time, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        emit(args, data, f"{chain.backend_name} {chain.network}: height {tip.height}\n"
                         f"tip {tip.hash_hex}\ntime {when}")
    elif action == "mine":
        address = args.address or services.config.chain.auto_mine_address
        if not address:
            raise UsageError("no address to mine to", hint="pass --to ADDRESS")
        with services.audited("chain", "mine", blocks=args.blocks, address=address) as result:
            hashes = chain.mine(args.blocks, address)
            result["height"] = chain.tip().height
        emit(args, {"blocks": hashes, "height": result["height"]},
             f"mined {len(hashes)} block(s); height {result['height']}")
    elif action == "watch":
        from backends.wallet import parse_descriptor

        # the wallet layer verifies the checksum and the keys' network before the chain sees it
        parse_descriptor(args.descriptor, services.config.network)
        with services.audited("chain", "watch", descriptor=args.descriptor, label=args.label):
            chain.watch(args.descriptor, label=args.label)
        print("watching")
    elif action == "utxos":
        utxos = chain.utxos(args.descriptor)
        lines = [f"{u.outpoint}  {btc_digits(u.amount_sat)}  {u.confirmations} conf" for u in utxos]
        total = sum(u.amount_sat for u in utxos)
        emit(args, [record(u) for u in utxos],
             "\n".join(lines + [f"total {btc_digits(total)} BTC in {len(utxos)} output(s)"]))
    elif action == "history":
        entries = chain.history(args.descriptor)
        lines = [f"{e.txid}  {btc_digits(e.net_sat, signed=True)}  {e.confirmations} conf" for e in entries]
        emit(args, [record(e) for e in entries], "\n".join(lines) or "(no transactions)")
    elif action == "broadcast":
        text = sys.stdin.read() if args.raw_tx == "-" else args.raw_tx
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError:
            raise UsageError("the transaction is not hex") from None
        with services.audited("chain", "broadcast", irreversible=True, size=len(raw)) as result:
            txid = chain.broadcast(raw)
            result["txid"] = txid
        emit(args, {"txid": txid}, txid)
    elif action == "tx":
        status = chain.tx_status(args.txid)
        emit(args, record(status), f"{status.state}, {status.confirmations} confirmation(s)")
    return 0
