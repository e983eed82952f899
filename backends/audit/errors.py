"""Failures of the audit log an operator can act on."""

from __future__ import annotations

from backends.errors import CustodyError


class AuditError(CustodyError):
    """The audit log could not record, read or export an entry."""


class AuditDetailsError(AuditError):
    """An entry's details are not a JSON object the log can commit to."""


class AuditUnrecorded(AuditError):
    """An action completed but its audit entry could not be written.

    Distinct from a failed action: the operator must not repeat it, and must record it
    by other means until the log is writable again."""
