"""BIP-340 official vectors: signing where a secret key is given, verification always."""

from __future__ import annotations

import csv

import pytest

from backends.mpc.bip340 import pubkey_gen, schnorr_sign, schnorr_verify

from .vectors import VECTORS


def _rows():
    with open(VECTORS / "bip340" / "test-vectors.dev.csv", newline="") as f:
        return [pytest.param(row, id=f"{row['index']}-{row['comment']}") for row in csv.DictReader(f)]


@pytest.mark.parametrize("row", _rows())
def test_bip340_vectors(row):
    pubkey, msg, sig = (bytes.fromhex(row[k]) for k in ("public key", "message", "signature"))
    if row["secret key"]:
        seckey, aux = bytes.fromhex(row["secret key"]), bytes.fromhex(row["aux_rand"])
        assert pubkey_gen(seckey) == pubkey
        assert schnorr_sign(msg, seckey, aux) == sig
    assert schnorr_verify(msg, pubkey, sig) == (row["verification result"] == "TRUE")
