"""Transport conformance: framing, resync, framing errors, plaintext replies, error texts.

Driven with a raw datagram socket where the ckcc client cannot produce the case, with
the real ckcc client everywhere else.
"""

from __future__ import annotations

import pytest
from ckcc.protocol import CCProtocolPacker as P
from ckcc.protocol import CCProtoError

from backends.coldcard.emulator.framing import frame

from .rawlink import RawLink


@pytest.fixture
def raw(target):
    link = RawLink(target.path)
    link.send_report(b"\x80" + b"\xff" * 63)  # resync, as the client does
    # a plaintext request first: after an encrypted one (an earlier test), the device
    # would encrypt its framing errors too, and these tests read them in the clear
    assert link.call(b"pingplain") == b"binyplain"
    yield link
    link.close()


def test_ping_spanning_several_reports_is_echoed_in_full_reports(raw):
    payload = bytes(range(200))
    raw.send_message(b"ping" + payload)
    reports = raw.recv_reports()
    assert all(len(r) == 64 for r in reports)
    assert [r[0] for r in reports[:-1]] == [63] * (len(reports) - 1)
    assert reports[-1][0] & 0x80 and not reports[-1][0] & 0x40
    assert b"".join(r[1 : 1 + (r[0] & 0x3F)] for r in reports) == b"biny" + payload


def test_exactly_63_bytes_is_one_report_with_last_flag(raw):
    raw.send_report(bytes([0xBF]) + b"ping" + bytes(59))
    reports = raw.recv_reports()
    assert [r[0] for r in reports] == [0xBF]  # "biny" + 59 bytes: one full report, last
    assert reports[0][1:] == b"biny" + bytes(59)


def test_zero_length_report_drops_partial_message_and_gets_no_reply(raw):
    raw.send_report(bytes([63]) + b"pingXXXX" + bytes(55))  # first part, not last
    raw.send_report(b"\x00" + bytes(63))  # resync
    assert raw.recv_message(timeout=0.3) is None
    assert raw.call(b"pinghello") == b"binyhello"


def test_message_under_four_bytes_is_a_framing_error(raw):
    raw.send_report(bytes([0x83]) + b"pin" + bytes(60))
    assert raw.recv_message() == b"frambadsz"
    assert raw.call(b"pingok") == b"binyok"


def test_message_over_the_limit_is_xlong(raw):
    for _ in range(32):
        raw.send_report(bytes([63]) + b"A" * 63)
    assert raw.recv_message(timeout=0.3) is None
    raw.send_report(bytes([63]) + b"A" * 63)  # 33 * 63 = 2079 > 2060
    assert raw.recv_message() == b"framxlong"
    assert raw.call(b"pingagain") == b"binyagain"


def test_short_datagram_is_a_framing_error(raw, emulator):
    raw.send_report(b"\x84ping")
    assert raw.recv_message() == b"framshort"
    raw.send_report(bytes([0x84]) + b"ping" + bytes(70))
    assert raw.recv_message() == b"framlong"


def test_command_that_is_not_text_is_a_decode_framing_error(raw):
    assert raw.call(b"\xff\xfe\xfd\xfc") == b"framdecode"


def test_unknown_command_and_unknown_simulator_command(raw):
    assert raw.call(b"zzzz") == b"err_Unknown cmd"
    assert raw.call(b"ZZZZ") == b"err_Unknown SIMULATOR cmd"


def test_error_text_is_cut_to_80_bytes(target):
    with target.open() as dev:
        with pytest.raises(CCProtoError) as err:
            dev.send_recv(P.get_xpub("m/" + "9" * 120))
    raw_text = err.value.args[1]
    assert raw_text == ("bad component: " + "9" * 120).encode()[:80]


def test_short_arguments_give_micropython_struct_text(target):
    with target.open() as dev:
        with pytest.raises(CCProtoError, match="buffer too small"):
            dev.send_recv(b"dwld\x00\x00")


def test_version_chain_and_ping_through_the_client(target):
    with target.open() as dev:
        version = dev.firmware_version()
        assert len(version) == 5 and version[4] in ("mk4", "mk5")
        assert dev.send_recv(P.block_chain()) in ("BTC", "XTN", "XRT")
        assert dev.send_recv(P.ping(b"\x00" * 1500)) == b"\x00" * 1500


def test_plaintext_exec_gets_plaintext_reply_and_leaves_streams_alone(target):
    with target.open() as dev:
        assert dev.send_recv(P.ping(b"one")) == b"one"
        assert dev.send_recv(b"EXEC" + b"RV.write('hi')", encrypt=False) == b"hi"
        assert dev.send_recv(P.ping(b"two")) == b"two"


def test_cli_reads_the_same_master_xpub_and_chain_as_the_library(target):
    import subprocess
    import sys
    from pathlib import Path

    from backends.coldcard.client import ColdcardClient

    client = ColdcardClient(target.path)
    ckcc = str(Path(sys.executable).parent / "ckcc")
    out = subprocess.run([ckcc, "-c", target.path, "xpub"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == client.master().xpub
    out = subprocess.run([ckcc, "-c", target.path, "chain"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == client.chain()


@pytest.mark.emulator_only
def test_a_second_client_mid_message_does_not_garble_the_first(target, raw):
    """A side channel (a keypress, a screen read) may speak while a client is mid-upload."""
    other = RawLink(target.path)
    try:
        payload = bytes(range(100))
        first, rest = frame(b"ping" + payload, encrypted=False)[:1], frame(b"ping" + payload, encrypted=False)[1:]
        for report in first:
            raw.send_report(report)
        assert other.call(b"pingside") == b"binyside"
        for report in rest:
            raw.send_report(report)
        assert raw.recv_message() == b"biny" + payload
    finally:
        other.close()
