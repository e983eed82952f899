"""``python -m backends.coldcard.emulator --socket PATH --state-dir DIR [--words "..."]``"""

from __future__ import annotations

import argparse
import json
import sys

from .device import Device
from .server import Server, SocketPathError


def _setting(text: str):
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.coldcard.emulator",
                                     description="Serve an emulated Coldcard on a UNIX datagram socket.")
    parser.add_argument("--socket", required=True, help="socket path, e.g. /tmp/ckcc-simulator-1.sock")
    parser.add_argument("--state-dir", required=True, help="where settings, wallets, users and policy persist")
    parser.add_argument("--words", help="24 BIP-39 words (default: the official simulator's seed)")
    parser.add_argument("--chain", choices=["BTC", "XTN", "XRT"], help="chain (default XTN, kept once set)")
    parser.add_argument("--hw-label", default="mk4", help="hardware label reported by 'vers'")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set a device setting at boot, e.g. --set hsmcmd=1")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when standard input reaches its end: give it a pipe whose other end "
                             "the starting process holds, and the device never outlives that process")
    args = parser.parse_args(argv)
    try:
        device = Device(args.state_dir, words=args.words, chain=args.chain, hw_label=args.hw_label,
                        settings=dict(_setting(s) for s in args.set))
        server = Server(device, args.socket, lifeline=sys.stdin.fileno() if args.exit_with_parent else None)
    except (SocketPathError, ValueError) as exc:
        print(f"emulator: {exc}", file=sys.stderr)
        return 2
    print(f"emulator: serving {device.keys!r} on {server.path}", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
