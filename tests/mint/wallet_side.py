"""What a user's wallet does against the mint: choose serials, blind, unblind, hold notes."""

from __future__ import annotations

import secrets
import weakref

from backends.mint.blindrsa import blind, finalize, prepare
from backends.mint.issuance import BlindRequest
from backends.mint.notes import Note


class Pending:
    def __init__(self, keyset, amounts):
        self.keyset = keyset
        self.messages = [prepare(secrets.token_bytes(32), keyset.variant) for _ in amounts]
        self.blinded = [blind(keyset.public_key(a), m, keyset.variant) for a, m in zip(amounts, self.messages)]
        self.amounts = list(amounts)
        self.requests = [BlindRequest(a, b.blinded_msg) for a, b in zip(amounts, self.blinded)]

    def unblind(self, blind_sigs) -> list[Note]:
        notes = []
        for amount, message, blinded, blind_sig in zip(self.amounts, self.messages, self.blinded, blind_sigs):
            sig = finalize(self.keyset.public_key(amount), message, blind_sig, blinded.inv, self.keyset.variant)
            notes.append(Note(self.keyset.keyset_id, amount, message, sig))
        return notes


#: the claim secrets each mint handed out to "the depositor" (the tests), by address index
_CLAIMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def hand_out(mint, upto: int) -> None:
    """Ask ``mint`` for deposit addresses, in order, until index ``upto`` is handed out (the
    shared chain's deposits pay fixed indices: 10 + vout, and a few others)."""
    claims = _CLAIMS.setdefault(mint, {})
    while len(claims) <= upto:
        given = mint.deposit_address()
        claims[given.address_index] = given.claim_secret


def claim_of(mint, deposit) -> bytes:
    """The depositor's claim secret for ``deposit`` (the secret of the address it pays)."""
    [(index,)] = mint.ledger.read("SELECT address_index FROM deposit_claims WHERE reference=?",
                                  (deposit.reference,))
    return _CLAIMS[mint][index]


def credited_deposit(mint, reserve_chain, vout: int = 0):
    hand_out(mint, 10 + vout)
    deposit = mint.register_deposit(reserve_chain.deposit_txid, vout)
    mint.refresh_deposits()
    return mint.deposit(deposit.reference)


def issue_notes(mint, reserve_chain, amounts, vout: int = 0) -> list[Note]:
    deposit = credited_deposit(mint, reserve_chain, vout)
    pending = Pending(mint.keyset(), amounts)
    issued = mint.issue_blind(deposit.reference, pending.requests, claim_secret=claim_of(mint, deposit))
    return pending.unblind(issued.blind_sigs)
