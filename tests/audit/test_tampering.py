"""Each way of tampering with the file is reported with its kind and the seq it concerns."""

from __future__ import annotations

import json

from backends.audit import AuditLog, entry_hash

from .conftest import row, tamper

FIELDS = "timestamp, actor, area, action, details, outcome, prev_hash, hash"


def problems(log: AuditLog) -> list[tuple[str, int]]:
    status = log.verify()
    assert not status.ok
    for problem in status.problems:
        assert f"#{problem.seq}" in problem.message
    return [(problem.kind, problem.seq) for problem in status.problems]


def test_editing_a_details_field_is_reported_as_edited(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, ("UPDATE entries SET details = ? WHERE seq = 3", ('{"step":33}',)))
    assert problems(five_entries) == [("edited", 3)]


def test_editing_and_rehashing_an_entry_is_reported_as_edited(five_entries: AuditLog, log_path) -> None:
    forged = row(log_path, 3) | {"details": {"step": 33}}
    tamper(log_path, ("UPDATE entries SET details = ?, hash = ? WHERE seq = 3", ('{"step":33}', entry_hash(forged))))
    assert problems(five_entries) == [("edited", 3)]


def test_reformatting_stored_details_counts_as_an_edit(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, ("UPDATE entries SET details = ? WHERE seq = 2", ('{"step": 2}',)))
    assert problems(five_entries) == [("edited", 2)]


def test_deleting_a_middle_row_is_reported_as_removed(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, "DELETE FROM entries WHERE seq = 3")
    assert problems(five_entries) == [("removed", 3)]


def test_deleting_a_row_and_renumbering_the_rest_is_still_removed(five_entries: AuditLog, log_path) -> None:
    tamper(
        log_path,
        "DELETE FROM entries WHERE seq = 3",
        "UPDATE entries SET seq = seq + 100 WHERE seq > 3",
        "UPDATE entries SET seq = seq - 101 WHERE seq > 100",
    )
    assert problems(five_entries) == [("removed", 3)]


def _shift_up_from(log_path, seq: int) -> tuple[str, str]:
    return (
        f"UPDATE entries SET seq = seq + 100 WHERE seq >= {seq}",
        f"UPDATE entries SET seq = seq - 99 WHERE seq > 100",
    )


def test_inserting_a_forged_row_is_reported_as_inserted(five_entries: AuditLog, log_path) -> None:
    original = row(log_path, 3)
    forged = (3, original["timestamp"], "mallory", "keys", "export-seed", "{}", "ok", original["prev_hash"], "f" * 64)
    tamper(log_path, *_shift_up_from(log_path, 3), (f"INSERT INTO entries (seq, {FIELDS}) VALUES (?,?,?,?,?,?,?,?,?)", forged))
    assert problems(five_entries) == [("inserted", 3)]


def test_inserting_a_correctly_hashed_forged_row_is_still_inserted(five_entries: AuditLog, log_path) -> None:
    original = row(log_path, 3)
    record = original | {"actor": "mallory", "action": "export-seed", "details": {}}
    record["hash"] = entry_hash(record)
    values = [record[name] for name in ("timestamp", "actor", "area", "action")] + ["{}", "ok", record["prev_hash"], record["hash"]]
    tamper(log_path, *_shift_up_from(log_path, 3), (f"INSERT INTO entries (seq, {FIELDS}) VALUES (3,?,?,?,?,?,?,?,?)", values))
    assert problems(five_entries) == [("inserted", 3)]


def test_a_forged_row_after_the_head_is_reported_as_inserted(five_entries: AuditLog, log_path) -> None:
    head = row(log_path, 5)
    record = head | {"seq": 6, "action": "withdraw", "prev_hash": head["hash"], "details": {}}
    record["hash"] = entry_hash(record)
    values = [record[name] for name in ("timestamp", "actor", "area", "action")] + ["{}", "ok", record["prev_hash"], record["hash"]]
    tamper(log_path, (f"INSERT INTO entries (seq, {FIELDS}) VALUES (6,?,?,?,?,?,?,?,?)", values))
    assert problems(five_entries) == [("inserted", 6)]


def test_swapping_two_rows_is_reported_as_reordered(five_entries: AuditLog, log_path) -> None:
    third, fourth = row(log_path, 3), row(log_path, 4)
    names = FIELDS.split(", ")
    assignment = ", ".join(f"{name} = ?" for name in names)
    tamper(
        log_path,
        (f"UPDATE entries SET {assignment} WHERE seq = 3", [fourth[name] for name in names]),
        (f"UPDATE entries SET {assignment} WHERE seq = 4", [third[name] for name in names]),
    )
    assert problems(five_entries) == [("reordered", 3), ("reordered", 4)]


def test_deleting_the_last_rows_is_reported_as_truncated(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, "DELETE FROM entries WHERE seq >= 4")
    status = five_entries.verify()
    assert [(problem.kind, problem.seq) for problem in status.problems] == [("truncated", 4)]
    assert "#4–#5" in status.problems[0].message


def test_deleting_every_row_is_reported_as_truncated(five_entries: AuditLog, log_path) -> None:
    tamper(log_path, "DELETE FROM entries")
    assert problems(five_entries) == [("truncated", 1)]


def test_editing_the_anchor_is_reported_as_anchor_mismatch(five_entries: AuditLog) -> None:
    document = json.loads(five_entries.anchor_path.read_text())
    document["hash"] = "0" * 64
    five_entries.anchor_path.write_text(json.dumps(document))
    assert problems(five_entries) == [("anchor-mismatch", 5)]


def test_an_anchor_pointing_back_at_an_earlier_entry_is_a_mismatch(five_entries: AuditLog, log_path) -> None:
    document = json.loads(five_entries.anchor_path.read_text())
    document["seq"] = 3
    five_entries.anchor_path.write_text(json.dumps(document))
    assert problems(five_entries) == [("anchor-mismatch", 3)]


def test_a_missing_or_garbled_anchor_is_a_mismatch(five_entries: AuditLog) -> None:
    five_entries.anchor_path.write_text("not json")
    assert problems(five_entries) == [("anchor-mismatch", 5)]
    five_entries.anchor_path.unlink()
    assert problems(five_entries) == [("anchor-mismatch", 5)]
