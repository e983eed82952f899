"""Link encryption (ncry v1, v2, v3), the mitm check, upload and download rules, power cycle."""

from __future__ import annotations

import hashlib

import pytest
from ckcc.client import ColdcardDevice
from ckcc.protocol import CCFramingError
from ckcc.protocol import CCProtocolPacker as P
from ckcc.protocol import CCProtoError

from backends.coldcard.emulator.keys import SIMULATOR_WORDS  # noqa: F401 - documents the default seed

SIMULATOR_XPUB = ("tpubD6NzVbkrYhZ4XzL5Dhayo67Gorv1YMS7j8pRUvVMd5odC2LBPLAygka9p7748JtSq82FNGPppFEz5xxZUdasBRCqJqXvUHq6x"
                  "pnsMcYJzeh")


def test_handshake_reports_master_xfp_and_xpub_of_the_default_seed(target):
    with target.open() as dev:
        assert dev.master_fingerprint == 0x4369050F
        assert dev.master_xpub == SIMULATOR_XPUB


def test_mitm_signature_is_by_the_master_key(target):
    with target.open() as dev:
        dev.check_mitm(expected_xpub=SIMULATOR_XPUB)
        sig = dev.send_recv(P.check_mitm())
        assert len(sig) == 65 and 31 <= sig[0] <= 34


def test_mitm_check_fails_against_another_xpub(target):
    from backends.coldcard.emulator.keys import DeviceKeys

    from .emulators import COSIGNER_WORDS

    other = DeviceKeys(COSIGNER_WORDS[1], "XTN").xpub("m")
    with target.open() as dev:
        with pytest.raises(RuntimeError, match="MiTM"):
            dev.check_mitm(expected_xpub=other)


def test_mitm_in_plaintext_is_refused(target):
    with target.open(encrypt=False) as dev:
        with pytest.raises(CCProtoError, match="must encrypt"):
            dev.send_recv(P.check_mitm())


def reply(call):
    """The device's answer, or ``err_<text>`` when it refused."""
    try:
        return call()
    except CCProtoError as err:
        return b"err_" + err.args[1]


def test_upload_offsets_must_be_aligned_and_in_order(target):
    with target.open() as dev:
        assert dev.send_recv(P.upload(0, 1000, b"a" * 256)) == 0
        with pytest.raises(CCProtoError, match="alignment"):
            dev.send_recv(P.upload(100, 1000, b"b" * 10))
        # master refuses a chunk out of order; v5.4.5 stores it (README: deliberate)
        assert reply(lambda: dev.send_recv(P.upload(512, 1000, b"b" * 10))) == target.expect(
            emulator=b"err_offset", simulator=512)
        with pytest.raises(CCProtoError, match="long"):
            dev.send_recv(P.upload(0, 10, b"c" * 11))
        length, sha = dev.upload_file(b"x" * 3000)
        assert dev.send_recv(P.sha256()) == sha == hashlib.sha256(b"x" * 3000).digest()


def test_download_without_a_lease_is_refused(target):
    with target.open() as dev:
        dev.upload_file(b"psbt\xff" + bytes(300))
        # master serves only the lease of the last result; v5.4.5 reads out whatever its
        # result buffer holds, a firmware bug the emulator does not copy (README)
        answer = reply(lambda: dev.send_recv(P.download(0, 100, 1)))
        assert (answer if target.is_emulator else len(answer)) == target.expect(
            emulator=b"err_not allowed", simulator=100)
        with pytest.raises(CCProtoError, match="bad fnum"):
            dev.send_recv(P.download(0, 100, 0)[:-4] + b"\x05\x00\x00\x00")


def test_download_over_plaintext_is_refused(target):
    with target.open(encrypt=False) as dev:
        # master wants downloads encrypted; v5.4.5 answers in plaintext (README: deliberate)
        answer = reply(lambda: dev.send_recv(P.download(0, 10, 1)))
        assert (answer if target.is_emulator else len(answer)) == target.expect(
            emulator=b"err_must encrypt", simulator=10)


def test_stok_without_request(target):
    with target.open() as dev:
        with pytest.raises(CCProtoError, match="No active request"):
            dev.send_recv(P.get_signed_txn())


@pytest.mark.fresh_device
def test_encrypted_flag_before_any_ncry_is_no_key(target):
    if target.is_emulator:
        target.power_cycle()  # no client has set up a key since
    from .rawlink import RawLink

    raw = RawLink(target.path)
    try:
        raw.send_message(b"pingxxxx", encrypted_flag=True)
        assert raw.recv_message() == b"framno key"
    finally:
        raw.close()


@pytest.mark.fresh_device
def test_a_v2_bound_link_refuses_another_handshake(target):
    dev = ColdcardDevice(sn=target.path, ncry_ver=2)
    try:
        dev.check_mitm()
        assert dev.send_recv(P.ping(b"x" * 2000)) == b"x" * 2000
        # the newcomer's plaintext ncry is refused in a reply encrypted for the bound session
        with pytest.raises((CCFramingError, TypeError, AssertionError)):
            ColdcardDevice(sn=target.path, ncry_ver=1)
    finally:
        dev.close()
        if target.is_emulator:
            target.power_cycle()  # bound until then; the module's other tests share it


@pytest.mark.emulator_only
@pytest.mark.parametrize("version", [2, 3])
def test_bound_link_refuses_plaintext_and_a_second_ncry_until_power_cycle(emulator, version):
    emulator.power_cycle()
    dev = ColdcardDevice(sn=emulator.path, ncry_ver=version)
    try:
        dev.check_mitm()
        assert dev.send_recv(P.ping(b"x" * 2000)) == b"x" * 2000
        assert dev.send_recv(P.get_xpub("m/84h/1h/0h")).startswith("tpub")
        with pytest.raises(CCProtoError, match="Unknown cmd"):
            dev.send_recv(b"zzzz")
    finally:
        dev.close()
    # the unknown command on a bound link logged the device out: it powers off
    emulator.process.proc.wait(5)
    emulator.power_cycle()
    dev = ColdcardDevice(sn=emulator.path, ncry_ver=version)
    dev.close()
    # a second handshake on the bound link: its plaintext ncry is refused ("must encrypt")
    # in a reply encrypted for the first session, which the newcomer cannot even read
    with pytest.raises((CCFramingError, TypeError, AssertionError)):
        ColdcardDevice(sn=emulator.path, ncry_ver=1)
    emulator.power_cycle()
    with emulator.open() as fresh:
        assert fresh.send_recv(P.ping(b"rebooted")) == b"rebooted"


@pytest.mark.emulator_only
def test_v3_tag_failure_is_a_framing_error_and_ends_the_session(emulator):
    emulator.power_cycle()
    dev = ColdcardDevice(sn=emulator.path, ncry_ver=3)
    try:
        dev._v3_tx_mac_key = bytes(32)  # the host now tags with the wrong key
        with pytest.raises(CCFramingError, match="bad auth"):
            dev.send_recv(P.ping(b"x"))
    finally:
        dev.close()
    emulator.power_cycle()


@pytest.mark.emulator_only
def test_settings_survive_a_power_cycle(emulator):
    with emulator.open() as dev:
        assert dev.send_recv(b"EXEC" + b"settings.set('fee_limit', 20)", encrypt=False) == b""
    emulator.power_cycle()
    with emulator.open() as dev:
        assert dev.send_recv(b"EVAL" + b"settings.get('fee_limit', 10)") == b"20"
        dev.send_recv(b"EXEC" + b"settings.remove_key('fee_limit')", encrypt=False)
