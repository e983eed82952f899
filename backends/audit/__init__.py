"""The audit log: an append-only, hash-chained record of every operator action.

Owns one SQLite file (WAL) in the data directory and its head anchor beside it
(``<db>.head``). Each entry commits to the one before it (SHA-256 over a canonical JSON
serialization documented in :mod:`backends.audit.entry`), and the anchor records the
newest entry, so editing, removing, inserting or reordering rows and cutting off the tail
are all reported by :meth:`AuditLog.verify` with the seq they concern. Secret-looking
details are redacted before they are hashed (:mod:`backends.audit.redaction`).

What it does not defend against: someone able to rewrite the whole file *and* the anchor
can forge a consistent history. Publishing ``ChainStatus.head_hash`` elsewhere (the
board, a printed report) is what pins history against that.
"""

from backends.audit.anchor import HeadAnchor
from backends.audit.entry import GENESIS_HASH, OUTCOMES, AuditEntry, canonical_bytes, entry_hash
from backends.audit.errors import AuditDetailsError, AuditError, AuditUnrecorded
from backends.audit.export import EXPORT_FORMAT, verify_export
from backends.audit.log import AuditLog
from backends.audit.redaction import REDACTED, redact
from backends.audit.verify import PROBLEM_KINDS, ChainStatus, Problem, verify_chain

__all__ = [
    "EXPORT_FORMAT",
    "GENESIS_HASH",
    "OUTCOMES",
    "PROBLEM_KINDS",
    "REDACTED",
    "AuditDetailsError",
    "AuditEntry",
    "AuditError",
    "AuditUnrecorded",
    "AuditLog",
    "ChainStatus",
    "HeadAnchor",
    "Problem",
    "canonical_bytes",
    "entry_hash",
    "redact",
    "verify_chain",
    "verify_export",
]
