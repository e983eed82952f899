"""ATTEST whitelists: outputs signed by a whitelisted key (proprietary COINKITE field)."""

from __future__ import annotations

import pytest
from embit import ec, script
from embit.networks import NETWORKS
from embit.util import secp256k1

from backends.coldcard.hsm import HsmRefusal, OutputSummary
from backends.coldcard.hsm.attest import message_hash, serialize_txout

from .conftest import tx

KEY = ec.PrivateKey(bytes.fromhex("11" * 32))
PAY_SCRIPT = bytes.fromhex("0014" + "22" * 20)
TESTNET = NETWORKS["test"]
ADDRESSES = {
    31: script.p2pkh(KEY.get_public_key()).address(TESTNET),
    35: script.p2sh(script.p2wpkh(KEY.get_public_key())).address(TESTNET),
    39: script.p2wpkh(KEY.get_public_key()).address(TESTNET),
}


def attest(amount: int, header_base: int, key: ec.PrivateKey = KEY) -> bytes:
    digest = message_hash(serialize_txout(amount, PAY_SCRIPT))
    sig = secp256k1.ecdsa_sign_recoverable(digest, key.secret)
    compact, recid = secp256k1.ecdsa_recoverable_signature_serialize_compact(sig)
    return bytes([header_base + recid]) + compact


def output(amount: int, attestation: bytes | None) -> OutputSummary:
    return OutputSummary("tb1qpayee", amount, script=PAY_SCRIPT, attestation=attestation)


@pytest.mark.parametrize("header_base", [31, 35, 39], ids=["classic", "p2sh-p2wpkh", "p2wpkh"])
def test_output_attested_by_a_whitelisted_key_is_approved(start, header_base):
    engine = start({"rules": [{"whitelist": [ADDRESSES[header_base]], "whitelist_opts": {"mode": "ATTEST"}}]})
    assert engine.approve_transaction(tx(outputs=[output(5000, attest(5000, header_base))], change=100)) == 1


@pytest.mark.parametrize(
    ("attestation", "reason"),
    [
        (None, "missing attestation for output 0"),
        (b"malformedsig", "signature length"),
        (b"a" * 65, "unsupported recovery id: 97"),
        (bytes([27]) + b"\xff" * 64, "invalid signature"),
        (attest(5000, 31, ec.PrivateKey(bytes.fromhex("33" * 32))), "non-whitelisted attestation key for output 0"),
        (attest(4999, 31), "non-whitelisted attestation key for output 0"),  # signed another TxOut
    ],
    ids=["missing", "length", "recid", "invalid", "other-key", "other-txout"],
)
def test_bad_attestations_are_refused_with_device_reasons(start, attestation, reason):
    engine = start({"rules": [{"whitelist": [ADDRESSES[31]], "whitelist_opts": {"mode": "ATTEST"}}]})
    with pytest.raises(HsmRefusal) as err:
        engine.approve_transaction(tx(outputs=[output(5000, attestation)]))
    assert str(err.value) == f"Rejected: rule #1: {reason}"
