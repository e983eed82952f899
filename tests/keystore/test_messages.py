"""BIP-137 message signatures: Bitcoin Core's published vector, round trips, refusals."""

from __future__ import annotations

import base64

import pytest
from embit.ec import PrivateKey

from backends.keystore import (
    InvalidAddress,
    UnsupportedNetwork,
    UnsupportedScript,
    address_for,
    sign_message_with_key,
    verify_message,
)
from tests.keystore.conftest import ABANDON

# bitcoin/bitcoin test/functional/rpc_signmessagewithprivkey.py (MIT)
CORE_WIF = "cUeKHd5orzT3mz8P9pxyREHfsWtVfgsfDjiZZBcjUBAaGk1BTj7N"
CORE_ADDRESS = "mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB"
CORE_MESSAGE = "This is just a test message"
CORE_SIGNATURE = (
    "INbVnW4e6PeRmsv2Qgu8NuopvrVjkcxob+sX8OcZG0SALhWybUjzMLPdAsXI46YZGb0KQTRii+wWIQzRpG/U+S0="
)
PATHS = {"pkh": "m/44h/1h/0h/0/0", "sh-wpkh": "m/49h/1h/0h/0/0", "wpkh": "m/84h/1h/0h/0/0"}
HEADER_RANGES = {"pkh": range(31, 35), "sh-wpkh": range(35, 39), "wpkh": range(39, 43)}


def _core_key() -> bytes:
    return PrivateKey.from_wif(CORE_WIF).secret


@pytest.mark.parametrize("network", ["regtest", "test", "signet"])
def test_bitcoin_core_signature_verifies(network):
    assert verify_message(CORE_ADDRESS, CORE_MESSAGE, CORE_SIGNATURE, network)


def test_signing_reproduces_bitcoin_cores_signature_byte_for_byte():
    address, signature = sign_message_with_key(_core_key(), CORE_MESSAGE, "pkh", "regtest")
    assert (address, signature) == (CORE_ADDRESS, CORE_SIGNATURE)


def test_core_signature_does_not_verify_another_message_or_address():
    assert not verify_message(CORE_ADDRESS, CORE_MESSAGE + ".", CORE_SIGNATURE, "regtest")
    other = address_for(bytes.fromhex("02" + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"), "pkh", "regtest")
    assert not verify_message(other, CORE_MESSAGE, CORE_SIGNATURE, "regtest")


@pytest.mark.parametrize("script", ["pkh", "sh-wpkh", "wpkh"])
def test_keystore_signature_round_trips_with_the_bip137_header(keystore, script):
    keystore.import_mnemonic("seed", ABANDON)
    message = "custody attestation 2024-05-01 ünïcødé"
    address, signature = keystore.sign_message("seed", PATHS[script], message, "test", script)
    assert address == keystore.derive_address("seed", PATHS[script], "test", script).address
    assert base64.b64decode(signature)[0] in HEADER_RANGES[script]
    assert verify_message(address, message, signature, "test")
    assert not verify_message(address, message + " ", signature, "test")


def test_segwit_header_cannot_vouch_for_a_p2pkh_address():
    key = _core_key()
    p2pkh, _ = sign_message_with_key(key, "m", "pkh", "regtest")
    _, segwit_signature = sign_message_with_key(key, "m", "wpkh", "regtest")
    assert not verify_message(p2pkh, "m", segwit_signature, "regtest")


def test_electrum_style_p2pkh_header_verifies_a_segwit_address():
    key = _core_key()
    segwit_address, _ = sign_message_with_key(key, "m", "wpkh", "regtest")
    _, p2pkh_signature = sign_message_with_key(key, "m", "pkh", "regtest")
    assert verify_message(segwit_address, "m", p2pkh_signature, "regtest")


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("not base64!!", id="bad-base64"),
        pytest.param(base64.b64encode(b"\x1f" + bytes(63)).decode(), id="short"),
        pytest.param(base64.b64encode(b"\x1f" + bytes(65)).decode(), id="long"),
        pytest.param(base64.b64encode(b"\x2b" + bytes(64)).decode(), id="unknown-header"),
        pytest.param(base64.b64encode(b"\x1f" + bytes(64)).decode(), id="zero-r-s"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_signature_is_false_not_a_crash(signature):
    assert verify_message(CORE_ADDRESS, CORE_MESSAGE, signature, "regtest") is False


def test_tampered_signature_does_not_verify():
    raw = bytearray(base64.b64decode(CORE_SIGNATURE))
    raw[10] ^= 1
    assert not verify_message(CORE_ADDRESS, CORE_MESSAGE, base64.b64encode(raw).decode(), "regtest")


def test_address_of_another_network_is_a_typed_error():
    with pytest.raises(InvalidAddress):
        verify_message(CORE_ADDRESS, CORE_MESSAGE, CORE_SIGNATURE, "main")
    with pytest.raises(UnsupportedNetwork):
        verify_message(CORE_ADDRESS, CORE_MESSAGE, CORE_SIGNATURE, "testnet4")


def test_taproot_message_signing_is_refused_with_a_reason(keystore):
    keystore.import_mnemonic("seed", ABANDON)
    with pytest.raises(UnsupportedScript, match="BIP-322"):
        keystore.sign_message("seed", "m/86h/1h/0h/0/0", "hi", "test", "tr")
