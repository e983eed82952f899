"""Bad input in the audit files: whatever an attacker writes into a row's details or the
head anchor, verification reports it and listing still works; nothing raises untyped."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.audit import AuditError, AuditLog
from backends.audit.anchor import anchor_path_for

from ..outside import mutations, nestings, odd_text, snapshot, within
from .conftest import tamper

hostile_text = (
    odd_text | nestings().map(lambda t: '{"a":' + t + "}") | nestings("{\"a\":", "}")
    | st.sampled_from(['{"a": NaN}', '{"a": "\\udc80"}', "[]", "null", "1" * 5000])
    | mutations(b'{"step":3}').map(lambda b: b.decode("utf-8", "replace"))
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(details=hostile_text)
def test_any_stored_details_are_reported_not_raised(five_entries: AuditLog, log_path, details) -> None:
    tamper(log_path, ("UPDATE entries SET details = ? WHERE seq = 3", (details,)))
    with within():
        status = five_entries.verify()
        five_entries.entries()
    assert status.ok == (details == '{"step":3}')


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | nestings().map(str.encode) | mutations(b'{"format": 1, "seq": 5, "hash": "ab"}'))
def test_any_head_anchor_is_reported_not_raised(five_entries: AuditLog, log_path, data) -> None:
    anchor = anchor_path_for(log_path)
    good = anchor.read_bytes()
    anchor.write_bytes(data)
    before = _files(log_path)
    with within():
        try:
            five_entries.verify()
        except AuditError:
            pass
    assert _files(log_path) == before  # verifying never rewrites what it checks
    anchor.write_bytes(good)


def _files(log_path) -> dict[str, str]:
    # SQLite's shared-memory index changes on every read; the database and anchor must not
    return {k: v for k, v in snapshot(log_path.parent).items() if not k.endswith(("-shm", "-wal"))}



@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(["timestamp", "actor", "area", "action", "details", "outcome", "prev_hash", "hash"]),
       value=st.binary(max_size=20) | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False))
def test_a_value_of_another_type_in_a_text_column_is_reported_not_raised(
        five_entries: AuditLog, log_path, column, value) -> None:
    """SQLite stores any type in a TEXT column: a blob there broke `audit list` (a str
    format of bytes) and, in the head's hash, every later append."""
    anchor = anchor_path_for(log_path)
    good_anchor = anchor.read_bytes()
    original = _replace(log_path, column, 5, value)
    try:
        with within():
            status = five_entries.verify()
            listed = five_entries.entries()
            five_entries.append("app", "after", actor="bob")
        assert not status.ok
        assert all(isinstance(getattr(e, column), str if column != "details" else (str, dict)) for e in listed)
    finally:
        tamper(log_path, "DELETE FROM entries WHERE seq > 5")
        _replace(log_path, column, 5, original)
        anchor.write_bytes(good_anchor)


def _replace(log_path, column: str, seq: int, value):
    import sqlite3

    connection = sqlite3.connect(log_path, isolation_level=None)
    try:
        (original,) = connection.execute(f"SELECT {column} FROM entries WHERE seq = ?", (seq,)).fetchone()
        connection.execute(f"UPDATE entries SET {column} = ? WHERE seq = ?", (value, seq))
    finally:
        connection.close()
    return original


_entry_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                          st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_export_document_is_verified_or_refused_with_a_typed_error(five_entries: AuditLog, data) -> None:
    """An export is handed to auditors and read back by verify_export: a hostile one (an
    entry without a field, a seq that is text, an anchor that is a list) raised KeyError
    or TypeError."""
    from backends.audit import verify_export

    document, _ = five_entries.export()
    entries = document["entries"]
    index = data.draw(st.integers(0, len(entries) - 1))
    field = data.draw(st.sampled_from(sorted(entries[0])))
    choice = data.draw(st.sampled_from(["value", "drop", "anchor", "entries", "entry"]))
    if choice == "value":
        entries[index][field] = data.draw(_entry_values)
    elif choice == "drop":
        del entries[index][field]
    elif choice == "anchor":
        document["anchor"] = data.draw(_entry_values | st.fixed_dictionaries({"seq": _entry_values, "hash": _entry_values}))
    elif choice == "entries":
        document["entries"] = data.draw(_entry_values)
    else:
        entries[index] = data.draw(_entry_values)
    with within():
        try:
            verify_export(document)
        except AuditError as exc:
            assert "export" in str(exc)
