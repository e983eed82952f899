"""Blind issuance: credited deposit value becomes blind signatures, in one transaction.

The whole request is checked before anything is signed; signatures are computed inside
the write transaction and released only after it commits, so a signature that left the
mint is always debited from its deposit. Only the depositor may draw on a deposit: every
request presents the claim secret of the address the deposit paid (``deposits.check_claim``),
checked before anything else. A request repeated with the same blinded
messages (a wallet that lost the answer) gets the same signatures back, not a second debit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .blindrsa import blind_sign, representative
from .deposits import Deposit, check_claim, get_deposit
from .errors import InvalidBlindInput, IssuanceRefused
from .keysets import MAX_DENOMINATION_SAT, Keyset, Signers, find_keyset
from .ledger import Ledger

MAX_OUTPUTS_PER_REQUEST = 256


@dataclass(frozen=True, slots=True)
class BlindRequest:
    amount_sat: int
    blinded_msg: bytes

    def __repr__(self) -> str:
        return f"BlindRequest({self.amount_sat} sat)"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlindRequest:
        if not isinstance(data, Mapping):
            raise InvalidBlindInput("each output is an object with amount_sat and blinded_msg")
        amount = data.get("amount_sat")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_DENOMINATION_SAT:
            raise InvalidBlindInput(f"amount_sat must be a whole number of sat from 1 to {MAX_DENOMINATION_SAT}")
        try:
            blinded = bytes.fromhex(data.get("blinded_msg"))
        except (TypeError, ValueError):
            raise InvalidBlindInput("blinded_msg must be hex") from None
        return cls(amount, blinded)


@dataclass(frozen=True)
class Issued:
    keyset_id: str
    blind_sigs: tuple[bytes, ...]
    deposit: Deposit
    replayed: bool  # True when these signatures were issued before, for the same request


def blinded_hash(blinded_msg: bytes) -> str:
    return hashlib.sha256(b"custody-tui/mint/blinded/v1\x00" + blinded_msg).hexdigest()


def _check_requests(keyset: Keyset, requests: list[BlindRequest]) -> None:
    if not requests:
        raise InvalidBlindInput("no outputs to sign")
    if len(requests) > MAX_OUTPUTS_PER_REQUEST:
        raise InvalidBlindInput(f"at most {MAX_OUTPUTS_PER_REQUEST} outputs per request")
    for position, request in enumerate(requests, 1):
        key = keyset.public_key(request.amount_sat)
        representative(key, request.blinded_msg, f"output {position}: the blinded message")
    if len({r.blinded_msg for r in requests}) != len(requests):
        raise InvalidBlindInput("the same blinded message appears twice; blind each note afresh")


def issue_blind(
    ledger: Ledger,
    signers: Signers,
    deposit_ref: str,
    requests: Iterable[BlindRequest],
    *,
    claim_secret: Any,
    now: float,
    keyset_id: str | None = None,
) -> Issued:
    requests = list(requests)
    get_deposit(ledger, deposit_ref)  # a clear error for an unknown reference
    check_claim(ledger, deposit_ref, claim_secret)
    keyset = find_keyset(ledger, keyset_id)
    if not keyset.active:
        raise IssuanceRefused(f"keyset {keyset.keyset_id} no longer issues; use the mint's current keyset")
    _check_requests(keyset, requests)
    hashes = [blinded_hash(r.blinded_msg) for r in requests]
    with ledger.transaction() as db:
        deposit = get_deposit(ledger, deposit_ref)
        marks = ",".join("?" * len(hashes))
        seen = {
            row[0]: row[1:]
            for row in db.execute(
                f"SELECT blinded_hash, deposit_ref, keyset_id, amount_sat, blind_sig FROM blind_sigs "
                f"WHERE blinded_hash IN ({marks})", hashes,
            )
        }
        if seen:
            return _replay(requests, hashes, seen, deposit, keyset)
        if deposit.status != "credited":
            raise IssuanceRefused(
                f"deposit {deposit.reference[:16]} is {deposit.status}, not credited",
                hint="wait until the deposit reaches the required depth" if deposit.status == "registered" else None,
            )
        total = sum(r.amount_sat for r in requests)
        if total > deposit.available_sat:
            raise IssuanceRefused(
                f"the outputs ask for {total} sat; deposit {deposit.reference[:16]} has "
                f"{deposit.available_sat} sat left to issue"
            )
        signatures = []
        for request, digest in zip(requests, hashes):
            signature = blind_sign(signers.get(keyset, request.amount_sat), request.blinded_msg)
            db.execute(
                "INSERT INTO blind_sigs(blinded_hash, deposit_ref, keyset_id, amount_sat, blind_sig, issued_at) "
                "VALUES (?,?,?,?,?,?)",
                (digest, deposit.reference, keyset.keyset_id, request.amount_sat, signature, now),
            )
            signatures.append(signature)
        db.execute("UPDATE deposits SET issued_sat = issued_sat + ? WHERE reference=?", (total, deposit.reference))
    return Issued(keyset.keyset_id, tuple(signatures), get_deposit(ledger, deposit_ref), replayed=False)


def _replay(requests, hashes, seen, deposit: Deposit, keyset: Keyset) -> Issued:
    """The same request again returns the same signatures; anything else is refused."""
    same = len(seen) == len(hashes) and all(
        seen[h][0] == deposit.reference and seen[h][1] == keyset.keyset_id and seen[h][2] == r.amount_sat
        for h, r in zip(hashes, requests)
    )
    if not same:
        raise IssuanceRefused(
            "some of these blinded messages were already signed in another request",
            hint="blind each note afresh, or repeat the earlier request exactly",
        )
    return Issued(keyset.keyset_id, tuple(bytes(seen[h][3]) for h in hashes), deposit, replayed=True)
