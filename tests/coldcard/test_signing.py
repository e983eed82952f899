"""Multisig enrolment, 2-of-3 PSBT signing accepted by the embedded chain, message signing."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ckcc.protocol import CCProtocolPacker as P
from ckcc.protocol import CCProtoError, CCUserRefused
from embit import ec
from embit.networks import NETWORKS
from embit.script import p2wpkh

from backends.wallet import REGTEST, Payment, Utxo, combine, create_psbt, extract, finalize
from backends.wallet import parse_address, parse_psbt, serialize_psbt

from .quorum import (
    Quorum,
    device,
    enrol,
    funded_chain,
    sign_with_keypress,
    wallet_file,
)

pytestmark = pytest.mark.emulator_only
PAY_TO = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"


@pytest.fixture(scope="module")
def quorum():
    q = Quorum().start()
    text = wallet_file(q.keys)
    ckcc = str(Path(sys.executable).parent / "ckcc")
    wallet_path = Path(q.base) / "wallet.txt"
    wallet_path.write_text(text)
    # the first device enrols through the ckcc command, the others through the library
    subprocess.run([ckcc, "-c", q.paths[0], "upload", "-m", str(wallet_path)], check=True, capture_output=True)
    with device(q.paths[0]) as dev:
        dev.send_recv(P.sim_keypress(b"y"))
    for path in q.paths[1:]:
        enrol(path, text)
    yield q
    q.stop()


@pytest.fixture(scope="module")
def chain(quorum, tmp_path_factory):
    opened, desc = funded_chain(quorum, tmp_path_factory.mktemp("chain"), coins=12, pay_to=PAY_TO)
    yield opened, desc
    opened.close()


def _coins(chain_and_desc, n):
    opened, desc = chain_and_desc
    utxos = [u for u in opened.utxos(str(desc)) if u.confirmations >= 100][:n]
    return [Utxo(u.txid, u.vout, u.amount_sat, u.script_pubkey, u.branch, u.index) for u in utxos], desc


def test_enrolled_wallet_is_reported_by_multisig_check(quorum):
    xor = 0
    for k in quorum.keys:
        xor ^= k.xfp
    for path in quorum.paths:
        with device(path) as dev:
            assert dev.send_recv(P.multisig_check(2, 3, xor)) == 1
            assert dev.send_recv(P.multisig_check(2, 3, xor ^ 1)) == 0
            assert dev.send_recv(b"EVAL" + b"len(settings.get('multisig',[]))") == b"1"


def test_enrolment_file_without_my_key_is_refused_with_firmware_text(quorum):
    others = wallet_file(quorum.keys[1:] + quorum.keys[1:2]).replace("2 of 3", "2 of 3")
    with device(quorum.paths[0]) as dev:
        length, sha = dev.upload_file(others.encode())
        with pytest.raises(CCProtoError, match="my key not included|dup XFP"):
            dev.send_recv(P.multisig_enroll(length, sha))


def test_two_of_three_signed_by_two_devices_is_accepted_by_the_chain(quorum, chain):
    coins, desc = _coins(chain, 2)
    payment = Payment(parse_address(PAY_TO, REGTEST), 30_000_000)
    total = sum(c.value for c in coins)
    unsigned = create_psbt(desc, coins, [payment], change_amount=total - 30_000_000 - 5_000, change_index=3)
    raw = serialize_psbt(unsigned, "binary")
    signed = [parse_psbt(sign_with_keypress(path, raw)) for path in (quorum.paths[0], quorum.paths[2])]
    tx = extract(finalize(combine(signed)))
    opened, _ = chain
    txid = opened.broadcast(tx)
    opened.mine(1, PAY_TO)
    assert opened.tx_status(txid).confirmations == 1


def test_refusing_on_the_device_gives_refused(quorum, chain):
    coins, desc = _coins(chain, 1)
    value = coins[-1].value
    unsigned = create_psbt(desc, coins[-1:], [Payment(parse_address(PAY_TO, REGTEST), 1_000_000)],
                           change_amount=value - 1_000_000 - 2_000, change_index=1)
    with device(quorum.paths[1]) as dev:
        length, sha = dev.upload_file(serialize_psbt(unsigned, "binary"))
        dev.send_recv(P.sign_transaction(length, sha))
        assert dev.send_recv(P.get_signed_txn()) is None  # waiting on the operator
        story = dev.send_recv(b"EXEC" + b"RV.write('\\0'.join(sim_display.story or []))", encrypt=False)
        assert story.startswith(b"OK TO SEND?\0")
        dev.send_recv(P.sim_keypress(b"x"))
        with pytest.raises(CCUserRefused):
            dev.send_recv(P.get_signed_txn())
        with pytest.raises(CCProtoError, match="No active request"):
            dev.send_recv(P.get_signed_txn())


def test_fee_over_the_limit_fails_with_device_text(quorum, chain):
    coins, desc = _coins(chain, 1)
    value = coins[0].value
    unsigned = create_psbt(desc, coins[:1], [Payment(parse_address(PAY_TO, REGTEST), value // 2)])
    with device(quorum.paths[1]) as dev:
        length, sha = dev.upload_file(serialize_psbt(unsigned, "binary"))
        dev.send_recv(P.sign_transaction(length, sha))
        with pytest.raises(CCProtoError, match=r"Network fee bigger than 10% of total amount \(it is 100%\)\."):
            dev.send_recv(P.get_signed_txn())


def test_fraudulent_change_output_is_named(quorum, chain):
    coins, desc = _coins(chain, 1)
    value = coins[0].value
    unsigned = create_psbt(desc, coins[:1], [Payment(parse_address(PAY_TO, REGTEST), 1_000_000)],
                           change_amount=value - 1_000_000 - 2_000, change_index=0)
    # claim the change is at /1/7 while the script is /1/0
    out = unsigned.outputs[1]
    for pub, der in out.bip32_derivations.items():
        der.derivation[-1] = 7
    with device(quorum.paths[0]) as dev:
        length, sha = dev.upload_file(serialize_psbt(unsigned, "binary"))
        dev.send_recv(P.sign_transaction(length, sha))
        with pytest.raises(CCProtoError, match=r"Output#1: P2WSH or P2SH change output script"):
            dev.send_recv(P.get_signed_txn())


def test_signed_message_verifies_against_the_reported_address(quorum):
    path = "m/84h/1h/0h/0/5"
    with device(quorum.paths[2]) as dev:
        dev.send_recv(P.sign_message(b"proof of control", path, 0x07))
        assert dev.send_recv(P.get_signed_msg()) is None
        dev.send_recv(P.sim_keypress(b"y"))
        address, sig = dev.send_recv(P.get_signed_msg())
    assert 39 <= sig[0] <= 42
    msg = b"proof of control"
    import hashlib

    digest = hashlib.sha256(hashlib.sha256(b"\x18Bitcoin Signed Message:\n" + bytes([len(msg)]) + msg).digest()).digest()
    import coincurve

    pub = coincurve.PublicKey.from_signature_and_message(sig[1:] + bytes([sig[0] - 39]), digest, hasher=None)
    assert p2wpkh(ec.PublicKey.parse(pub.format())).address(NETWORKS["regtest"]) == address


def test_message_text_rules_use_firmware_words(quorum):
    with device(quorum.paths[0]) as dev:
        for text, words in [(b"a", "msg too short"), (b" lead", "leading space"), (b"a    b", "too many spaces")]:
            with pytest.raises(CCProtoError, match=words):
                dev.send_recv(P.sign_message(text, "m/44h/1h/0h/0/0"))


def wait_for_story(dev, text: bytes, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30  # a hang guard, not a speed check
    while text not in dev.send_recv(b"EXEC" + b"RV.write('\\0'.join(sim_display.story or []))", encrypt=False):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the request never reached the screen"
        time.sleep(0.05)


def test_cli_signs_a_message(quorum):
    ckcc = str(Path(sys.executable).parent / "ckcc")
    proc = subprocess.Popen([ckcc, "-c", quorum.paths[1], "msg", "hello world", "-p", "m/84h/1h/0h/0/0", "-s"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # a plaintext side channel, so the CLI's encrypted session is not re-keyed; the key is
    # pressed once the request is on screen (a key pressed before it would be dropped)
    with device(quorum.paths[1], encrypt=False) as dev:
        wait_for_story(dev, b"hello world", proc)
        dev.send_recv(P.sim_keypress(b"y"))
    out, err = proc.communicate(timeout=20)
    lines = out.strip().splitlines()
    assert lines[0] == "hello world" and lines[1].startswith("bcrt1q")
    assert len(base64.b64decode(lines[2])) == 65


def test_show_address_matches_local_derivation(quorum):
    with device(quorum.paths[0]) as dev:
        address = dev.send_recv(P.show_address("m/84h/1h/0h/0/0", 0x07))
    pub = ec.PublicKey.parse(quorum.keys[0].pubkey("m/84h/1h/0h/0/0"))
    assert address == p2wpkh(pub).address(NETWORKS["regtest"])


def test_enrolment_survives_power_cycle(quorum):
    quorum.processes[2].restart()
    with device(quorum.paths[2]) as dev:
        assert dev.send_recv(b"EVAL" + b"len(settings.get('multisig',[]))") == b"1"
