from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import pytest

from backends.audit import REDACTED, AuditLog, verify_export


def test_appends_from_many_threads_keep_one_valid_chain(audit_log: AuditLog) -> None:
    def worker(name: str) -> None:
        for number in range(25):
            audit_log.append("quorum", "heartbeat", actor=name, details={"n": number})

    threads = [threading.Thread(target=worker, args=(f"signer-{index}",)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert audit_log.count() == 200
    assert [entry.seq for entry in audit_log.entries(limit=None, newest_first=False)] == list(range(1, 201))
    assert audit_log.verify().ok


def _append_from_another_process(path: str, actor: str) -> None:
    with AuditLog(Path(path)) as log:
        for number in range(20):
            log.append("app", "tick", actor=actor, details={"n": number})


def test_appends_from_several_processes_keep_one_valid_chain(log_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    AuditLog(log_path).close()
    processes = [context.Process(target=_append_from_another_process, args=(str(log_path), f"p{i}")) for i in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    with AuditLog(log_path) as log:
        assert log.count() == 60
        assert log.verify().ok


def test_json_export_round_trips_and_reverifies(five_entries: AuditLog, tmp_path: Path) -> None:
    target = tmp_path / "exports" / "audit.json"
    with pytest.raises(FileNotFoundError):  # a mistyped directory is not created
        five_entries.export_json(target)
    target.parent.mkdir()
    status = five_entries.export_json(target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert status.ok and document["verification"] == status.to_dict()
    assert document["entries"] == five_entries.export_dicts()
    assert [entry["seq"] for entry in document["entries"]] == [1, 2, 3, 4, 5]
    assert document["anchor"] == {"seq": 5, "hash": status.head_hash}
    assert verify_export(document).ok
    assert target.stat().st_mode & 0o777 == 0o600


def test_an_edited_export_fails_reverification(five_entries: AuditLog, tmp_path: Path) -> None:
    target = tmp_path / "audit.json"
    five_entries.export_json(target)
    document = json.loads(target.read_text(encoding="utf-8"))
    document["entries"][1]["actor"] = "mallory"
    assert [(p.kind, p.seq) for p in verify_export(document).problems] == [("edited", 2)]


def test_an_export_of_a_tampered_log_carries_the_problems(five_entries: AuditLog, tmp_path: Path) -> None:
    five_entries.anchor_path.unlink()
    target = tmp_path / "audit.json"
    status = five_entries.export_json(target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert not status.ok
    assert document["verification"]["problems"][0]["kind"] == "anchor-mismatch"


def test_secret_details_are_redacted_before_they_are_hashed_or_stored(audit_log: AuditLog, log_path: Path) -> None:
    details = {
        "label": "treasury",
        "Passphrase": "correct horse",
        "mnemonic": "abandon " * 11 + "about",
        "device": {"pin-code": "1234", "PIN": "9999", "serial": "C0FFEE", "spinner": "on"},
        "keys": [{"private_key": "deadbeef", "fingerprint": "0f056943"}],
        "note": "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
        "nsec": "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5",
    }
    entry = audit_log.append("keys", "create-mnemonic", actor="alice", details=details)
    assert entry.details == {
        "label": "treasury",
        "Passphrase": REDACTED,
        "mnemonic": REDACTED,
        "device": {"pin-code": REDACTED, "PIN": REDACTED, "serial": "C0FFEE", "spinner": "on"},
        "keys": [{"private_key": REDACTED, "fingerprint": "0f056943"}],
        "note": REDACTED,
        "nsec": REDACTED,
    }
    assert audit_log.verify().ok
    audit_log.close()
    stored = b"".join(path.read_bytes() for path in log_path.parent.iterdir() if path.is_file())
    for secret in (b"correct horse", b"abandon", b"deadbeef", b"9999", b"xprv9s21", b"nsec1vl0"):
        assert secret not in stored


def test_the_database_and_its_wal_files_are_private_even_with_a_lax_umask(tmp_path: Path) -> None:
    import os

    previous = os.umask(0o022)
    try:
        with AuditLog(tmp_path / "audit.sqlite") as log:
            log.append("keys", "unlock", actor="alice")
            files = sorted(tmp_path.glob("audit.sqlite*"))
            modes = {path.name: path.stat().st_mode & 0o777 for path in files}
    finally:
        os.umask(previous)
    assert {"audit.sqlite", "audit.sqlite-wal", "audit.sqlite-shm"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes


def test_secrets_in_read_only_mappings_and_inside_descriptors_are_redacted(audit_log: AuditLog) -> None:
    from types import MappingProxyType

    xprv = "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"
    details = {
        "entry": MappingProxyType({"seed": "abandon " * 11 + "about", "label": "cold"}),
        "descriptor": f"wpkh([d34db33f/84h/0h/0h]{xprv}/0/*)",
        "reason": "key 1 was " + xprv,
    }
    entry = audit_log.append("chain", "watch", actor="alice", details=details)
    assert entry.details == {
        "entry": {"seed": REDACTED, "label": "cold"},
        "descriptor": REDACTED,
        "reason": REDACTED,
    }
    assert "abandon" not in json.dumps(entry.details) and "xprv" not in json.dumps(entry.details)


def test_pairing_and_enrolment_urls_are_redacted_wherever_they_appear(audit_log: AuditLog) -> None:
    """A bunker:// URL pairs a device and an otpauth:// URI enrols an authenticator: both
    carry their secret in a ``secret=`` parameter, which the key-name rules cannot see
    when the URL is quoted in a message or filed under an ordinary key."""
    pairing = "bunker://" + "a" * 64 + "?relay=ws%3A%2F%2F127.0.0.1%3A7447&secret=" + "5f" * 32
    enrolment = "otpauth://totp/custody:owner?secret=JBSWY3DPEHPK3PXP&issuer=custody"
    entry = audit_log.append("bunker", "token create", actor="alice", details={
        "shown": pairing, "reason": f"device said: {enrolment}", "relay": "ws://127.0.0.1:7447",
        "token": "5d7fe329"})
    assert entry.details == {"shown": REDACTED, "reason": REDACTED, "relay": "ws://127.0.0.1:7447",
                             "token": "5d7fe329"}
