"""The JSON export of the audit log, and verification of an export on its own.

An export carries the entries (oldest first), the verification result at export time and
the anchor, so an auditor can re-verify it without the database: every hash is recomputed
from the documented canonical serialization (see ``backends.audit.entry``).
"""

from __future__ import annotations

from typing import Any

from backends.audit.anchor import HeadAnchor
from backends.audit.entry import HASHED_FIELDS
from backends.audit.errors import AuditError
from backends.audit.verify import ChainStatus, verify_chain

EXPORT_FORMAT = "custody-tui-audit-export/1"
CANONICAL_DESCRIPTION = (
    "sha256 over UTF-8 JSON of {action, actor, area, details, outcome, prev_hash, seq, timestamp}, "
    "keys sorted at every level, separators ',' and ':', non-ASCII unescaped; genesis prev_hash is 64 zeros"
)


def export_document(
    records: list[dict[str, Any]], status: ChainStatus, anchor: HeadAnchor | None, *, exported_at: str
) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "exported_at": exported_at,
        "hashing": CANONICAL_DESCRIPTION,
        "anchor": None if anchor is None else {"seq": anchor.seq, "hash": anchor.hash},
        "verification": status.to_dict(),
        "entries": records,
    }


def verify_export(document: dict[str, Any]) -> ChainStatus:
    """Re-verify an export: its entries against each other and against its anchor.

    An export comes from outside (it is handed around): its shape is checked first, and a
    malformed one is an AuditError, never a KeyError or TypeError. A well-formed entry
    whose content was changed is what verification itself reports."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise AuditError("this file is not a custody-tui audit export", hint=f"expected format {EXPORT_FORMAT}")
    entries = document.get("entries", [])
    if not isinstance(entries, list):
        raise AuditError("this audit export is malformed: its entries are not a list")
    for position, entry in enumerate(entries, start=1):
        problem = _entry_shape_problem(entry)
        if problem:
            raise AuditError(f"this audit export is malformed: entry {position} of the file {problem}")
    anchor = document.get("anchor")
    if anchor is not None and not (isinstance(anchor, dict) and _is_seq(anchor.get("seq"))
                                   and isinstance(anchor.get("hash"), str)):
        raise AuditError("this audit export is malformed: its anchor is not {seq, hash}")
    return verify_chain(
        entries,
        anchor=None if anchor is None else HeadAnchor(seq=anchor["seq"], hash=anchor["hash"]),
    )


def _is_seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _entry_shape_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return "is not an object"
    missing = [name for name in (*HASHED_FIELDS, "hash") if name not in entry]
    if missing:
        return f"has no {missing[0]!r}"
    if not _is_seq(entry["seq"]):
        return "has a seq that is not a whole number"
    for name in (*HASHED_FIELDS, "hash"):
        if name not in ("seq", "details") and not isinstance(entry[name], str):
            return f"has a {name} that is not text"
    return None
