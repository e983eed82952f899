"""Users as the device keeps them: creation rules, TOTP/HOTP/password checks, counters."""

from __future__ import annotations

import hashlib
import hmac
import json
from base64 import b32decode
from pathlib import Path

import pyotp
import pytest

from backends.coldcard.hsm import UserError, UserStore, calc_hotp, password_key
from backends.coldcard.hsm.users import UserInfo
from backends.errors import CustodyError

from .conftest import HOTP_SECRET, PASSWORD, TOTP_SECRET, counting_random

VECTORS = Path(__file__).parents[2] / "vectors" / "rfc6238" / "rfc6238-totp-vectors.dev.json"
SHA1_CASES = [c for c in json.loads(VECTORS.read_text())["cases"] if c["mode"] == "SHA1"]
NOW = 1_700_000_000


@pytest.mark.parametrize("case", SHA1_CASES, ids=[c["utc"] for c in SHA1_CASES])
def test_hotp_at_the_totp_counter_matches_rfc6238(case):
    # the device shows 6 digits: the low six of the RFC's 8-digit code
    secret = bytes.fromhex(case["secret_hex"])
    assert calc_hotp(secret, case["time"] // 30, digits=8) == case["totp"]
    assert calc_hotp(secret, case["time"] // 30) == case["totp"][-6:]


def test_totp_code_from_an_authenticator_app_is_accepted_once(users):
    code = pyotp.TOTP(TOTP_SECRET).at(NOW)
    assert users.auth("totp", code, NOW // 30) == ""
    assert users.auth("totp", code, NOW // 30) == "replay"
    assert users.lookup("totp").last_counter == NOW // 30


def test_totp_window_accepts_two_steps_back_but_not_forward(users):
    old = pyotp.TOTP(TOTP_SECRET).at(NOW - 60)
    assert users.auth("totp", old, NOW // 30) == ""
    future = pyotp.TOTP(TOTP_SECRET).at(NOW + 60)
    assert users.auth("totp", future, NOW // 30 + 1) == "mismatch"


def test_totp_problems_are_named_with_the_device_text(users):
    assert users.auth("totp", "123456", 1000) == "range"
    assert users.auth("totp", "12345", NOW // 30) == "expect otp"
    assert users.auth("ghost", "123456", NOW // 30) == "unknown user"
    window = {pyotp.TOTP(TOTP_SECRET).at(NOW - 30 * back) for back in range(3)}
    wrong = next(code for code in ("000000", "111111", "222222") if code not in window)
    assert users.auth("totp", wrong, NOW // 30) == "mismatch"
    assert users.lookup("totp").last_counter == 0  # a wrong code burns no counter


def test_hotp_ignores_the_host_counter_and_allows_skipped_codes(users):
    secret = b32decode(HOTP_SECRET)
    assert users.auth("hotp", calc_hotp(secret, 0), 999) == ""
    # firmware quirk: counter 0 stays a candidate while the stored counter is 0
    assert users.auth("hotp", calc_hotp(secret, 0), 999) == ""
    assert users.auth("hotp", calc_hotp(secret, 5), 0) == ""
    assert users.lookup("hotp").last_counter == 5
    assert users.auth("hotp", calc_hotp(secret, 5), 0) == "mismatch"
    assert users.auth("hotp", calc_hotp(secret, 0), 0) == "mismatch"


def test_password_user_signs_the_psbt_hash(users):
    key = password_key(PASSWORD, "F1F1F1F1F1F1")
    psbt_hash = hashlib.sha256(b"psbt").digest()
    token = hmac.new(key, psbt_hash, hashlib.sha256).digest()
    assert users.auth("pw", token, 0, psbt_hash=psbt_hash) == ""
    assert users.auth("pw", token, 0, psbt_hash=psbt_hash) == ""  # not a counter: reusable
    assert users.auth("pw", token, 0) == "mismatch"  # outside a PSBT the hash is zeros
    assert users.lookup("pw").last_counter == 1


def test_simulator_preset_totp_user_works_with_the_device_algorithm(tmp_path):
    store = UserStore(tmp_path)
    store.replace_all({"totp": [1, "UR4LAZMTSJOF52FE", 0]})  # settings.set('usr', ...)
    code = calc_hotp(b32decode("UR4LAZMTSJOF52FE"), NOW // 30)
    assert store.auth("totp", code, NOW // 30) == ""


def test_device_picks_a_secret_when_none_is_given(tmp_path):
    store = UserStore(tmp_path, random_bytes=counting_random())
    picked = store.create("alice", "totp")
    assert len(picked) == 16 and picked.isupper()
    # 80 bits: too short for pyotp >= 2.10, which refuses secrets under 112 bits
    with pytest.raises(ValueError):
        pyotp.TOTP(picked).now()
    assert store.auth("alice", calc_hotp(b32decode(picked), NOW // 30), NOW // 30) == ""
    password = store.create("bob", "password")
    assert password == password.lower()
    key = password_key(password.encode(), store.serial)
    token = hmac.new(key, bytes(32), hashlib.sha256).digest()
    assert store.auth("bob", token) == ""


def test_show_qr_returns_nothing_and_shows_an_otpauth_uri(tmp_path):
    store = UserStore(tmp_path, random_bytes=counting_random())
    assert store.create("carol", 1 | 0x80) == ""
    assert store.shown_qr.startswith("otpauth://totp/CC?secret=")


@pytest.mark.parametrize(
    ("name", "mode", "secret", "text"),
    [
        ("a", "totp", b"x" * 10, "badlen"),
        ("x" * 17, "totp", b"x" * 10, "badlen"),
        ("_sys", "totp", b"x" * 10, "reserved"),
        ("totp", "totp", b"x" * 10, "exists"),
        ("dave", 9, b"x" * 10, "Assertion users.py:120"),
        ("dave", "totp", b"x" * 11, "Assertion users.py:140"),
        ("dave", "hmac", b"x" * 10, "Assertion users.py:138"),
        ("dave", 0x81, b"x" * 10, "Assertion users.py:118"),
    ],
)
def test_create_errors_use_the_device_text(users, name, mode, secret, text):
    with pytest.raises(UserError) as err:
        users.create(name, mode, secret)
    assert str(err.value) == text
    assert isinstance(err.value, CustodyError)


def test_at_most_30_users(tmp_path):
    store = UserStore(tmp_path)
    for i in range(30):
        store.create(f"user{i:02d}", "totp", b"k" * 10)
    with pytest.raises(UserError, match="too many"):
        store.create("one-more", "totp", b"k" * 10)


def test_users_and_counters_survive_a_power_cycle(tmp_path, users):
    users.auth("totp", pyotp.TOTP(TOTP_SECRET).at(NOW), NOW // 30)
    users.delete("hotp")
    again = UserStore(tmp_path)
    assert again.list() == ["pw", "totp"]
    assert again.auth("totp", pyotp.TOTP(TOTP_SECRET).at(NOW), NOW // 30) == "replay"
    assert (tmp_path / UserStore.FILENAME).stat().st_mode & 0o777 == 0o600


def test_a_user_record_never_shows_its_secret_in_repr():
    info = UserInfo(auth_mode=1, secret="JBSWY3DPEHPK3PXP", last_counter=7)
    assert "JBSWY3DPEHPK3PXP" not in repr(info)
    assert "last_counter=7" in repr(info)
