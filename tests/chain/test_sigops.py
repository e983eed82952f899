"""Sigop cost as Core counts it: what a block may carry and what the mempool admits."""

from __future__ import annotations

import pytest

from backends.chain import EmbeddedChain, TransactionRejected
from backends.chain import mempool, sigops
from backends.chain.serialize import Tx, TxIn, TxOut

from .funding import BURN_ADDRESS, fund
from .wallets import coin_of, spend

FEE = 5_000
MULTISIG_2_OF_3 = bytes([0x52]) + (bytes([33]) + b"\x02" * 33) * 3 + bytes([0x53, 0xAE])


@pytest.mark.parametrize(("script", "accurate", "expected"), [
    (b"\xac", False, 1),
    (b"\xad\xac", False, 2),
    (MULTISIG_2_OF_3, False, 20),
    (MULTISIG_2_OF_3, True, 3),
    (b"\xae", True, 20),  # no key count pushed before it: the maximum
    (b"\x02\xac\xac\xac", False, 1),  # the first two checksigs are data of a push
    (b"\x4c\x05\xac", False, 0),  # a truncated push ends the count
])
def test_counts_match_cores_getsigopcount(script, accurate, expected):
    assert sigops.count_sigops(script, accurate=accurate) == expected


def test_p2wsh_counts_its_witness_script_and_p2sh_its_redeem_script():
    p2wsh = b"\x00\x20" + bytes(32)
    tx = Tx(version=2, inputs=[TxIn(bytes(32), 0, witness=[b"", b"sig", MULTISIG_2_OF_3])],
            outputs=[TxOut(1000, b"\x00\x14" + bytes(20))], locktime=0)
    assert sigops.transaction_sigop_cost(tx, [p2wsh]) == 3

    p2sh = b"\xa9\x14" + bytes(20) + b"\x87"
    script_sig = b"\x00" + bytes([0x4C, len(MULTISIG_2_OF_3)]) + MULTISIG_2_OF_3
    tx = Tx(version=2, inputs=[TxIn(bytes(32), 0, script_sig=script_sig)], outputs=[], locktime=0)
    # legacy counting sees only pushes in the scriptSig; the redeem script weighs 4 per key
    assert sigops.transaction_sigop_cost(tx, [p2sh]) == 3 * 4

    p2wpkh = b"\x00\x14" + bytes(20)
    p2tr = b"\x51\x20" + bytes(32)
    tx = Tx(version=2, inputs=[TxIn(bytes(32), 0, witness=[b"s", b"k"]), TxIn(bytes(32), 1, witness=[b"s"])],
            outputs=[TxOut(1, b"\xac")], locktime=0)
    assert sigops.transaction_sigop_cost(tx, [p2wpkh, p2tr]) == 1 + 0 + 4  # the bare output's checksig weighs 4


def test_nested_segwit_counts_the_witness_behind_the_pushed_program():
    """sh(wsh(...)) and sh(wpkh(...)): the redeem script is a witness program (no sigops of its
    own), so the cost is the witness's, unscaled, as for the native forms."""
    p2sh = b"\xa9\x14" + bytes(20) + b"\x87"
    wsh_program, wpkh_program = b"\x00\x20" + bytes(32), b"\x00\x14" + bytes(20)
    tx = Tx(version=2, inputs=[
        TxIn(bytes(32), 0, script_sig=bytes([34]) + wsh_program, witness=[b"", b"sig", b"sig", MULTISIG_2_OF_3]),
        TxIn(bytes(32), 1, script_sig=bytes([22]) + wpkh_program, witness=[b"sig", b"key"]),
    ], outputs=[TxOut(1000, p2sh)], locktime=0)
    assert sigops.transaction_sigop_cost(tx, [p2sh, p2sh]) == 3 + 1


def _heavy_spends(chain, funded, count: int, multisigs: int) -> list[bytes]:
    """``count`` valid transactions, each with a bare output of ``multisigs`` CHECKMULTISIGs
    (sigop cost 80 apiece)."""
    [coin] = funded.coins(chain, funded.wpkh)
    share = (coin.amount_sat - FEE) // count
    fan_out = spend([coin], [(funded.wpkh.script(i), share) for i in range(1, count + 1)])
    chain.broadcast(fan_out)
    chain.mine(1, BURN_ADDRESS)
    coins = [coin_of(u, funded.wpkh) for u in chain.utxos(funded.wpkh.descriptor) if 1 <= u.index <= count]
    return [spend([c], [(b"\xae" * multisigs, c.amount_sat - FEE)]) for c in coins]


def test_a_transaction_over_the_sigop_limit_is_refused_with_cores_reason(embedded):
    funded = fund(embedded)
    [heavy] = _heavy_spends(embedded, funded, 1, 201)  # 201 * 80 + 1 (its P2WPKH input) > 16000
    with pytest.raises(TransactionRejected, match="bad-txns-too-many-sigops, 16081"):
        embedded.broadcast(heavy)


def test_blocks_respect_the_sigop_budget_and_the_rest_wait_for_the_next(embedded):
    funded = fund(embedded)
    txids = [embedded.broadcast(raw) for raw in _heavy_spends(embedded, funded, 6, 198)]  # 15840 each
    embedded.mine(1, BURN_ADDRESS)
    states = [embedded.tx_status(t).state for t in txids]
    assert states == ["confirmed"] * 5 + ["mempool"]  # 6 * 15840 would pass 80000
    embedded.mine(1, BURN_ADDRESS)
    assert embedded.tx_status(txids[5]).state == "confirmed"


def test_a_transaction_core_refuses_in_a_block_is_evicted_alone(embedded, monkeypatch, caplog):
    """Were admission to miss a consensus rule, mining goes on and only the culprit goes."""
    funded = fund(embedded)
    innocent_raw, heavy_raw = _heavy_spends(embedded, funded, 2, 1)
    innocent = embedded.broadcast(innocent_raw)
    # blind our own sigop checks so that Core's bad-blk-sigops is what stops the culprit
    monkeypatch.setattr(sigops, "MAX_STANDARD_TX_SIGOPS_COST", 10**9)
    monkeypatch.setattr(sigops, "MAX_BLOCK_SIGOPS_COST", 10**9)
    [coin] = [c for c in funded.coins(embedded, funded.multisig)]
    culprit = embedded.broadcast(spend([coin], [(b"\xae" * 1001, coin.amount_sat - 50_000)]))  # 80080 > 80000
    child = embedded.broadcast(heavy_raw)  # unrelated, admitted after the culprit
    height = embedded.tip().height

    embedded.mine(1, BURN_ADDRESS)
    assert embedded.tip().height == height + 1
    assert embedded.tx_status(innocent).state == "confirmed"
    embedded.mine(2, BURN_ADDRESS)
    assert embedded.tip().height == height + 3
    assert embedded.tx_status(culprit).state == "unknown"
    assert embedded.tx_status(child).state == "confirmed"
    [warning] = [r.getMessage() for r in caplog.records if culprit in r.getMessage()]
    assert "Core refused it in a block (bad-blk-sigops" in warning
    embedded.close()
    with EmbeddedChain(embedded.data_dir) as reopened:  # the eviction is persisted
        assert reopened.tx_status(culprit).state == "unknown"
        assert reopened.tx_status(child).state == "confirmed"
