"""The spend ledger's own promises (no devices, no chain): the inputs of signed spends
that the void scan reads at every spend, and the one write made without an fsync."""

from __future__ import annotations

import sqlite3

from embit.script import Script
from embit.transaction import Transaction, TransactionInput, TransactionOutput

from backends.quorum.ledger import SpendLedger
from backends.sqlite import unsynced


def transaction(seed: int, n_inputs: int = 2) -> tuple[Transaction, list[tuple[str, int]]]:
    vin = [TransactionInput(bytes([seed, i]) * 16, i) for i in range(n_inputs)]
    tx = Transaction(vin=vin, vout=[TransactionOutput(1000, Script(b"\x00\x20" + bytes(32)))])
    return tx, [(i.txid.hex(), i.vout) for i in vin]


def signed_spend(ledger: SpendLedger, seed: int, n_inputs: int = 2) -> tuple[int, list[tuple[str, int]]]:
    """A spend row holding a signed transaction; returns its id and its inputs' outpoints."""
    tx, outpoints = transaction(seed, n_inputs)
    spend_id = ledger.begin(1000, "sink", psbt=b"psbt", fee_sat=100, change_index=None)
    ledger.signed(spend_id, tx.serialize(), tx.txid().hex(), ["a", "b"])
    return spend_id, outpoints


def test_signed_inputs_follow_each_spends_state_and_name_its_inputs(tmp_path):
    ledger = SpendLedger(tmp_path / "quorum.sqlite3")
    first, first_inputs = signed_spend(ledger, 1)
    second, second_inputs = signed_spend(ledger, 2, n_inputs=1)
    third, _ = signed_spend(ledger, 3)
    ledger.move(first, "dropped")
    ledger.move(second, "recorded", synced=False)
    ledger.move(third, "recorded")
    given_up = [(("dropped", "failed"), -1)]

    (row,) = ledger.signed_inputs(given_up)
    assert (row.spend_id, list(row.outpoints)) == (first, first_inputs)
    # the newest recorded ones only, oldest first
    assert [r.spend_id for r in ledger.signed_inputs([(("recorded",), 1)])] == [third]
    assert [r.spend_id for r in ledger.signed_inputs([(("recorded",), 5)])] == [second, third]
    # a state read afresh each time (only the parsed transaction is kept): a spend that
    # leaves the given-up states leaves the scan, one that enters it is seen at once
    ledger.move(first, "recorded")
    ledger.move(second, "failed")
    (row,) = ledger.signed_inputs(given_up)
    assert (row.spend_id, list(row.outpoints)) == (second, second_inputs)
    # a second ledger over the same file (another process) sees the same
    other = SpendLedger(tmp_path / "quorum.sqlite3")
    assert other.signed_inputs(given_up) == ledger.signed_inputs(given_up)
    # an id holding another transaction (a data dir restored from a backup under a running
    # process) is read again, not answered from what was parsed for the first
    tx, outpoints = transaction(9)
    other._db.execute("UPDATE spends SET raw_tx=?, txid=? WHERE id=?", (tx.serialize(), tx.txid().hex(), second))
    (row,) = ledger.signed_inputs(given_up)
    assert (row.txid, list(row.outpoints)) == (tx.txid().hex(), outpoints)


def test_an_unsynced_write_is_kept_and_the_connection_syncs_again_after(tmp_path):
    ledger = SpendLedger(tmp_path / "quorum.sqlite3")
    spend_id, _ = signed_spend(ledger, 1)
    ledger.move(spend_id, "recorded", synced=False)
    assert SpendLedger(tmp_path / "quorum.sqlite3").get(spend_id).state == "recorded"
    assert ledger._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL

    db = sqlite3.connect(tmp_path / "other.sqlite3")
    db.execute("PRAGMA synchronous=EXTRA")
    try:
        with unsynced(db):
            assert db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
            raise KeyError("a failure inside")
    except KeyError:
        pass
    assert db.execute("PRAGMA synchronous").fetchone() == (3,)  # EXTRA, restored even so
