"""Deterministic test keys: three cosigners from seeds sha256(b"custody-test-seed-%d")."""

from __future__ import annotations

import hashlib

import pytest
from embit import bip32
from embit.networks import NETWORKS
from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from backends.wallet import REGTEST, Utxo, parse_descriptor, parse_psbt, serialize_psbt


def cosigner_root(i: int) -> bip32.HDKey:
    seed = hashlib.sha256(b"custody-test-seed-%d" % i).digest()
    return bip32.HDKey.from_seed(seed, version=NETWORKS["test"]["xprv"])


def account_key(root: bip32.HDKey, path: str = "m/48h/1h/0h/2h", suffix: str = "<0;1>/*") -> str:
    origin = path[1:].replace("m", "")
    xpub = root.derive(path).to_public().to_base58()
    return f"[{root.my_fingerprint.hex()}{origin}]{xpub}/{suffix}"


def funding_coin(script_pubkey: bytes, value: int, branch: int, index: int, *, seed: bytes = b"\x11") -> Utxo:
    """A fake confirmed coin: a version-2 tx spending seed*32:0 paying ``value`` to the script."""
    fund = Transaction(
        version=2,
        vin=[TransactionInput(seed * 32, 0, sequence=0xFFFFFFFF)],
        vout=[TransactionOutput(value, Script(script_pubkey))],
        locktime=0,
    )
    return Utxo(fund.txid().hex(), 0, value, script_pubkey, branch, index, fund.serialize(), 6)


def signed_copy(unsigned, root):
    """A copy of ``unsigned`` signed by ``root`` as a signer hands it back: partial signatures,
    and PSBT_IN_TAP_KEY_SIG (not a final witness) for a taproot key path."""
    copy = parse_psbt(serialize_psbt(unsigned))
    assert copy.sign_with(root) >= 1
    for inp in copy.inputs:
        if inp.taproot_internal_key is not None and inp.final_scriptwitness is not None:
            inp.taproot_key_sig = inp.final_scriptwitness.items[0]
            inp.final_scriptwitness = None
    return copy


@pytest.fixture(scope="session")
def roots() -> list[bip32.HDKey]:
    return [cosigner_root(i) for i in (1, 2, 3)]


@pytest.fixture(scope="session")
def multisig_text(roots) -> str:
    return "wsh(sortedmulti(2,%s))" % ",".join(account_key(r) for r in roots)


@pytest.fixture(scope="session")
def multisig(multisig_text):
    return parse_descriptor(multisig_text, REGTEST)


@pytest.fixture(scope="session")
def taproot(roots):
    return parse_descriptor("tr(%s)" % account_key(roots[0], "m/86h/1h/0h"), REGTEST)


@pytest.fixture(scope="session")
def wpkh(roots):
    return parse_descriptor("wpkh(%s)" % account_key(roots[1], "m/84h/1h/0h"), REGTEST)


@pytest.fixture(scope="session")
def sh_wpkh(roots):
    return parse_descriptor("sh(wpkh(%s))" % account_key(roots[1], "m/49h/1h/0h"), REGTEST)


@pytest.fixture(scope="session")
def sh_multisig(roots):
    keys = ",".join(account_key(r, "m/48h/1h/0h/1h") for r in roots)
    return parse_descriptor("sh(wsh(sortedmulti(2,%s)))" % keys, REGTEST)
