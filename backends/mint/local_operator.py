"""Admin requests made at the operator's own terminal, signed like the HTTP API's.

An operator at the console holds an operator key (an HMAC secret in the keystore, made by
``mint operator create``). Each admin action taken there is the same signed request the
HTTP API accepts (``operators``: key id, timestamp, HMAC of method, path, timestamp and
body), checked by the mint's own verifier, so it meets the same rules: fresh timestamps,
no replays, and the operator's key id in the mint's records and the audit log.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Callable

from .errors import OperatorAuthError
from .operators import KEY_HEADER, check_key_id, keystore_label, sign_request

NEEDS_OPERATOR_KEY = "create one: custody-tui mint operator create ID"


def operator_key_ids(keystore) -> list[str]:
    """The operator keys in this keystore (readable while it is locked), sorted."""
    if not keystore.exists():
        return []
    ids = []
    for entry in keystore.entries():
        key_id = entry.public.get("mint_operator") if entry.kind.value == "hmac" else None
        if isinstance(key_id, str) and entry.label == keystore_label(key_id):
            ids.append(key_id)
    return sorted(ids)


def request_body(fields: dict[str, Any]) -> bytes:
    """The JSON body an HTTP client would send for the same action."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign_as_operator(mint, keystore, key_id: str, method: str, path: str, fields: dict[str, Any],
                     *, now: float) -> str:
    """Sign ``method path`` with ``fields`` as operator ``key_id`` and have the mint verify
    it; returns the verified key id. The secret leaves the keystore only for the HMAC."""
    return _signed(mint, keystore, key_id, method, path, fields, now=now).key_id


def _signed(mint, keystore, key_id: str, method: str, path: str, fields: dict[str, Any], *, now: float):
    check_key_id(key_id)
    if key_id not in operator_key_ids(keystore):
        raise OperatorAuthError(f"no operator key {key_id!r} in this keystore", hint=NEEDS_OPERATOR_KEY)
    # a fresh nonce in each: the operator's second action (say, approving again a second after
    # one refused) is a new request, not a replay of the first; the API ignores the field
    body = request_body({**fields, "nonce": secrets.token_hex(16)})
    secret = keystore.get_secret(keystore_label(key_id))
    try:
        headers = {KEY_HEADER: key_id, **sign_request(secret, method, path, body, now)}
    finally:
        del secret
    return mint.verify_operator_request(method, path, body, headers)


def choose_operator_key(keystore, key_id: str | None = None) -> str:
    """``key_id``, or the first operator key of the keystore by id."""
    if key_id is not None:
        return key_id
    keys = operator_key_ids(keystore)
    if not keys:
        raise OperatorAuthError("this keystore holds no mint operator key", hint=NEEDS_OPERATOR_KEY)
    return keys[0]


def run_as_operator(audited, mint, keystore, action: str, method: str, path: str, fields: dict[str, Any],
                    run: Callable[[str, dict], Any], *, now: Callable[[], float], via: str,
                    key_id: str | None = None, irreversible: bool = False, **details: Any) -> Any:
    """An admin action taken at the operator's own terminal (the console or the command line).

    Inside ``audited("mint", action, ...)`` (``Services.audited``): the request the HTTP API
    would take for it (``method``, ``path``, the JSON body of ``fields``) is signed with the
    operator's key and verified by the mint, then ``run(operator, result)`` runs (``result``
    takes audit details). The audit record names the operator and keeps the signed request,
    so the action can be checked later with the operator's key exactly like an HTTP one
    (``operators.verify_recorded``).
    """
    with audited("mint", action, irreversible=irreversible, via=via, **details) as result:
        request = _signed(mint, keystore, choose_operator_key(keystore, key_id), method, path, fields, now=now())
        result.update(operator=request.key_id, signed_request=request.record())
        return run(request.key_id, result)
