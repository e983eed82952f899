"""The admin RPC (kind 24134): pair and revoke devices from an admin client elsewhere.

Method names and answer shapes follow nsecbunkerd, so its admin clients work unchanged,
with two deliberate differences: ``create_new_token`` takes permissions (e.g.
``sign_event:21000``) where nsecbunkerd takes a policy id, and answers the ``bunker://``
URL; the ``token`` field of ``get_key_tokens`` is empty because the bunker keeps only a
hash of each secret. Only configured admin pubkeys are served (checked by the signer);
every action is recorded through the ``audited`` hook the caller passes.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any, ContextManager

from backends.bunker.errors import BunkerError, TokenNotFound
from backends.bunker.nostr import Event
from backends.bunker.signer import RemoteSigner, Request, RequestError

Audited = Callable[..., ContextManager[dict[str, Any]]]
DEFAULT_TOKEN_HOURS = 30 * 24


def _no_audit(area: str, action: str, **details: Any):
    return contextlib.nullcontext({})


class AdminRpc:
    def __init__(self, relays: tuple[str, ...], audited: Audited | None = None) -> None:
        self.relays = relays
        self.audited = audited or _no_audit
        self.signer: RemoteSigner | None = None

    def __call__(self, event: Event, request: Request) -> str:
        handler = getattr(self, "_" + request.method, None) if request.method.isidentifier() else None
        if handler is None or request.method.startswith("_"):
            raise RequestError(f"admin method {request.method!r} is not supported")
        return handler(event.pubkey, request.params)

    @property
    def _store(self):
        assert self.signer is not None
        return self.signer.store

    def _key(self, name: str) -> str:
        for pubkey, label in self.signer.labels.items():
            if label == name:
                return pubkey
        raise RequestError(f"no bunker key named {name!r}")

    def _ping(self, admin: str, params) -> str:
        return "pong"

    def _get_keys(self, admin: str, params) -> str:
        return json.dumps([{"name": label, "npub": npub(pubkey), "pubkey": pubkey}
                           for pubkey, label in self.signer.labels.items()])

    def _get_key_tokens(self, admin: str, params) -> str:
        if not params:
            raise RequestError("get_key_tokens takes [keyName]")
        self._key(params[0])
        now = self._store.now()
        return json.dumps([_nsecbunkerd_token(token, now) for token in self._store.tokens(params[0])])

    def _create_new_token(self, admin: str, params) -> str:
        if len(params) < 3:
            raise RequestError("create_new_token takes [keyName, clientName, permissions, durationInHours?]")
        key_name, client_name, permissions = params[0], params[1], params[2]
        try:
            hours = int(params[3]) if len(params) > 3 and params[3] else DEFAULT_TOKEN_HOURS
        except ValueError:
            raise RequestError("durationInHours must be a whole number") from None
        signer_pubkey = self._key(key_name)
        with self.audited("bunker", "token create", via="admin rpc", admin=admin, key=key_name,
                          client=client_name, permissions=permissions, hours=hours) as result:
            token, url = self._store.create(
                key_label=key_name, signer_pubkey=signer_pubkey, client_name=client_name,
                permissions=permissions, lifetime_seconds=hours * 3600, relays=self.relays,
            )
            result["token"] = token.id
        return str(url)

    def _revoke_user(self, admin: str, params) -> str:
        """Revoke by token id or by the bound device's pubkey (nsecbunkerd's keyUserId)."""
        if not params:
            raise RequestError("revoke_user takes [tokenId or device pubkey]")
        target = params[0]
        matches = [t for t in self._store.tokens() if target in (t.id, t.client_pubkey)]
        if not matches:
            raise TokenNotFound(f"no token or device {target!r}")
        with self.audited("bunker", "token revoke", via="admin rpc", admin=admin,
                          tokens=[t.id for t in matches]):
            for token in matches:
                self._store.revoke(token.id, f"revoked by admin {admin[:16]}")
        return json.dumps(["ok"])


def _nsecbunkerd_token(token, now: int) -> dict[str, Any]:
    return {
        "id": token.id, "key_name": token.key_label, "client_name": token.client_name,
        "token": "", "policy_id": None, "policy_name": ",".join(str(p) for p in token.permissions),
        "created_at": token.created_at, "expires_at": token.expires_at,
        "redeemed_at": token.redeemed_at, "redeemed_by": token.client_pubkey,
        "time_until_expiration": max(0, token.expires_at - now), "state": token.state(now),
    }


def npub(pubkey_hex: str) -> str:
    from embit import bech32

    data = bech32.convertbits(bytes.fromhex(pubkey_hex), 8, 5)
    return bech32.bech32_encode(bech32.Encoding.BECH32, "npub", data)


__all__ = ["AdminRpc", "BunkerError", "npub"]
