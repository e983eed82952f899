"""``custody-tui qr ...``: move data across an air gap as QR codes (BBQr when large)."""

from __future__ import annotations

import sys
from pathlib import Path

from backends.fsutil import atomic_write
from backends.qr import (
    PayloadTooLarge,
    bbqr_join,
    bbqr_split,
    export_png,
    export_svg,
    half_block_lines,
    qr_matrix,
)

from .common import UsageError

FILE_TYPES = {"psbt": "P", "tx": "T", "json": "J", "text": "U", "binary": "B"}


def register(subparsers) -> None:
    qr = subparsers.add_parser("qr", help="QR codes and BBQr for air-gapped transfers")
    actions = qr.add_subparsers(dest="action", required=True, metavar="ACTION")

    for name, text in [("show", "draw the payload as QR code(s) in the terminal"),
                       ("split", "print the BBQr parts of a payload, one per line")]:
        p = actions.add_parser(name, help=text)
        p.add_argument("input", help="file with the payload, or - for stdin")
        p.add_argument("--type", choices=sorted(FILE_TYPES), default="text")

    p = actions.add_parser("export", help="write the payload's QR code(s) as PNG and/or SVG")
    p.add_argument("input", help="file with the payload, or - for stdin")
    p.add_argument("--type", choices=sorted(FILE_TYPES), default="text")
    p.add_argument("--png", type=Path, help="PNG file (parts get -1, -2, ... suffixes)")
    p.add_argument("--svg", type=Path, help="SVG file (parts get -1, -2, ... suffixes)")

    p = actions.add_parser("join", help="join BBQr parts (one per line, any order) back")
    p.add_argument("input", help="file with the parts, or - for stdin")
    p.add_argument("--out", type=Path, help="write the payload here (default: stdout)")


def read_input(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def payload_of(raw: bytes) -> bytes:
    """Text loses the newline an editor or `echo` adds; binary stays byte for byte."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw
    return raw.strip()


def codes_for(payload: bytes, kind: str) -> list[str | bytes]:
    """One code when it fits, else the BBQr parts."""
    try:
        qr_matrix(payload)
        return [payload]
    except PayloadTooLarge:
        return list(bbqr_split(payload, FILE_TYPES[kind]))


def numbered(path: Path, index: int, total: int) -> Path:
    return path if total == 1 else path.with_name(f"{path.stem}-{index}{path.suffix}")


def run(args, services=None) -> int:
    if args.action == "join":
        try:
            text = read_input(args.input).decode("ascii")
        except UnicodeDecodeError:
            raise UsageError(f"{args.input} is not BBQr text", hint="give the parts as scanned, one per line") from None
        file_type, payload = bbqr_join(text.split())
        if args.out:
            atomic_write(args.out, payload, mode=0o644, make_parents=False)
            print(f"joined a {file_type!r} payload of {len(payload)} bytes into {args.out}")
        else:
            sys.stdout.buffer.write(payload)
        return 0
    payload = payload_of(read_input(args.input))
    if args.action == "split":
        print("\n".join(bbqr_split(payload, FILE_TYPES[args.type])))
        return 0
    codes = codes_for(payload, args.type)
    if args.action == "show":
        for index, code in enumerate(codes, 1):
            if len(codes) > 1:
                print(f"part {index} of {len(codes)}")
            print("\n".join(half_block_lines(qr_matrix(code))))
        return 0
    if not (args.png or args.svg):
        raise UsageError("nothing to write", hint="give --png FILE and/or --svg FILE")
    for index, code in enumerate(codes, 1):
        for target, export in ((args.png, export_png), (args.svg, export_svg)):
            if target:
                # an operator's path: a typo must not create directories
                print(export(code, numbered(target.expanduser(), index, len(codes)), make_parents=False))
    return 0
