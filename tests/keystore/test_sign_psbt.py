"""Signing a PSBT with a keystore mnemonic: its inputs only, and only while unlocked."""

from __future__ import annotations

import pytest

from backends.keystore import KeystoreLocked, WrongEntryKind
from backends.wallet import REGTEST, RECEIVE, Payment, create_psbt, extract, finalize, parse_descriptor
from tests.keystore.conftest import ABANDON
from tests.wallet.conftest import funding_coin

PAY_TO = bytes.fromhex("0014751e76e8199196d454941c45d1b3a323f1433bd6")


def _unsigned(descriptor):
    coin = funding_coin(descriptor.script_pubkey(RECEIVE, 3), 500_000, RECEIVE, 3)
    return create_psbt(descriptor, [coin], [Payment(PAY_TO, 400_000)])


@pytest.mark.parametrize("script", ["wpkh", "tr"])
def test_a_psbt_of_the_keys_wallet_is_signed_and_finalizes(keystore, script):
    keystore.import_mnemonic("reserve", ABANDON)
    path = "m/84h/1h/0h" if script == "wpkh" else "m/86h/1h/0h"
    key = keystore.descriptor_key("reserve", path, "regtest")
    psbt = _unsigned(parse_descriptor(f"{script}({key}/<0;1>/*)", REGTEST))
    assert keystore.sign_psbt("reserve", psbt, "regtest") == 1
    assert len(extract(finalize(psbt))) > 100


def test_a_psbt_of_another_wallet_gets_no_signature(keystore):
    keystore.import_mnemonic("reserve", ABANDON)
    keystore.create_mnemonic("other")
    key = keystore.descriptor_key("other", "m/84h/1h/0h", "regtest")
    psbt = _unsigned(parse_descriptor(f"wpkh({key}/<0;1>/*)", REGTEST))
    assert keystore.sign_psbt("reserve", psbt, "regtest") == 0


def test_signing_needs_an_unlocked_keystore_and_a_mnemonic(keystore):
    keystore.import_mnemonic("reserve", ABANDON)
    keystore.add_secret("mac", "hmac", b"k" * 32)
    psbt = _unsigned(parse_descriptor(
        f"wpkh({keystore.descriptor_key('reserve', 'm/84h/1h/0h', 'regtest')}/<0;1>/*)", REGTEST))
    with pytest.raises(WrongEntryKind):
        keystore.sign_psbt("mac", psbt, "regtest")
    keystore.lock()
    with pytest.raises(KeystoreLocked):
        keystore.sign_psbt("reserve", psbt, "regtest")
