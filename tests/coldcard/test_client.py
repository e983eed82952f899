"""The client: operations through ckcc's ColdcardDevice, typed errors keeping device words."""

from __future__ import annotations

import threading

import pytest

from backends.coldcard.client import ColdcardClient
from backends.coldcard.errors import DeviceError, DeviceUnreachable, HsmCommandsDisabled, SigningRefused
from backends.errors import CustodyError
from backends.wallet import REGTEST, Payment, Utxo, create_psbt, parse_address, parse_descriptor, serialize_psbt

from .quorum import Quorum, descriptor, wallet_file


def test_version_and_master_key(target):
    client = ColdcardClient(target.path)
    version = client.version()
    assert version.hw_label in ("mk4", "mk5") and version.version
    master = client.master()
    assert master.xfp == "0F056943" and master.xpub.startswith("tpub")
    assert client.xpub("m/48h/1h/0h/2h").startswith("tpub")


def test_device_words_are_kept_in_typed_errors(target):
    client = ColdcardClient(target.path)
    with pytest.raises(DeviceError) as err:
        client.xpub("m/not-a-path")
    assert err.value.device_text == "invalid characters in path"
    assert isinstance(err.value, CustodyError)


def test_hsm_commands_disabled_is_typed(target):
    client = ColdcardClient(target.path)
    if target.is_emulator:
        client.sim_exec("settings.set('hsmcmd', 0)")
    with pytest.raises(HsmCommandsDisabled):
        client.hsm_status()
    client.sim_exec("settings.set('hsmcmd', 1)")
    status = client.hsm_status()
    assert status["active"] is False and "wallets" in status


def test_missing_socket_is_unreachable(tmp_path):
    with pytest.raises(DeviceUnreachable):
        ColdcardClient("/tmp/nosuchdir-x/cc-1.sock").version()


def test_operations_from_many_threads_are_serialised_per_device(target):
    client = ColdcardClient(target.path)
    results, errors = [], []

    def work():
        try:
            results.append(client.chain())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1


@pytest.mark.emulator_only
def test_client_signs_psbt_and_message_and_reports_refusal(target, tmp_path):
    if not target.is_emulator:
        pytest.skip("emulator-only test")
    q = Quorum().start()
    try:
        clients = [ColdcardClient(p) for p in q.paths]
        text = wallet_file(q.keys)
        for c in clients:
            c.enroll_multisig(text, press_ok_on_simulator=True)
        assert clients[0].has_multisig(2, 3, [k.xfp for k in q.keys])
        desc = parse_descriptor(descriptor(q.keys), REGTEST)
        spk = desc.script_pubkey(0, 0)
        coin = Utxo("11" * 32, 0, 1_000_000, spk, 0, 0)
        psbt = create_psbt(desc, [coin], [Payment(parse_address("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", REGTEST), 500_000)],
                           change_amount=499_000, change_index=0)
        events = []
        signed = clients[1].sign_psbt(serialize_psbt(psbt, "binary"), press_ok_on_simulator=True, progress=events.append,
                                      poll_interval=0.02)
        assert signed.startswith(b"psbt\xff") and events[0] == "uploading PSBT"
        msg = clients[2].sign_message("hello", "m/84h/1h/0h/0/0", press_ok_on_simulator=True, poll_interval=0.02)
        assert len(msg.signature) == 65 and msg.address[0] in "mn"  # classic by default
        import time

        from .rawlink import RawLink

        def refuse_soon():
            time.sleep(0.3)
            raw = RawLink(q.paths[0])  # the operator's hand: outside the client and its lock
            raw.call(b"XKEYx")
            raw.close()

        client = ColdcardClient(q.paths[0], timeout_ms=5000)
        threading.Thread(target=refuse_soon).start()
        with pytest.raises(SigningRefused):
            client.sign_psbt(serialize_psbt(psbt, "binary"), poll_interval=0.05, timeout=10)
    finally:
        q.stop()
