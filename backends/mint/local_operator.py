"""Admin requests made at the operator's own terminal, signed like the HTTP API's.

An operator at the console holds an operator key (an HMAC secret in the keystore, made by
``mint operator create``). Each admin action taken there is the same signed request the
HTTP API accepts (``operators``: key id, timestamp, HMAC of method, path, timestamp and
body), checked by the mint's own verifier, so it meets the same rules: fresh timestamps,
no replays, and the operator's key id in the mint's records and the audit log.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import OperatorAuthError
from .operators import KEY_HEADER, check_key_id, keystore_label, sign_request


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
    check_key_id(key_id)
    if key_id not in operator_key_ids(keystore):
        raise OperatorAuthError(f"no operator key {key_id!r} in this keystore",
                                hint="create one: custody-tui mint operator create ID")
    body = request_body(fields)
    secret = keystore.get_secret(keystore_label(key_id))
    try:
        headers = {KEY_HEADER: key_id, **sign_request(secret, method, path, body, now)}
    finally:
        del secret
    return mint.authenticate(method, path, body, headers)
