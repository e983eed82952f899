"""A user's wallet against the mint's HTTP API: blind, get signed, unblind, redeem.

What the wallet does is RFC 9474 from the other side: it chooses each note's serial,
blinds it under the denomination's public key, sends only the blinded message, and
unblinds the mint's signature into a note the mint has never seen. The notes it holds
are bearer secrets (their ``repr`` says only the amount). Used by the demo rig's wallet
command and by tests; a real wallet would keep its notes somewhere safer than memory.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from .blindrsa import PublicKey, Variant, blind, finalize, prepare, verify
from .errors import MintError
from .issuance import BlindRequest
from .notes import Note


class MintClientError(MintError):
    """The mint's API refused a request or could not be reached."""


def split_amount(amount_sat: int, denominations: tuple[int, ...]) -> list[int]:
    """``amount_sat`` as the fewest notes of the set (largest first); refused if not exact."""
    if amount_sat <= 0:
        raise MintClientError("the amount must be a positive number of sat")
    left, notes = amount_sat, []
    for value in sorted(denominations, reverse=True):
        count, left = divmod(left, value)
        notes += [value] * count
    if left:
        raise MintClientError(f"{amount_sat} sat cannot be made of notes of {', '.join(map(str, sorted(denominations)))} sat")
    return notes


@dataclass(frozen=True)
class PublishedKeyset:
    """A denomination set as ``/mint/key`` publishes it."""

    keyset_id: str
    variant: Variant
    keys: dict[int, PublicKey]

    @classmethod
    def from_dict(cls, data: Any) -> PublishedKeyset:
        from backends.errors import CustodyError
        from backends.outside_input import is_decimal

        unreadable = "the mint published a keyset this wallet cannot read"
        if not isinstance(data, dict) or not isinstance(data.get("keyset_id"), str) \
                or not isinstance(data.get("variant"), str) or not isinstance(data.get("keys"), dict):
            raise MintClientError(f"{unreadable}: it needs keyset_id, variant and keys")
        keys = {}
        for amount, der in data["keys"].items():
            if not isinstance(amount, str) or not is_decimal(amount) or int(amount) <= 0 or not isinstance(der, str):
                raise MintClientError(f"{unreadable}: a key is a positive sat amount and a hex SPKI")
            try:
                keys[int(amount)] = PublicKey.from_der(bytes.fromhex(der))
            except (ValueError, CustodyError):
                raise MintClientError(f"{unreadable}: the key for {amount} sat is not an RSA public key") from None
        try:
            variant = Variant.parse(data["variant"])
        except (ValueError, CustodyError):
            raise MintClientError(f"{unreadable}: unknown variant") from None
        if not keys:
            raise MintClientError(f"{unreadable}: it has no keys")
        return cls(data["keyset_id"], variant, keys)


class BlindedNotes:
    """Notes being issued: their serials and blinding factors stay here until unblinded."""

    def __init__(self, keyset: PublishedKeyset, amounts: list[int]) -> None:
        self.keyset = keyset
        self.amounts = amounts
        self._messages = [prepare(secrets.token_bytes(32), keyset.variant) for _ in amounts]
        self._blinded = [blind(keyset.keys[a], m, keyset.variant) for a, m in zip(amounts, self._messages)]

    def __repr__(self) -> str:
        return f"BlindedNotes({sum(self.amounts)} sat in {len(self.amounts)} notes)"

    @property
    def requests(self) -> list[BlindRequest]:
        return [BlindRequest(a, b.blinded_msg) for a, b in zip(self.amounts, self._blinded)]

    def unblind(self, blind_sigs: list[bytes]) -> list[Note]:
        """The notes, each checked against the set's public key before it is kept."""
        if len(blind_sigs) != len(self.amounts):
            raise MintClientError(f"the mint returned {len(blind_sigs)} signatures for {len(self.amounts)} notes")
        notes = []
        for amount, message, blinded, blind_sig in zip(self.amounts, self._messages, self._blinded, blind_sigs):
            key = self.keyset.keys[amount]
            signature = finalize(key, message, blind_sig, blinded.inv, self.keyset.variant)
            verify(key, message, signature, self.keyset.variant)
            notes.append(Note(self.keyset.keyset_id, amount, message, signature))
        return notes


class MintClient:
    """The public endpoints a wallet uses, over HTTP (httpx)."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MintClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict | None = None) -> Any:
        import httpx

        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise MintClientError(f"cannot reach the mint at {self.url}: {exc}",
                                  hint="is `custody-tui mint serve` running there?") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200:
            said = data if isinstance(data, dict) else {}
            error, hint = said.get("error"), said.get("hint")
            raise MintClientError(f"the mint refused {path}: {error if isinstance(error, str) else response.status_code}",
                                  hint=hint if isinstance(hint, str) else None)
        if not isinstance(data, dict):
            raise MintClientError(f"the mint's answer to {path} is not a JSON object")
        return data

    def keyset(self) -> PublishedKeyset:
        published = self._call("GET", "/mint/key").get("keysets")
        if not isinstance(published, list):
            raise MintClientError("the mint's /mint/key answer has no keysets list")
        sets = [k for k in published if isinstance(k, dict) and k.get("active") is True]
        if not sets:
            raise MintClientError("the mint has no issuing keyset")
        return PublishedKeyset.from_dict(sets[0])

    def register_deposit(self, txid: str, vout: int) -> dict[str, Any]:
        return self._call("POST", "/deposits/register", {"deposit_txid": txid, "deposit_vout": vout})

    def issue(self, deposit_ref: str, claim_secret: str, pending: BlindedNotes) -> list[Note]:
        """Blind issuance against a credited deposit, presenting the claim secret the mint
        gave with the deposit address (only the depositor holds it)."""
        outputs = [{"amount_sat": r.amount_sat, "blinded_msg": r.blinded_msg.hex()} for r in pending.requests]
        data = self._call("POST", "/issuance/blind", {"mint_deposit_ref": deposit_ref, "outputs": outputs,
                                                       "claim_secret": claim_secret,
                                                       "keyset_id": pending.keyset.keyset_id})
        try:
            sigs = [bytes.fromhex(s) for s in data["blind_signatures"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise MintClientError("the mint's issuance answer has no readable blind_signatures") from None
        return pending.unblind(sigs)

    def redeem(self, notes: list[Note], address: str) -> dict[str, Any]:
        return self._call("POST", "/redemptions/create", {"notes": [n.to_dict() for n in notes],
                                                          "redeem_address": address})

    def redemption(self, batch_id: str) -> dict[str, Any]:
        return self._call("POST", "/redemptions/status", {"batch_id": batch_id})
