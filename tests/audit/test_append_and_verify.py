from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from backends.audit import GENESIS_HASH, AuditError, AuditLog, entry_hash

from .conftest import SteppingClock


def test_appended_entries_form_a_chain_from_genesis(five_entries: AuditLog) -> None:
    oldest_first = five_entries.entries(newest_first=False)
    assert [entry.seq for entry in oldest_first] == [1, 2, 3, 4, 5]
    assert oldest_first[0].prev_hash == GENESIS_HASH
    for previous, entry in zip(oldest_first, oldest_first[1:]):
        assert entry.prev_hash == previous.hash
    status = five_entries.verify()
    assert status.ok and status.problems == []
    assert status.entries_checked == 5
    assert (status.head_seq, status.head_hash) == (5, oldest_first[-1].hash)


def test_timestamps_come_from_the_injected_clock_in_utc(five_entries: AuditLog) -> None:
    first = five_entries.entries(newest_first=False, limit=1)[0]
    assert first.timestamp == "2025-01-02T03:04:06.000000Z"


def test_hash_is_sha256_of_the_documented_canonical_json(audit_log: AuditLog) -> None:
    entry = audit_log.append("keys", "create-mnemonic", actor="bob", details={"b": 1, "a": "é"}, outcome="refused")
    canonical = json.dumps(
        {
            "action": "create-mnemonic",
            "actor": "bob",
            "area": "keys",
            "details": {"a": "é", "b": 1},
            "outcome": "refused",
            "prev_hash": GENESIS_HASH,
            "seq": 1,
            "timestamp": entry.timestamp,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    assert entry.hash == hashlib.sha256(canonical).hexdigest() == entry_hash(entry.to_dict())


def test_reopening_the_log_continues_the_same_chain(log_path) -> None:
    with AuditLog(log_path, clock=SteppingClock()) as log:
        first = log.append("app", "start", actor="alice")
    with AuditLog(log_path, clock=SteppingClock()) as log:
        second = log.append("app", "stop", actor="alice")
        assert (second.seq, second.prev_hash) == (2, first.hash)
        assert log.verify().ok


def test_an_empty_log_verifies(audit_log: AuditLog) -> None:
    status = audit_log.verify()
    assert status.ok and status.entries_checked == 0 and status.head_hash == GENESIS_HASH


def test_entries_filter_by_area_and_text_and_page(five_entries: AuditLog) -> None:
    assert [entry.action for entry in five_entries.entries(area="keys")] == ["lock", "unlock"]
    assert [entry.seq for entry in five_entries.entries(text="ARM")] == [3]
    assert [entry.seq for entry in five_entries.entries(text='"step":4')] == [4]
    assert [entry.seq for entry in five_entries.entries(limit=2, offset=1)] == [4, 3]
    assert [entry.seq for entry in five_entries.entries(limit=2, newest_first=False)] == [1, 2]
    assert five_entries.count() == 5
    assert five_entries.count(area="keys") == 2
    assert five_entries.count(text="alice") == 5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"actor": "alice", "outcome": "maybe"}, "outcome"),
        ({"actor": " "}, "actor"),
        ({"actor": "alice", "details": ["not", "a", "mapping"]}, "mapping"),
        ({"actor": "alice", "details": {"amount": float("nan")}}, "cannot be recorded"),
    ],
)
def test_malformed_appends_are_refused_with_a_reason(audit_log: AuditLog, kwargs, fragment) -> None:
    with pytest.raises(AuditError, match=fragment):
        audit_log.append("keys", "unlock", **kwargs)
    assert audit_log.count() == 0


def test_a_clock_without_time_zone_is_refused(log_path) -> None:
    from datetime import datetime

    with AuditLog(log_path, clock=lambda: datetime(2025, 1, 1)) as log:
        with pytest.raises(AuditError, match="time zone"):
            log.append("app", "start", actor="alice")
        assert log.verify().ok


def test_unusual_detail_values_are_recorded_as_text(audit_log: AuditLog) -> None:
    from decimal import Decimal
    from pathlib import Path

    entry = audit_log.append("policy", "update", actor="alice", details={"cap": Decimal("0.5"), "file": Path("/p")})
    assert entry.details == {"cap": "0.5", "file": "/p"}
    assert audit_log.verify().ok


def test_the_audit_backend_never_imports_textual_or_rich() -> None:
    code = "import sys, backends.audit; assert not {'textual', 'rich'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)
