"""Operator-signed admin requests: HMAC-SHA256 keys in the keystore, stale and replayed refused.

A request carries the seed's three headers: ``X-Finalis-Operator-Key`` (the key id),
``X-Finalis-Operator-Timestamp`` (unix seconds) and ``X-Finalis-Operator-Signature`` (hex
HMAC-SHA256 of the canonical request). The canonical request is::

    METHOD \\n PATH \\n TIMESTAMP \\n hex(SHA-256(body))

A timestamp more than ``MAX_SKEW_SECONDS`` from the mint's clock is stale; a signature
already accepted is a replay (the ledger remembers accepted signatures for twice the
window, longer than any of them could be fresh). Keys are keystore entries of kind ``hmac``
labelled ``mint-operator-<key id>``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass
from typing import Mapping

from .errors import OperatorAuthError
from .ledger import Ledger

KEY_HEADER = "X-Finalis-Operator-Key"
TIMESTAMP_HEADER = "X-Finalis-Operator-Timestamp"
SIGNATURE_HEADER = "X-Finalis-Operator-Signature"
MAX_SKEW_SECONDS = 300
MAX_RECORDED_BODY = 4096  # admin bodies are a few fields; a larger one is kept by its hash only
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")

@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    body: bytes
    key_id: str
    timestamp: str
    signature: str

    @classmethod
    def from_headers(cls, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> SignedRequest:
        lowered = {str(k).lower(): v for k, v in headers.items()}
        values = []
        for name in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
            value = lowered.get(name.lower())
            if not isinstance(value, str) or not value:
                raise OperatorAuthError(f"the request has no {name} header; admin requests are operator-signed")
            values.append(value)
        return cls(method, path, body, *values)

    def record(self) -> dict[str, str]:
        """What the audit log keeps of an accepted request: enough for anyone holding the
        operator's key to check its signature again (:func:`verify_recorded`). Keeping it
        gives nothing to replay: the mint refuses the signature again for twice the
        timestamp window, and after that the timestamp is stale."""
        kept = {"key_id": self.key_id, "method": self.method.upper(), "path": self.path,
                "timestamp": self.timestamp, "body_sha256": hashlib.sha256(self.body).hexdigest(),
                "signature": self.signature.lower()}
        if len(self.body) <= MAX_RECORDED_BODY:
            try:
                kept["body"] = self.body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return kept


def keystore_label(key_id: str) -> str:
    return f"mint-operator-{key_id}"


def check_key_id(key_id: object) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise OperatorAuthError("an operator key id is 1-40 letters, digits, '-' or '_'")
    return key_id


def canonical_request(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    return _canonical(method, path, timestamp, hashlib.sha256(body).hexdigest())


def _canonical(method: str, path: str, timestamp: str, body_sha256: str) -> bytes:
    return "\n".join((method.upper(), path, timestamp, body_sha256)).encode()


def sign_request(secret: bytes, method: str, path: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers an operator's client sends (used by clients and tests)."""
    if len(secret) < 32:
        raise OperatorAuthError("an operator secret is at least 32 bytes")
    stamp = str(int(timestamp))
    mac = hmac.new(bytes(secret), canonical_request(method, path, stamp, body), hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: mac}


def create_operator_key(keystore, key_id: str) -> bytes:
    """A fresh 32-byte operator secret in the keystore; returned once, for the operator's client."""
    check_key_id(key_id)
    secret = secrets.token_bytes(32)
    keystore.add_secret(keystore_label(key_id), "hmac", secret, public={"mint_operator": key_id})
    return secret


def verify_request(ledger: Ledger, keystore, request: SignedRequest, *, now: float) -> str:
    """The key id of a correctly signed, fresh, first-seen request; else OperatorAuthError.

    The signature is checked before the replay record is written, and the record is written
    in one transaction, so of two identical requests racing, exactly one is accepted.
    """
    from backends.keystore import EntryNotFound

    key_id = check_key_id(request.key_id)
    try:
        stamp = int(request.timestamp)
    except ValueError:
        raise OperatorAuthError(f"{TIMESTAMP_HEADER} must be unix seconds") from None
    if abs(now - stamp) > MAX_SKEW_SECONDS:
        raise OperatorAuthError(
            f"the request timestamp is {int(now - stamp)} s from the mint's clock (limit {MAX_SKEW_SECONDS} s)",
            hint="check the operator machine's clock and sign the request again",
        )
    signature = request.signature.lower()
    if not _SIGNATURE.fullmatch(signature):
        raise OperatorAuthError(f"{SIGNATURE_HEADER} must be 64 hex digits")
    try:
        secret = keystore.get_secret(keystore_label(key_id))
    except EntryNotFound:
        raise OperatorAuthError(f"no operator key {key_id!r} is known to this mint") from None
    expected = hmac.new(secret, canonical_request(request.method, request.path, request.timestamp, request.body),
                        hashlib.sha256).hexdigest()
    del secret
    if not hmac.compare_digest(expected, signature):
        raise OperatorAuthError(f"the signature of operator {key_id!r} does not match the request")
    _remember(ledger, key_id, signature, now)
    return key_id


def verify_recorded(keystore, record: Mapping[str, str]) -> str:
    """Check a request kept by :meth:`SignedRequest.record` (from the audit log) against the
    operator's key in ``keystore``; the operator's key id, else OperatorAuthError naming what
    does not hold. Freshness and replays were the mint's to check when it was accepted."""
    from backends.keystore import EntryNotFound

    try:
        key_id = check_key_id(record["key_id"])
        method, path, stamp = str(record["method"]), str(record["path"]), str(record["timestamp"])
        body_hash, signature = str(record["body_sha256"]).lower(), str(record["signature"]).lower()
    except (KeyError, TypeError) as exc:
        raise OperatorAuthError(f"the recorded request has no {exc.args[0]!r}" if isinstance(exc, KeyError)
                                else "a recorded request is a mapping of its fields") from None
    if not _SIGNATURE.fullmatch(signature) or not _SIGNATURE.fullmatch(body_hash):
        raise OperatorAuthError("the recorded signature and body hash must be 64 hex digits each")
    if "body" in record and hashlib.sha256(str(record["body"]).encode()).hexdigest() != body_hash:
        raise OperatorAuthError("the recorded body is not the one that was signed (its hash differs)")
    try:
        secret = keystore.get_secret(keystore_label(key_id))
    except EntryNotFound:
        raise OperatorAuthError(f"no operator key {key_id!r} is known to this keystore") from None
    expected = hmac.new(secret, _canonical(method, path, stamp, body_hash), hashlib.sha256).hexdigest()
    del secret
    if not hmac.compare_digest(expected, signature):
        raise OperatorAuthError(f"the recorded request is not signed by operator {key_id!r} as it reads")
    return key_id


#: audit details an admin request's body also carries: they must say the same
_BODY_FIELDS = ("batch_id", "reason", "event_id", "kind", "until")


def check_audited_requests(keystore, entries) -> list[dict]:
    """Each ``ok`` mint action in the audit log (``entries``: its records, oldest first) that
    keeps a signed request, checked: the signature against the operator's key in
    ``keystore``, the operator the record names against the key that signed, and the record's
    details against the signed body. One row per action: ``seq``, ``action``, ``operator``,
    ``problem`` (None when it holds)."""
    import json

    rows = []
    for entry in entries:
        details = entry.get("details") or {}
        recorded = details.get("signed_request") if isinstance(details, dict) else None
        if entry.get("area") != "mint" or entry.get("outcome") != "ok" or recorded is None:
            continue
        problem = None
        try:
            key_id = verify_recorded(keystore, recorded)
            if details.get("operator") != key_id:
                problem = f"the record names operator {details.get('operator')!r}; {key_id!r} signed the request"
            elif "body" in recorded:
                body = json.loads(recorded["body"] or "{}")
                differs = [name for name in _BODY_FIELDS
                           if name in details and isinstance(body, dict) and name in body and body[name] != details[name]]
                if differs:
                    problem = f"the record's {', '.join(differs)} differ from the signed request's"
        except (OperatorAuthError, ValueError) as exc:
            problem = str(exc)
        rows.append({"seq": entry.get("seq"), "action": entry.get("action"), "operator": details.get("operator"),
                     "problem": problem})
    return rows


def _remember(ledger: Ledger, key_id: str, signature: str, now: float) -> None:
    digest = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    with ledger.transaction() as db:
        db.execute("DELETE FROM operator_signatures WHERE accepted_at < ?", (now - 2 * MAX_SKEW_SECONDS,))
        try:
            db.execute("INSERT INTO operator_signatures(signature_hash, key_id, accepted_at) VALUES (?,?,?)",
                       (digest, key_id, now))
        except sqlite3.IntegrityError:
            raise OperatorAuthError(f"this request of operator {key_id!r} was already used; it is a replay",
                                    hint="sign each request afresh") from None
