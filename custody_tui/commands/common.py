"""Helpers shared by the subcommands: output, JSON, passphrases."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from backends.errors import CustodyError
from backends.outside_input import OutsideInputRefused, excerpt, parse_decimal
from backends.keystore import PASSPHRASE_ENV, passphrase_from_env

from ..services import DEMO_PASSPHRASE, Services


class UsageError(CustodyError):
    """The command line asks for something that cannot be done as asked."""


def emit(args: Any, data: Any, text: str) -> None:
    """Print ``data`` as JSON with --json, otherwise the human ``text``."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        print(text)


def count_arg(low: int, high: int):
    """An argparse type for a count typed on the command line: ASCII digits, ``low..high``
    (``int`` alone takes '٣' and numbers no backend can store)."""

    def parse(text: str) -> int:
        try:
            value = parse_decimal(text, what="the number")
        except OutsideInputRefused as exc:
            raise argparse.ArgumentTypeError(f"{exc} (got {excerpt(text)!r})") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    parse.__name__ = "count"  # argparse names the type in its messages
    return parse


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def keystore_passphrase(services: Services, prompt: str = "Keystore passphrase: ") -> str:
    """The passphrase from $CUSTODY_TUI_PASSPHRASE, the demo rig, or a terminal prompt."""
    if value := passphrase_from_env():
        return value
    if services.config.demo:
        return DEMO_PASSPHRASE
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise UsageError(
        "no keystore passphrase: not in a terminal",
        hint=f"set {PASSPHRASE_ENV} for scripted use, or run the command in a terminal",
    )


def read_secret_line(prompt: str) -> str:
    """A secret typed at a hidden prompt, or piped on stdin (never taken from argv, where
    it would land in shell history and the process list)."""
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line.strip():
        raise UsageError(f"expected {prompt.strip(': ').lower()} on standard input")
    # only the line ending: spaces belong to a passphrase, as they do when typed
    return line.rstrip("\r\n")
