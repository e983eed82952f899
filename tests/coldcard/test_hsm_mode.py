"""HSM mode over USB, through the real ckcc client: the hsmcmd gate, starting a policy,
``hsts``, users, the storage locker, the command whitelist, message and PSBT decisions by
the policy, velocity and its simulator fast-forward, power cycles and boot_to_hsm, and a
policy-approved spend that the embedded chain accepts once a second cosigner signs.

The single-device tests run against the official simulator too (tests/coldcard/conftest); those
that need process control or several seeds are ``emulator_only``.
"""

from __future__ import annotations

import hashlib
import re
import time
from base64 import b32encode
from pathlib import Path

import pyotp
import pytest
from ckcc.protocol import CCProtocolPacker as P
from ckcc.protocol import CCProtoError, CCUserRefused
from ckcc.utils import calc_local_pincode

from backends.coldcard.client import ColdcardClient
from backends.coldcard.errors import DeviceError, HsmCommandsDisabled, NotAllowedInHsm, SigningRefused
from backends.coldcard.hsm import HsmPolicy
from backends.wallet import REGTEST, Payment, Utxo, combine, create_psbt, extract, finalize, parse_address
from backends.wallet import parse_psbt, serialize_psbt

from .quorum import (
    Quorum,
    device,
    enrol,
    funded_chain,
    sign_with_keypress,
    wallet_file,
)

LEAVE_HSM = "from hsm_ux import hsm_ux_obj; hsm_ux_obj.test_restart = True"
FORGET_POLICY = "import uos, hsm; uos.remove(hsm.POLICY_FNAME)"
PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
#: another cosigner's single-sig address (m/84h/1h/0h/0/9 of the "abandon" seed)
OTHER = "bcrt1q65h52rapyrunjenertfq8uqp3kmv0kvu48cawl"
#: a 20-byte TOTP secret: pyotp refuses the device's 80-bit ones
ALICE_SECRET = b32encode(bytes(range(1, 21))).decode()
#: ``hsts`` keys in the order the device sends them: a MicroPython dict's hash-table order
HSM_OFF_KEYS = ["policy_available", "chain", "active", "wallets", "users"]
HSM_ON_KEYS = ["sl_reads", "summary", "last_refusal", "approvals", "refusals", "uptime", "chain",
               "pending_auth", "policy_hash", "period", "active", "users"]


def leave_hsm(client: ColdcardClient) -> None:
    """Out of HSM mode (simulator hack). The simulator's HSM screen sees the flag at its
    next 100 ms poll; the emulator at once."""
    client.sim_exec(LEAVE_HSM)
    deadline = time.monotonic() + 10  # a hang guard, not a speed check
    while client.hsm_status()["active"]:
        assert time.monotonic() < deadline, "the device stayed in HSM mode"
        time.sleep(0.05)


def typed_local_code(client: ColdcardClient, code: str) -> bytes:
    """The code the HSM screen took from the keypad once it has read ``code``'s six digits
    (the simulator's screen reads a key per 100 ms poll)."""
    deadline = time.monotonic() + 10  # a hang guard, not a speed check
    while True:
        pending = client.sim_exec("from glob import hsm_active; RV.write(hsm_active.local_code_pending)")
        if pending == code.encode() or time.monotonic() > deadline:
            return pending
        time.sleep(0.05)


def reset_hsm(client: ColdcardClient) -> None:
    """HSM off, no saved policy, HSM commands on (the upstream tests' idioms)."""
    client.sim_exec("settings.set('hsmcmd', 1)")
    leave_hsm(client)
    client.sim_exec(FORGET_POLICY)


def arm(client: ColdcardClient, policy: dict) -> dict:
    leave_hsm(client)
    client.start_hsm(policy, press_ok_on_simulator=True)
    return client.hsm_status()


def err_text(call) -> str:
    with pytest.raises(CCProtoError) as err:
        call()
    return err.value.args[1].decode()


@pytest.fixture
def cc(target):
    client = ColdcardClient(target.path)
    reset_hsm(client)
    yield client
    if target.process is None or target.process.alive:
        reset_hsm(client)


# ---- the gate, validation, starting --------------------------------------------------

def test_hsm_commands_are_refused_until_hsmcmd_is_enabled(target, cc):
    cc.sim_exec("settings.set('hsmcmd', 0)")
    with target.open() as dev:
        for request in [P.hsm_status(), P.hsm_start(), P.get_storage_locker(), P.delete_user(b"bob"),
                        P.create_user(b"bob", 1, bytes(10)), P.user_auth(b"bob", b"123456", 0)]:
            assert err_text(lambda: dev.send_recv(request)) == "HSM commands disabled"
    with pytest.raises(HsmCommandsDisabled):
        cc.hsm_status()


INVALID = [
    ({"period": 0}, "HSM Policy invalid: hsm.py:112: period: must be in range: [1..4320]"),
    ({"rules": [{"per_period": 1000}]}, "HSM Policy invalid: hsm.py:517: Needs period to be specified"),
    ({"rules": [{"users": ["nobody"]}]}, "HSM Policy invalid: hsm.py:195: Unknown user: nobody"),
    ({"rules": [{"wallet": "nosuch"}]}, "HSM Policy invalid: hsm.py:226: unknown MS wallet: nosuch"),
    ({"rules": [], "z" * 90: 1}, ("HSM Policy invalid: hsm.py:150: Unknown item: " + "z" * 90)[:80]),
]


@pytest.mark.parametrize("policy, text", INVALID, ids=[t[1][28:60] for t in INVALID])
def test_invalid_policy_is_refused_over_usb_with_the_device_text(cc, policy, text):
    with pytest.raises(DeviceError) as err:
        cc.start_hsm(policy)
    assert err.value.device_text == text
    assert len(err.value.device_text.encode()) <= 80
    assert cc.hsm_status()["active"] is False


def test_start_without_a_saved_policy_says_so(cc):
    with pytest.raises(DeviceError) as err:
        cc.start_hsm()
    assert err.value.device_text == "No existing policy"


def test_start_asks_twice_then_reports_live_status(target, cc):
    policy = {"period": 30, "notes": "treasury", "rules": [{"max_amount": 10_000, "per_period": 50_000}]}
    cc.start_hsm(policy)
    status = cc.hsm_status()
    assert status["active"] is False and status["approval_wait"] is True
    title, body = cc.screen_story().split("\0")
    assert title == "Start HSM?" and body.endswith("Press OK to enable HSM mode.")
    assert "=-=\ntreasury\n=-=" in body and "Rule #1" in body
    cc.press_keys("y")
    title, body = cc.screen_story().split("\0")
    expected_hash = HsmPolicy.from_json(policy).hash()
    assert title == "Start HSM?" and f"Policy hash:\n{expected_hash}" in body
    digit = re.search(r"\n\n\nPress (\d) to save policy and enable HSM mode\.$", body)[1]  # v5.4.5's words
    cc.press_keys("y" + "".join(d for d in "12346" if d != digit))  # strict: other keys do nothing
    assert cc.hsm_status()["active"] is False
    cc.press_keys(digit)
    status = cc.hsm_status()
    assert list(status) == HSM_ON_KEYS
    assert status["policy_hash"] == expected_hash and status["chain"] == "XTN"
    assert (status["approvals"], status["refusals"], status["sl_reads"], status["period"]) == (0, 0, 0, 30)
    assert status["last_refusal"] is None and status["pending_auth"] == 0
    assert status["summary"].startswith("=-=\ntreasury\n=-=\n")
    leave_hsm(cc)
    status = cc.hsm_status()
    assert status["active"] is False and status["policy_available"] is True


def test_cancelling_the_start_leaves_hsm_off(cc):
    cc.start_hsm({"rules": [{}]})
    cc.press_keys("x")
    status = cc.hsm_status()
    assert list(status) == HSM_OFF_KEYS and status["active"] is False


#: policies using every field; the hash a v5.4.5 device reports must be the one computed
#: here (the coordinator checks an armed signer by it)
HASHED = [
    {"share_xpubs": ["m/48h/1h/0h/*h"], "share_addrs": ["m/84h/1h/0h/0/*"], "msg_paths": ["m/84h/1h/0h/0/*"],
     "warnings_ok": True, "must_log": True,
     "rules": [{"max_amount": 5, "whitelist": ["mrVwhWw4GEBcHFttjEiawL77DaqZWNDm75"], "local_conf": True,
                "patterns": ["EQ_OUT_AMOUNTS"], "min_pct_self_transfer": 50,
                "whitelist_opts": {"mode": "BASIC", "allow_zeroval_outs": True}}]},
    {"set_sl": "correct horse battery staple", "allow_sl": 2, "boot_to_hsm": "123456", "priv_over_ux": True,
     "never_log": True, "period": 60, "rules": [{"per_period": 7, "wallet": "1"}, {"max_amount": 9}]},
    {"notes": "3 a.m. refills", "period": 1440, "rules": [{"max_amount": 0, "users": ["quinn"], "min_users": 1},
                                                         {"per_period": 2_000_000}]},
]


@pytest.mark.parametrize("policy", HASHED, ids=["sharing-whitelist", "locker-boot-priv", "users-velocity"])
def test_reported_policy_hash_is_the_one_computed_here(cc, policy):
    cc.delete_user("quinn")
    cc.create_user("quinn", ALICE_SECRET)
    try:
        status = arm(cc, policy)
        assert status["policy_hash"] == HsmPolicy.from_json(policy, users=["quinn"]).hash()
    finally:
        leave_hsm(cc)
        cc.delete_user("quinn")


# ---- what HSM mode allows --------------------------------------------------------------

def test_commands_outside_the_whitelist_are_not_allowed_in_hsm_mode(target, cc):
    arm(cc, {"share_xpubs": ["m/48h/1h/0h/*h"], "share_addrs": ["m/84h/1h/0h/0/*"]})
    with target.open() as dev:
        for request in [P.create_user(b"bob", 1, bytes(10)), P.delete_user(b"bob"), P.hsm_start(),
                        P.multisig_enroll(200, bytes(32)), P.bip39_passphrase("x")]:
            assert err_text(lambda: dev.send_recv(request)) == "Not allowed in HSM mode"
        assert dev.send_recv(P.get_xpub("m")).startswith("tpub")
        assert dev.send_recv(P.get_xpub("m/48h/1h/0h/2h")).startswith("tpub")
        assert err_text(lambda: dev.send_recv(P.get_xpub("m/84h/1h/0h"))) == "Not allowed in HSM mode"
        assert dev.send_recv(P.show_address("m/84h/1h/0h/0/7", 0x07)).startswith("tb1q")
        assert err_text(lambda: dev.send_recv(P.show_address("m/84h/1h/0h/1/7", 0x07))) == "Not allowed in HSM mode"
        assert dev.send_recv(P.ping(b"still here")) == b"still here"
        with pytest.raises(CCProtoError, match="psbt"):
            dev.upload_file(b'{"rules": []}')
    with pytest.raises(NotAllowedInHsm):
        cc.delete_user("bob")
    assert cc.hsm_status()["refusals"] == 0  # none of these is a refusal


def test_message_signing_follows_msg_paths(cc):
    arm(cc, {"msg_paths": ["m/84h/1h/0h/0/*"]})
    signed = cc.sign_message("proof of reserves", "m/84h/1h/0h/0/3", addr_fmt=0x07)
    assert signed.address.startswith("tb1q") and len(signed.signature) == 65
    with pytest.raises(SigningRefused) as err:
        cc.sign_message("proof of reserves", "m/84h/1h/0h/1/0", addr_fmt=0x07)
    assert err.value.reason == "Message signing not enabled for that path"
    status = cc.hsm_status()
    assert (status["approvals"], status["refusals"]) == (1, 1)
    arm(cc, {})
    with pytest.raises(SigningRefused) as err:
        cc.sign_message("proof of reserves", "m/84h/1h/0h/0/3")
    assert err.value.reason == "Message signing not permitted"


def test_users_are_managed_and_checked_outside_hsm_mode(target, cc):
    cc.delete_user("carol")
    assert cc.create_user("carol", ALICE_SECRET) == ALICE_SECRET
    with target.open() as dev:
        assert err_text(lambda: dev.send_recv(P.create_user(b"carol", 1, bytes(20)))) == "exists"
        assert err_text(lambda: dev.send_recv(P.create_user(b"_x", 1, bytes(20)))) == "reserved"
    counter = int(time.time()) // 30
    code = pyotp.TOTP(ALICE_SECRET).at(counter * 30)
    wrong = "%06d" % ((int(code) + 1) % 1_000_000)
    assert cc.user_auth("carol", wrong, counter=counter) == "mismatch"
    assert cc.user_auth("carol", code, counter=counter) == ""
    assert cc.user_auth("carol", code, counter=counter) == "replay"
    assert cc.user_auth("nobody", code, counter=counter) == "unknown user"
    assert "carol" in cc.hsm_status()["users"]
    cc.delete_user("carol")
    assert "carol" not in cc.hsm_status()["users"]


def test_user_codes_are_only_queued_in_hsm_mode(cc):
    cc.delete_user("dave")
    cc.create_user("dave", ALICE_SECRET)
    arm(cc, {"rules": [{"users": ["dave"]}]})
    assert cc.user_auth("dave", "000000") == ""  # okay: checked with the next PSBT
    assert cc.hsm_status()["pending_auth"] == 1
    with pytest.raises(DeviceError, match="badlen"):
        cc.user_auth("d", "000000")


def test_storage_locker_is_read_at_most_allow_sl_times(cc):
    with pytest.raises(DeviceError, match="need hsm"):
        cc.storage_locker()
    secret = "correct horse battery staple"
    arm(cc, {"set_sl": secret, "allow_sl": 2})
    assert cc.storage_locker() == secret.encode()
    assert cc.storage_locker() == secret.encode()
    with pytest.raises(DeviceError) as err:
        cc.storage_locker()
    assert err.value.device_text == "consumed"
    assert cc.hsm_status()["sl_reads"] == 2


@pytest.mark.emulator_only
def test_the_hundredth_refusal_powers_the_device_off(target, cc):
    arm(cc, {})
    with target.open() as dev:
        for n in range(100):
            dev.send_recv(P.sign_message(b"knock knock", "m/84h/1h/0h/0/0", 0x07))
            with pytest.raises(CCUserRefused):
                dev.send_recv(P.get_signed_msg())
    deadline = time.monotonic() + 30  # a hang guard, not a speed check
    while target.process.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not target.process.alive
    target.power_cycle()
    status = cc.hsm_status()
    assert status["active"] is False and status["policy_available"] is True


# ---- PSBTs decided by the policy (a 2-of-3 quorum; device 0 is the HSM) ------------------

@pytest.fixture(scope="module")
def quorum():
    q = Quorum().start()
    text = wallet_file(q.keys)
    for path in q.paths:
        enrol(path, text)
    ColdcardClient(q.paths[0]).sim_exec("settings.set('hsmcmd', 1)")
    yield q
    q.stop()


@pytest.fixture(scope="module")
def funded(quorum, tmp_path_factory):
    chain, desc = funded_chain(quorum, tmp_path_factory.mktemp("hsmchain"), coins=3, pay_to=PAY_TO)
    yield chain, desc
    chain.close()


@pytest.fixture
def hsm(quorum, funded):
    client = ColdcardClient(quorum.paths[0])
    leave_hsm(client)
    yield client
    leave_hsm(client)


def spend(funded, amount: int, to: str = PAY_TO, *, coin: int = 0) -> bytes:
    chain, desc = funded
    u = [u for u in chain.utxos(str(desc)) if u.confirmations >= 100][coin]
    utxo = Utxo(u.txid, u.vout, u.amount_sat, u.script_pubkey, u.branch, u.index)
    psbt = create_psbt(desc, [utxo], [Payment(parse_address(to, REGTEST), amount)],
                       change_amount=utxo.value - amount - 5_000, change_index=1)
    return serialize_psbt(psbt, "binary")


def refusal(client: ColdcardClient, psbt: bytes) -> str:
    with pytest.raises(SigningRefused) as err:
        client.sign_psbt(psbt)
    return err.value.reason


@pytest.mark.emulator_only
def test_spend_over_max_amount_is_refused_with_device_reason(hsm, funded):
    arm(hsm, {"rules": [{"max_amount": 1_000_000}]})
    assert refusal(hsm, spend(funded, 2_000_000)) == "Rejected: rule #1: amount exceeded"
    status = hsm.hsm_status()
    assert (status["refusals"], status["last_refusal"]) == (1, "Rejected: rule #1: amount exceeded")
    signed = parse_psbt(hsm.sign_psbt(spend(funded, 1_000_000)))
    assert len(signed.inputs[0].partial_sigs) == 1
    status = hsm.hsm_status()
    assert (status["approvals"], status["last_refusal"]) == (1, None)


@pytest.mark.emulator_only
def test_velocity_is_limited_per_period_and_resets_after_it(hsm, funded):
    arm(hsm, {"period": 10, "rules": [{"per_period": 1_500_000}]})
    assert "period_ends" not in hsm.hsm_status()
    hsm.sign_psbt(spend(funded, 1_000_000))
    status = hsm.hsm_status()
    assert status["has_spent"] == [1_000_000] and 590 <= status["period_ends"] <= 600
    assert refusal(hsm, spend(funded, 1_000_000)) == "Rejected: rule #1: would exceed period spending"
    assert hsm.sim_exec("from glob import hsm_active; hsm_active.period_started -= 601; RV.write('ok')") == b"ok"
    status = hsm.hsm_status()
    assert "period_ends" not in status and "has_spent" not in status
    hsm.sign_psbt(spend(funded, 1_000_000))
    assert hsm.hsm_status()["has_spent"] == [1_000_000]


@pytest.mark.emulator_only
def test_whitelist_refuses_other_addresses_but_skips_change(hsm, funded):
    arm(hsm, {"rules": [{"whitelist": [PAY_TO]}]})
    assert refusal(hsm, spend(funded, 100_000, OTHER)) == f"Rejected: rule #1: non-whitelisted address: {OTHER}"
    # the change output goes back to the quorum's own address, which is not whitelisted
    signed = parse_psbt(hsm.sign_psbt(spend(funded, 100_000, PAY_TO)))
    assert len(signed.outputs) == 2 and signed.inputs[0].partial_sigs


@pytest.mark.emulator_only
def test_rule_for_another_wallet_is_refused(hsm, funded):
    arm(hsm, {"rules": [{"wallet": "1"}]})
    assert refusal(hsm, spend(funded, 100_000)) == "Rejected: rule #1: wrong wallet"
    arm(hsm, {"rules": [{"wallet": "quorum23"}]})
    hsm.sign_psbt(spend(funded, 100_000))


@pytest.mark.emulator_only
def test_first_matching_rule_wins(hsm, funded):
    arm(hsm, {"period": 60, "rules": [{"max_amount": 500_000, "per_period": 10_000_000},
                                      {"whitelist": [PAY_TO], "per_period": 10_000_000}]})
    hsm.sign_psbt(spend(funded, 1_000_000))
    assert hsm.hsm_status()["has_spent"] == [0, 1_000_000]
    hsm.sign_psbt(spend(funded, 200_000))
    assert hsm.hsm_status()["has_spent"] == [200_000, 1_000_000]
    assert refusal(hsm, spend(funded, 1_000_000, OTHER)) == (
        f"Rejected: rule #1: amount exceeded, rule #2: non-whitelisted address: {OTHER}")


@pytest.mark.emulator_only
def test_totp_user_is_required_and_codes_work_once(hsm, funded):
    hsm.delete_user("alice")
    hsm.create_user("alice", ALICE_SECRET)
    arm(hsm, {"rules": [{"users": ["alice"]}]})
    psbt = spend(funded, 300_000)
    assert refusal(hsm, psbt) == "Rejected: rule #1: need user(s) confirmation"
    counter = int(time.time()) // 30
    code = pyotp.TOTP(ALICE_SECRET).at(counter * 30)
    hsm.user_auth("alice", "%06d" % ((int(code) + 1) % 1_000_000), counter=counter)
    assert refusal(hsm, psbt) == "User 'alice' gave wrong auth value: mismatch"
    hsm.user_auth("alice", code, counter=counter)
    hsm.sign_psbt(psbt)
    hsm.user_auth("alice", code, counter=counter)
    assert refusal(hsm, psbt) == "User 'alice' gave wrong auth value: replay"


@pytest.mark.emulator_only
def test_an_error_while_judging_is_a_refusal_and_clears_the_request(quorum, hsm, funded):
    """The user table cannot be saved (its file is a directory now): the device refuses
    with the error's text, as the firmware's catch-all does, and the request is over."""
    hsm.delete_user("erin")
    hsm.create_user("erin", ALICE_SECRET)
    arm(hsm, {"rules": [{"users": ["erin"]}]})
    users_file = Path(quorum.processes[0].state_dir) / "hsm-users.json"
    users_file.unlink()
    users_file.mkdir()
    try:
        counter = int(time.time()) // 30
        hsm.user_auth("erin", pyotp.TOTP(ALICE_SECRET).at(counter * 30), counter=counter)
        psbt = spend(funded, 300_000)
        with device(quorum.paths[0]) as dev:
            length, sha = dev.upload_file(psbt)
            assert dev.send_recv(P.sign_transaction(length, sha)) is None  # okay, not err_Confused
            with pytest.raises(CCUserRefused):
                dev.send_recv(P.get_signed_txn())
            assert err_text(lambda: dev.send_recv(P.get_signed_txn())) == "No active request"
        status = hsm.hsm_status()
        assert status["last_refusal"].startswith("Rejected: [Errno 21] Is a directory")
        assert (status["approvals"], status["refusals"], status["pending_auth"]) == (0, 1, 0)
        # through the library: a SigningRefused with the reason, well before the timeout
        hsm.user_auth("erin", pyotp.TOTP(ALICE_SECRET).at(counter * 30 + 30), counter=counter + 1)
        with pytest.raises(SigningRefused) as err:
            hsm.sign_psbt(psbt, timeout=15)
        assert err.value.reason.startswith("Rejected: [Errno 21] Is a directory")
        assert hsm.hsm_status()["refusals"] == 2
    finally:
        users_file.rmdir()
        leave_hsm(hsm)
        hsm.delete_user("erin")  # writes the table back


@pytest.mark.emulator_only
def test_local_operator_code_confirms_one_psbt(hsm, funded):
    arm(hsm, {"rules": [{"local_conf": True}]})
    psbt = spend(funded, 400_000)
    assert refusal(hsm, psbt) == "Rejected: rule #1: local operator didn't confirm"
    next_code = hsm.hsm_status()["next_local_code"]
    code = calc_local_pincode(hashlib.sha256(psbt).digest(), next_code)
    hsm.press_keys(code)  # the sixth digit submits it
    assert typed_local_code(hsm, code) == code.encode()
    hsm.sign_psbt(psbt)
    assert hsm.hsm_status()["next_local_code"] != next_code
    assert refusal(hsm, psbt) == "Rejected: rule #1: local operator didn't confirm"


@pytest.mark.emulator_only
def test_policy_approved_signature_and_a_cosigner_make_a_spend_the_chain_accepts(quorum, hsm, funded):
    arm(hsm, {"rules": [{"wallet": "quorum23", "max_amount": 30_000_000, "whitelist": [PAY_TO]}]})
    psbt = spend(funded, 25_000_000, coin=1)
    from_hsm = parse_psbt(hsm.sign_psbt(psbt))
    from_cosigner = parse_psbt(sign_with_keypress(quorum.paths[2], psbt))
    tx = extract(finalize(combine([from_hsm, from_cosigner])))
    chain, _ = funded
    txid = chain.broadcast(tx)
    chain.mine(1, PAY_TO)
    assert chain.tx_status(txid).confirmations == 1


@pytest.mark.emulator_only
def test_power_cycle_leaves_hsm_off_with_the_policy_saved(quorum, hsm, funded):
    policy = {"rules": [{"max_amount": 1_000_000}]}
    expected_hash = arm(hsm, policy)["policy_hash"]
    quorum.processes[0].restart()
    status = hsm.hsm_status()
    assert status["active"] is False and status["policy_available"] is True
    hsm.start_hsm()  # the saved policy: OK alone starts it, no "Last chance" digit
    hsm.press_keys("y")
    status = hsm.hsm_status()
    assert status["active"] is True and status["policy_hash"] == expected_hash


@pytest.mark.emulator_only
def test_boot_to_hsm_reenters_pre_charged_and_its_code_releases(quorum, hsm, funded):
    arm(hsm, {"boot_to_hsm": "123456", "period": 60, "rules": [{"per_period": 1_000_000}]})
    quorum.processes[0].restart()
    status = hsm.hsm_status()
    assert status["active"] is True and status["has_spent"] == [1_000_000] and status["period_ends"] > 3500
    assert refusal(hsm, spend(funded, 10_000)) == "Rejected: rule #1: would exceed period spending"
    hsm.press_keys("123456")
    assert hsm.hsm_status()["active"] is False
    hsm.sim_exec(FORGET_POLICY)
    quorum.processes[0].restart()
    assert hsm.hsm_status()["active"] is False
