"""Enrolling the surge tier's owner: one TOTP secret in the keystore and as the same user
on every signer; the devices then take a right code and refuse a wrong or replayed one in
their own words, and a policy naming the user can be pushed. The secret is never in the
audit log or the logs."""

from __future__ import annotations

import json
import logging
import re
import time

import pyotp
import pytest

from backends.coldcard.client import ColdcardClient
from backends.coldcard.hsm import texts
from backends.policy import EnrolmentError, PushFailed, keystore_label, push_policy
from tests.app.conftest import PASSPHRASE
from tests.quorum.rig import policy

from .conftest import audit, cli


def two_tier() -> dict:
    document = policy()
    surge = dict(document["rules"][0], max_amount=20_000_000, per_period=50_000_000, users=["owner"], min_users=1)
    document["rules"].append(surge)
    return document


def test_the_owner_is_enrolled_on_every_signer_and_the_devices_judge_codes(quorum, monkeypatch, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    harness, services = quorum
    services.keystore.initialize(PASSPHRASE)
    monkeypatch.setenv("CUSTODY_TUI_PASSPHRASE", PASSPHRASE)
    coordinator = services.quorum

    # the device checks a policy's users against its own: the surge tier needs the owner first
    with pytest.raises(PushFailed, match=re.escape(texts.UNKNOWN_USER.format(user="owner"))):
        push_policy(coordinator, services.policy_history, two_tier(), actor="operator@test")

    coordinator.arm(["c"])  # a signer in HSM mode cannot take a user: nothing is done anywhere
    with pytest.raises(EnrolmentError, match="c: in HSM mode"):
        cli(services, "policy", "totp-enroll", "owner")
    services.keystore.unlock(PASSPHRASE, 60)
    assert keystore_label("owner") not in [e.label for e in services.keystore.entries()]
    harness.rig.process("c").restart()

    assert cli(services, "policy", "totp-enroll", "owner", "--show-secret") == 0
    out = capsys.readouterr().out
    secret = re.search(r"secret \(base32, shown this once\): ([A-Z2-7]+)", out).group(1)
    assert "▀" in out or "▄" in out  # the otpauth:// URI as a QR code
    assert "user owner enrolled on a, b, c" in out
    services.keystore.unlock(PASSPHRASE, 60)
    assert services.keystore.get_secret("totp-owner") == pyotp.TOTP(secret).byte_secret()

    counter = int(time.time()) // 30
    right = pyotp.TOTP(secret).at(counter * 30)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for name in "abc":
        device = ColdcardClient(harness.rig.process(name).socket)
        assert device.user_auth("owner", wrong, counter=counter) == texts.AUTH_MISMATCH
        assert device.user_auth("owner", right, counter=counter) == ""
        assert device.user_auth("owner", right, counter=counter) == texts.AUTH_REPLAY

    pushed = push_policy(coordinator, services.policy_history, two_tier(), actor="operator@test")
    assert {o.outcome for o in pushed.outcomes} == {"armed"}

    assert audit(services, "totp-enroll")[-1] == ("ok", {
        "user": "owner", "signers": ["a", "b", "c"], "keystore_label": "totp-owner", "base32_shown": True})
    everything = json.dumps([e.details for e in services.audit.entries(limit=None)])
    assert secret not in everything and secret.lower() not in everything
    assert secret not in caplog.text
    enrolled = audit(services, "totp-enroll")
    assert [o for o, _ in enrolled] == ["refused", "ok"] and "c: in HSM mode" in enrolled[0][1]["reason"]
