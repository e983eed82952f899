"""The ``custody-tui`` command: launch the app, run the demo rig, or script an area.

    custody-tui [--config FILE] [--data-dir DIR]            open the app
    custody-tui demo [--data-dir DIR] [--fresh] [--headless] [--bitcoind PATH]
    custody-tui config show|init
    custody-tui keys  list|init|create|import|xpub|address|sign|verify|reveal|delete
    custody-tui audit list|verify|export
    custody-tui chain status|mine|watch|utxos|history|broadcast|tx
    custody-tui quorum status|arm|enable|disable|spend|preflight|sign-message|verify-message
    custody-tui policy show|validate|diff|push|history|authorize|totp-enroll
    custody-tui qr    show|split|export|join
    custody-tui bunker key|token|serve|relay|demo-client
    custody-tui ceremony node|roster|dkg|sign|sync|export|import|status|list|recover
    custody-tui mint  status|reserves|health|accounting|metrics|refresh|keys|deposit|redemptions|consolidate|attest|verify-attestation|verify-requests|serve|events|pause|resume|auto-pause|operator

Exit codes: 0 done, 1 refused or failed (the message says why), 2 bad usage, 70 a bug
(no traceback: its type is named, its text is not, as it could quote a secret). With
``--json``, a failure prints one JSON object ``{"error", "hint", "type"}`` on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

from backends.errors import CustodyError, os_error_message

from . import __version__
from .commands import audit as audit_cmd
from .commands import bunker as bunker_cmd
from .commands import ceremony as ceremony_cmd
from .commands import chain as chain_cmd
from .commands import config as config_cmd
from .commands import keys as keys_cmd
from .commands import mint as mint_cmd
from .commands import policy as policy_cmd
from .commands import qr as qr_cmd
from .commands import quorum as quorum_cmd
from .config import Config, load_config
from .logs import log_to_file, log_to_stderr
from .paths import CONFIG_ENV, default_data_dir, resolve_config_file

AREA_COMMANDS = {"keys": keys_cmd, "audit": audit_cmd, "chain": chain_cmd, "quorum": quorum_cmd,
                 "policy": policy_cmd,
                 "bunker": bunker_cmd, "ceremony": ceremony_cmd,
                 "mint": mint_cmd}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custody-tui",
        description="Terminal console for bitcoin custody operators. Without a command, "
        "opens the app.",
        epilog=f"Config file: --config, ${CONFIG_ENV}, DIR/config.toml of --data-dir, or the "
        "XDG config dir. Keystore passphrase for scripts: $CUSTODY_TUI_PASSPHRASE. Exit codes: "
        "0 done, 1 refused or failed, 2 bad usage, 70 a bug; with --json a failure prints "
        '{"error", "hint", "type"} on stdout.',
    )
    parser.add_argument("--version", action="version", version=f"custody-tui {__version__}")
    parser.add_argument("--config", type=Path, help="configuration file (TOML)")
    parser.add_argument("--data-dir", type=directory_arg, help="data directory (default: XDG data dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="open the app (the default)",
                   description="Open the console on the configured data dir (what `custody-tui` alone does).")
    demo = sub.add_parser("demo", help="the embedded demo rig: everything on one machine")
    demo.add_argument("--data-dir", dest="demo_data_dir", type=directory_arg,
                      help="demo data dir (default: XDG data dir/demo)")
    demo.add_argument("--fresh", action="store_true", help="delete the demo rig and start over")
    demo.add_argument("--headless", action="store_true",
                      help="run the rig's services without the UI until interrupted")
    demo.add_argument("--bitcoind", type=Path, metavar="PATH",
                      help="run a new rig on a regtest node started from this bitcoind binary "
                           "(data in the rig's data dir, loopback only, cookie auth) instead of the embedded chain")

    config_cmd.register(sub)
    qr_cmd.register(sub)
    for module in AREA_COMMANDS.values():
        module.register(sub)
    return parser


def directory_arg(text: str) -> Path:
    """A --data-dir value: a directory, or a path where one can be made."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a directory (it is empty)")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    return path


#: a failure that is a bug (sysexits' EX_SOFTWARE), told apart from a refusal (1)
EXIT_BUG = 70


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_arguments(argv)
    log_to_stderr()
    as_json = bool(getattr(args, "json", False))
    try:
        return dispatch(args)
    except CustodyError as exc:
        return failed(str(exc), exc.hint, type(exc).__name__, as_json)
    except OSError as exc:  # a path the operator gave that cannot be used: no traceback
        return failed(os_error_message(exc), None, "OSError", as_json)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: said plainly, never as a traceback
        where = record_bug(args)
        failed(f"internal error ({type(exc).__name__}); this is a bug in custody-tui, please report "
               f"the command that caused it{where}", None, "internal", as_json)
        return EXIT_BUG


def record_bug(args: argparse.Namespace) -> str:
    """Append the traceback of the exception being handled to DATA_DIR/logs/custody-tui.log
    (0600, where the app logs): for the bug report, off the terminal. Returns where."""
    import os
    import traceback
    from datetime import UTC, datetime

    from backends.fsutil import ensure_private_dir

    data_dir = getattr(args, "demo_data_dir", None) or getattr(args, "data_dir", None) or default_data_dir()
    try:
        path = ensure_private_dir(Path(data_dir).expanduser() / "logs") / "custody-tui.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as log:
            log.write(f"{datetime.now(UTC).isoformat()} bug in custody-tui {args.command or 'run'}:\n"
                      f"{traceback.format_exc()}\n")
    except OSError:
        return ""
    return f" and the details in {path}"


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """argparse, plus one JSON object on stdout for a usage error when --json was asked."""
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        sys.stderr.write(said.getvalue())
        if exc.code == 2 and "--json" in argv:
            lines = said.getvalue().strip().splitlines() or ["bad usage"]
            print(json.dumps({"error": lines[-1].split(": error: ", 1)[-1], "hint": "see --help",
                              "type": "usage"}))
        raise
    sys.stderr.write(said.getvalue())
    return args


def failed(message: str, hint: str | None, kind: str, as_json: bool) -> int:
    """Report a failure on stderr, and with --json as one object on stdout; exit status 1."""
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    if as_json:
        print(json.dumps({"error": message, "hint": hint, "type": kind}))
    return 1


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        return run_demo(args)
    config_path = resolve_config_file(args.config, args.data_dir)
    config = load_config(config_path)
    if args.command == "config":
        return config_cmd.run(args, config, config_path)
    if args.command == "qr":
        return qr_cmd.run(args)
    data_dir = data_dir_for(args, config)
    if args.command in AREA_COMMANDS:
        from .services import Services

        services = Services(config, data_dir)
        try:
            return AREA_COMMANDS[args.command].run(args, services)
        finally:
            services.close()
    return launch(config, data_dir)


def data_dir_for(args: argparse.Namespace, config: Config) -> Path:
    if args.data_dir is not None:
        return args.data_dir.expanduser()
    if config.data_dir:
        return Path(config.data_dir).expanduser()
    return default_data_dir()


def launch(config: Config, data_dir: Path) -> int:
    from .app import make_app

    log_to_file(data_dir)
    app = make_app(config, data_dir)
    app.run()
    return app.return_code or 0


def run_demo(args: argparse.Namespace) -> int:
    from .demo import default_demo_dir, prepare_demo, run_headless, running_parts
    from .services import Services

    data_dir = args.demo_data_dir or args.data_dir or default_demo_dir()
    config, data_dir = prepare_demo(data_dir, fresh=args.fresh, bitcoind=args.bitcoind)
    if args.headless:
        run_headless(config, data_dir, ready=lambda: print(
            f"demo rig running in {data_dir}; use: custody-tui --data-dir {data_dir} <area> ...\n"
            "Ctrl-C stops it.", flush=True))
        return 0
    # the rig's services (devices, the served chain) run for as long as the app does; the
    # app opens its own backends and reaches the chain through the rig's socket
    services = Services(config, data_dir)
    try:
        with running_parts(services):
            return launch(config, data_dir)
    finally:
        services.close()


if __name__ == "__main__":
    sys.exit(main())
