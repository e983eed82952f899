"""The JSON export of the audit log, and verification of an export on its own.

An export carries the entries (oldest first), the verification result at export time and
the anchor, so an auditor can re-verify it without the database: every hash is recomputed
from the documented canonical serialization (see ``backends.audit.entry``).
"""

from __future__ import annotations

from typing import Any

from backends.audit.anchor import HeadAnchor
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
    """Re-verify an export: its entries against each other and against its anchor."""
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        raise AuditError("this file is not a custody-tui audit export", hint=f"expected format {EXPORT_FORMAT}")
    anchor = document.get("anchor")
    return verify_chain(
        document.get("entries", []),
        anchor=None if anchor is None else HeadAnchor(seq=anchor["seq"], hash=anchor["hash"]),
    )
