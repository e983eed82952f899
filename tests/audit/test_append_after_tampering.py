"""The next append must not hide tampering: a routine action after someone cut the tail or
rewrote the head used to re-anchor the shortened chain, and `audit verify` said intact.

Also a real crash between the commit and the anchor write (a process killed there): the
log reports it, the next append heals it and keeps a record of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from backends.audit import AuditLog, entry_hash

from .conftest import row, tamper


def _kinds(log: AuditLog) -> list[tuple[str, int]]:
    return [(problem.kind, problem.seq) for problem in log.verify().problems]


def _mismatch_records(log: AuditLog) -> list:
    return [e for e in log.entries(area="audit", limit=None) if e.action == "anchor-mismatch"]


def test_an_append_after_the_tail_was_cut_keeps_the_cut_visible(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, "DELETE FROM entries WHERE seq >= 4")
    five_entries.append("keys", "unlock", actor="bob")
    five_entries.append("keys", "lock", actor="bob")
    assert ("removed", 4) in _kinds(five_entries)
    assert "#4–#5" in five_entries.verify().problems[0].message
    (record,) = _mismatch_records(five_entries)
    assert record.outcome == "error"
    assert record.details["anchor_seq"] == 5 and record.details["head_seq"] == 3


def test_an_append_after_the_head_was_rewritten_keeps_the_rewrite_visible(five_entries: AuditLog, log_path) -> None:
    forged = row(log_path, 5) | {"details": {"step": 55}}
    tamper(log_path, ("UPDATE entries SET details = ?, hash = ? WHERE seq = 5", ('{"step":55}', entry_hash(forged))))
    five_entries.append("keys", "unlock", actor="bob")
    assert ("edited", 5) in _kinds(five_entries)


def test_an_append_after_the_anchor_was_deleted_records_that_it_was_missing(five_entries: AuditLog, log_path) -> None:
    five_entries.anchor_path.unlink()
    entry = five_entries.append("keys", "unlock", actor="bob")
    assert entry.seq == 7  # the record of the missing anchor came first
    (record,) = _mismatch_records(five_entries)
    assert "missing" in record.details["found"]
    assert five_entries.verify().ok  # from here on the chain is anchored again


def test_an_append_after_a_garbled_anchor_records_it(five_entries: AuditLog) -> None:
    five_entries.anchor_path.write_text('{"format": "custody-tui-audit-anchor/1", "seq": 99999999999999999999, "hash": "x"}')
    five_entries.append("keys", "unlock", actor="bob")
    assert len(_mismatch_records(five_entries)) == 1
    assert five_entries.verify().ok


def test_an_untouched_log_records_no_mismatch(five_entries: AuditLog) -> None:
    five_entries.append("keys", "unlock", actor="bob")
    assert _mismatch_records(five_entries) == []
    assert [e.seq for e in five_entries.entries(limit=None, newest_first=False)] == [1, 2, 3, 4, 5, 6]


def test_a_process_killed_between_commit_and_anchor_is_healed_and_noted(five_entries: AuditLog, log_path: Path) -> None:
    repo_root = Path(__file__).resolve().parents[2]
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "import backends.audit.log as log_module\n"
        "log_module.write_anchor = lambda *a, **k: os._exit(9)  # killed right after COMMIT\n"
        "log_module.AuditLog(Path(sys.argv[1])).append('quorum', 'spend', actor='carol')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(log_path)], cwd=repo_root)
    assert done.returncode == 9
    assert json.loads(five_entries.anchor_path.read_text())["seq"] == 5
    assert _kinds(five_entries) == [("inserted", 6)]  # reported, never hidden
    five_entries.append("keys", "unlock", actor="bob")
    assert five_entries.verify().ok
    (record,) = _mismatch_records(five_entries)
    assert record.details["anchor_seq"] == 5 and record.details["head_seq"] == 6
