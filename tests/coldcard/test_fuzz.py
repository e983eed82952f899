"""Fuzzing the frame and command parsers: every input gets a reply or silence, never a crash,
and the device keeps serving."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.coldcard.emulator.device import Device
from backends.coldcard.emulator.framing import frame

REPLY_CODES = {b"okay", b"biny", b"int1", b"asci", b"mypb", b"err_", b"refu", b"busy", b"fram", b"smrx", b"strx"}
NOT_FUZZED = {b"logo", b"rebo", b"ncry"}  # power off / re-key: covered by their own tests


def _reply_code(reports: list[bytes]) -> bytes:
    body = b"".join(r[1 : 1 + (r[0] & 0x3F)] for r in reports)
    return body[:4]


def _ping(device: Device) -> None:
    device.receive(b"\x80" + bytes(63))  # resync
    (reply,) = device.receive(frame(b"pingalive", encrypted=False)[0])
    assert reply[1:10] == b"binyalive"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(min_size=0, max_size=80), min_size=1, max_size=8))
def test_random_reports_never_crash_the_device(tmp_path, reports):
    device = Device(tmp_path / "fuzz")
    for report in reports:
        replies = device.receive(report)
        if replies:
            assert _reply_code(replies) in REPLY_CODES
            assert all(len(r) == 64 for r in replies)
    _ping(device)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"vers", b"ping", b"upld", b"sha2", b"dwld", b"stxn", b"stok", b"smsg", b"smok", b"xpub",
                        b"show", b"p2sh", b"enrl", b"msck", b"blkc", b"hsts", b"hsms", b"user", b"nwur", b"rmur",
                        b"gslr", b"mitm", b"pass", b"XKEY", b"EVAL", b"EXEC", b"zzzz"]) | st.binary(min_size=4, max_size=4),
       st.binary(max_size=300))
def test_random_commands_get_a_reply_code(tmp_path, cmd, args):
    if cmd in NOT_FUZZED:
        return
    device = Device(tmp_path / "fuzzcmd")
    reports = frame(cmd + args, encrypted=False)
    replies = []
    for report in reports:
        replies = device.receive(report)
    assert _reply_code(replies) in REPLY_CODES
    _ping(device)


def _hsm_device(path, active: bool) -> Device:
    from backends.coldcard.emulator import hsm_mode
    from backends.coldcard.hsm import HsmPolicy

    device = Device(path, settings={"hsmcmd": 1})
    if active:
        policy = HsmPolicy.from_json({"msg_paths": ["any"], "allow_sl": 2, "share_xpubs": ["any"], "rules": [{}]})
        hsm_mode.activate(device, policy, new_file=False)
    return device


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"hsts", b"hsms", b"user", b"nwur", b"rmur", b"gslr", b"smsg", b"xpub", b"show", b"XKEY"]),
       st.binary(max_size=120), st.booleans())
def test_random_hsm_commands_get_a_device_answer_not_a_crash(tmp_path, cmd, args, active):
    device = _hsm_device(tmp_path / ("on" if active else "off"), active)
    replies = []
    for report in frame(cmd + args, encrypted=False):
        replies = device.receive(report)
    body = b"".join(r[1 : 1 + (r[0] & 0x3F)] for r in replies)
    assert body[:4] in REPLY_CODES
    assert not body.startswith(b"err_Confused"), body
    _ping(device)
