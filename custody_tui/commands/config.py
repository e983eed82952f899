"""``custody-tui config ...``: show the effective configuration, write a default file."""

from __future__ import annotations

from pathlib import Path

from backends.fsutil import atomic_write

from ..config import config_to_dict, default_config_text, render_toml
from .common import UsageError, add_json_flag, emit


def register(subparsers) -> None:
    config = subparsers.add_parser("config", help="show or create the configuration file")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser("show", help="print the effective config, secrets redacted")
    add_json_flag(p)
    p = actions.add_parser("init", help="write a commented default config file")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args, config, config_path: Path) -> int:
    if args.action == "show":
        header = f"# effective configuration (file: {config_path}"
        header += ")" if config_path.exists() else ", not present: defaults)"
        emit(args, {"file": str(config_path), "config": config_to_dict(config)},
             header + "\n" + render_toml(config))
        return 0
    if config_path.exists() and not args.force:
        raise UsageError(f"{config_path} exists; nothing written", hint="add --force to overwrite")
    atomic_write(config_path, default_config_text().encode(), mode=0o600)
    print(f"written {config_path}")
    return 0
