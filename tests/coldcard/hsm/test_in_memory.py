"""An engine with no state directory (the quorum coordinator's pre-flight, which judges a
copy of each signer's policy and must keep nothing): users, their replay counters and the
storage locker live in memory, and nothing is written anywhere."""

from __future__ import annotations

from base64 import b32decode

import pytest

from backends.coldcard.hsm import HsmEngine, HsmPolicy, HsmRefusal, UserStore
from backends.coldcard.hsm.otp import calc_hotp, totp_counter

from .conftest import TOTP_SECRET, WALLET, tx


def test_an_engine_without_a_state_dir_judges_with_users_and_a_locker_and_writes_nothing(
        tmp_path, monkeypatch, clock):
    monkeypatch.chdir(tmp_path)  # a relative path written by mistake would land here
    users = UserStore(None)
    users.create("totp", "totp", b32decode(TOTP_SECRET))
    policy = HsmPolicy.from_json({"set_sl": "the locker of a pre-flight", "allow_sl": 1,
                                  "rules": [{"users": ["totp"]}]}, users=users, wallets=[WALLET])
    engine = HsmEngine(policy, None, clock=clock, users=users, new_file=False)
    counter = totp_counter(clock())
    code = calc_hotp(b32decode(TOTP_SECRET), counter)

    assert engine.approve_transaction(tx(1000), auth={"totp": (code, counter)}) == 1
    # the replay counter moved, in memory: the same code is refused as replayed
    assert users.lookup("totp").last_counter == counter
    with pytest.raises(HsmRefusal, match="replay"):
        engine.approve_transaction(tx(1000, salt=b"again"), auth={"totp": (code, counter)})
    assert engine.storage_locker == b"the locker of a pre-flight"
    assert list(tmp_path.iterdir()) == []


def test_a_policy_saved_as_new_needs_a_state_dir(clock):
    policy = HsmPolicy.from_json({"rules": [{}]}, users=UserStore(None), wallets=[WALLET])
    with pytest.raises(ValueError, match="state directory"):
        HsmEngine(policy, None, clock=clock, users=UserStore(None))
