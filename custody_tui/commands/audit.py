"""``custody-tui audit ...``: read, verify and export the audit log."""

from __future__ import annotations

from pathlib import Path

from ..services import Services
from .common import add_json_flag, count_arg, emit


def register(subparsers) -> None:
    audit = subparsers.add_parser("audit", help="the tamper-evident audit log")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")

    p = actions.add_parser("list", help="the newest entries")
    p.add_argument("--area", help="only this area (keys, audit, app, ...)")
    p.add_argument("--grep", help="only entries containing this text")
    p.add_argument("--limit", type=count_arg(1, 1_000_000), default=50)
    add_json_flag(p)

    p = actions.add_parser("verify", help="check every hash and link; exit 1 if broken")
    add_json_flag(p)

    p = actions.add_parser("export", help="write every entry and the chain status as JSON")
    p.add_argument("path", type=Path)
    p.add_argument("--force", action="store_true", help="replace the file if it exists")


def run(args, services: Services) -> int:
    log = services.audit
    if args.action == "list":
        entries = log.entries(area=args.area, text=args.grep, limit=args.limit)
        lines = [
            f"{e.seq:>6} {e.timestamp} {e.area:<10} {e.action:<18} {e.outcome:<8} {e.actor}"
            for e in entries
        ]
        emit(args, [e.to_dict() for e in entries], "\n".join(lines) or "(no entries)")
        return 0
    if args.action == "verify":
        status = log.verify()
        text = (
            f"intact: {status.entries_checked} entries, head {status.head_hash}"
            if status.ok
            else "BROKEN:\n" + "\n".join(f"  {p.message}" for p in status.problems)
        )
        # an append that found the anchor disagreeing recorded it and re-anchored: the
        # chain verifies from there on, so say what the log itself noted
        noted = [e for e in log.entries(area="audit", text="anchor-mismatch", limit=None, newest_first=False)
                 if e.action == "anchor-mismatch"]
        if noted:
            text += (f"\nwarning: {len(noted)} anchor {'mismatch' if len(noted) == 1 else 'mismatches'} "
                     "recorded by the log itself (entries "
                     + ", ".join(f"#{e.seq}" for e in noted) + "): custody-tui audit list --area audit")
        emit(args, {**status.to_dict(), "recorded_anchor_mismatches": [e.seq for e in noted]}, text)
        return 0 if status.ok else 1
    with services.audited("audit", "export", path=str(args.path)):
        log.export_json(args.path, replace=args.force)
    print(f"written {args.path}")
    return 0
