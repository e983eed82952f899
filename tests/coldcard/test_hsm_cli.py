"""HSM mode through the real ``ckcc`` command line (ckcc-protocol 1.6.0), as an operator
drives it: ``hsm-start`` with a policy file (and without, for the saved one), ``hsm``,
``user`` (TOTP with a given or device-picked secret, password, delete), ``auth``,
``local-conf`` and ``get-locker``. Approvals on screen are simulator keypresses, as in
test_hsm_mode. ``ckcc hsm`` prints the status with ``pprint`` (a Python literal, keys
sorted), not JSON.

These run against the official simulator too; the one that leaves a QR code on the
screen gets a fresh simulator of its own (``fresh_device``).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import subprocess
import sys
import time
from base64 import b32decode
from pathlib import Path

import pyotp
import pytest

from backends.coldcard.client import ColdcardClient
from backends.coldcard.hsm import HsmPolicy, calc_hotp, calc_local_pincode

from .test_hsm_mode import ALICE_SECRET, HSM_ON_KEYS, leave_hsm, reset_hsm, typed_local_code

CKCC = str(Path(sys.executable).parent / "ckcc")
USERS = ["carol", "dave", "erin", "frank", "pat"]


def ckcc(target, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([CKCC, "-c", target.path, *args], capture_output=True, text=True, timeout=30)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def last_line(out: subprocess.CompletedProcess) -> str:
    return out.stdout.strip().splitlines()[-1].strip()


def cli_status(target) -> dict:
    return ast.literal_eval(ckcc(target, "hsm").stdout)


def fresh_totp_window(margin: float = 10.0) -> int:
    """The current TOTP counter, waiting first if it is about to change: ckcc reads the
    clock again, and a replay is only a replay within the same window."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.1)
    return int(time.time()) // 30


@pytest.fixture
def cc(target):
    client = ColdcardClient(target.path)
    reset_hsm(client)
    yield client
    if target.process is None or target.process.alive:
        reset_hsm(client)
        for name in USERS:
            client.delete_user(name)


@pytest.fixture
def policy_file(tmp_path):
    def write(policy: dict) -> str:
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(policy))
        return str(path)

    return write


def test_hsm_start_uploads_a_policy_file_and_hsm_reports_the_status(target, cc, policy_file):
    policy = {"period": 30, "notes": "via ckcc", "rules": [{"max_amount": 10_000, "per_period": 50_000}]}
    path = policy_file(policy)
    assert last_line(ckcc(target, "hsm-start", "--dry-run", path)) == "Policy ok"
    status = cli_status(target)
    assert status["active"] is False and status["policy_available"] is False
    assert last_line(ckcc(target, "hsm-start", path)) == "Approve HSM policy on Coldcard screen."
    assert cli_status(target)["approval_wait"] is True
    cc.approve_hsm_start_on_simulator()
    status = cli_status(target)
    assert sorted(status) == sorted(HSM_ON_KEYS)
    assert status["active"] is True and status["policy_hash"] == HsmPolicy.from_json(policy).hash()
    assert (status["approvals"], status["refusals"], status["period"], status["last_refusal"]) == (0, 0, 30, None)
    assert status["summary"].startswith("=-=\nvia ckcc\n=-=\n")
    library = cc.hsm_status()
    assert {k: v for k, v in status.items() if k != "uptime"} == {k: v for k, v in library.items() if k != "uptime"}


def test_hsm_start_without_a_file_restarts_the_saved_policy(target, cc):
    cc.start_hsm({"rules": [{"max_amount": 1000}]}, press_ok_on_simulator=True)
    expected = cc.hsm_status()["policy_hash"]
    leave_hsm(cc)
    assert cli_status(target)["policy_available"] is True
    assert last_line(ckcc(target, "hsm-start")) == "Approve HSM policy on Coldcard screen."
    cc.press_keys("y")  # a saved policy needs OK only, no "Last chance" digit
    status = cli_status(target)
    assert status["active"] is True and status["policy_hash"] == expected


def test_an_invalid_policy_file_fails_with_the_device_text(target, cc, policy_file):
    out = ckcc(target, "hsm-start", policy_file({"period": 0}), ok=False)
    assert out.returncode == 1
    assert "Coldcard Error: HSM Policy invalid: hsm.py:112: period: must be in range: [1..4320]" in out.stderr
    status = cli_status(target)
    assert status["active"] is False and "approval_wait" not in status


def test_totp_user_from_a_secret_is_checked_by_ckcc_auth(target, cc):
    assert last_line(ckcc(target, "user", "carol", "--totp-secret", ALICE_SECRET)) == "Done"
    assert "carol" in cli_status(target)["users"]
    out = ckcc(target, "user", "carol", "--totp-secret", ALICE_SECRET, ok=False)
    assert out.returncode == 1 and "Coldcard Error: exists" in out.stderr
    counter = fresh_totp_window()
    code = pyotp.TOTP(ALICE_SECRET).at(counter * 30)
    wrong = "%06d" % ((int(code) + 1) % 1_000_000)
    assert last_line(ckcc(target, "auth", "carol", wrong)) == "Problem: mismatch"
    assert last_line(ckcc(target, "auth", "carol", code)) == "Correct or queued"
    assert last_line(ckcc(target, "auth", "carol", code)) == "Problem: replay"
    assert last_line(ckcc(target, "auth", "nobody", code)) == "Problem: unknown user"
    assert last_line(ckcc(target, "user", "--delete", "carol")) == "Deleted, if it was there"
    assert "carol" not in cli_status(target)["users"]


def test_device_picked_totp_secret_is_shown_with_show_qr(target, cc):
    uri = last_line(ckcc(target, "user", "erin", "--show-qr"))
    found = re.fullmatch(r"otpauth://totp/erin\?secret=([A-Z2-7]{16})&issuer=Coldcard%20[0-9A-F]+", uri)
    assert found, uri
    secret = b32decode(found.group(1))  # 80 bits, as the device picks them
    counter = fresh_totp_window()
    assert last_line(ckcc(target, "auth", "erin", calc_hotp(secret, counter))) == "Correct or queued"


@pytest.mark.fresh_device
def test_default_user_leaves_the_secret_to_the_device_screen(target, cc):
    # no secret over USB: the device shows it as a QR code, which stays on screen (so on
    # the official simulator this test has a device of its own)
    assert last_line(ckcc(target, "user", "frank")) == "Done"
    assert "frank" in cc.hsm_status()["users"]


def test_password_user_is_checked_by_ckcc_auth(target, cc):
    assert last_line(ckcc(target, "user", "pat", "--text-secret", "hunter22")) == "Done"
    # outside HSM mode the password's HMAC covers 32 zero bytes instead of a PSBT hash
    assert last_line(ckcc(target, "auth", "pat", "hunter22", "--password")) == "Correct or queued"
    assert last_line(ckcc(target, "auth", "pat", "hunter2", "--password")) == "Problem: mismatch"


def test_ckcc_auth_only_queues_the_code_in_hsm_mode(target, cc):
    cc.create_user("dave", ALICE_SECRET)
    cc.start_hsm({"rules": [{"users": ["dave"]}]}, press_ok_on_simulator=True)
    assert last_line(ckcc(target, "auth", "dave", "000000")) == "Correct or queued"  # checked with the PSBT
    assert cli_status(target)["pending_auth"] == 1


def test_local_conf_prints_the_code_the_operator_types(target, cc, tmp_path):
    cc.start_hsm({"rules": [{"local_conf": True}]}, press_ok_on_simulator=True)
    psbt = tmp_path / "spend.psbt"
    psbt.write_bytes(b"psbt\xff" + bytes(range(60)))  # only its hash matters here
    next_code = cc.hsm_status()["next_local_code"]
    expected = calc_local_pincode(hashlib.sha256(psbt.read_bytes()).digest(), next_code)
    assert last_line(ckcc(target, "local-conf", str(psbt))) == expected
    assert last_line(ckcc(target, "local-conf", "--next", next_code, str(psbt))) == expected
    cc.press_keys(expected)  # the sixth digit submits it
    assert typed_local_code(cc, expected) == expected.encode()


def test_get_locker_reads_the_storage_locker_allow_sl_times(target, cc):
    cc.start_hsm({"set_sl": "correct horse battery staple", "allow_sl": 1}, press_ok_on_simulator=True)
    assert ckcc(target, "get-locker").stdout == "correct horse battery staple\n"
    out = ckcc(target, "get-locker", ok=False)
    assert out.returncode == 1 and "Coldcard Error: consumed" in out.stderr
    assert cli_status(target)["sl_reads"] == 1
