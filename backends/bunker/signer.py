"""NIP-46 request handling: one event in, at most one encrypted reply out.

Order of checks for every event: signature (before any decryption), addressed to one of
our keys, not our own, dated near now, not seen before, decryptable, well-formed, then the token rules of
``tokens`` on every request. Anything that fails before the request id is known is
dropped silently; after that, the device gets an error reply. Nothing here raises past
``handle``: one bad event never stops the service.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backends.bunker import nip04, nip44
from backends.bunker.errors import BunkerError
from backends.bunker.nostr import Event, SecretKey, check_template, parse_event, sign_event
from backends.bunker.tokens import SEEN_RETENTION_SECONDS, TokenStore
from backends.outside_input import load_json

log = logging.getLogger(__name__)

KIND_NIP46 = 24133
KIND_ADMIN = 24134
MAX_PARAMS = 8
#: a NIP-44 plaintext is at most 65,535 bytes (so as many characters); nothing inside is larger
MAX_REQUEST_BYTES = 65_535
CIPHER_METHODS = ("nip44_encrypt", "nip44_decrypt", "nip04_encrypt", "nip04_decrypt")
_CONVERSATION_CACHE = 4096
#: how far a request's created_at may lie from our clock, either way. Event ids are
#: remembered for SEEN_RETENTION_SECONDS, so an event acceptable at any later time is still
#: remembered then (past + future window <= retention): a request captured off a relay and
#: published again after its id was pruned is dropped, not executed a second time.
MAX_EVENT_SKEW_SECONDS = SEEN_RETENTION_SECONDS // 2


class RequestError(Exception):
    """A request we answer with an error (the message goes to the device)."""


@dataclass(frozen=True, slots=True)
class Request:
    id: str
    method: str
    params: tuple[str, ...]


def parse_request(text: str) -> Request:
    """``{"id": str, "method": str, "params": [str, ...]}``; raises RequestError with the id
    known when possible (so the device learns why), ValueError when there is no id."""
    data = load_json(text, max_bytes=MAX_REQUEST_BYTES, what="the request")
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not 0 < len(data["id"]) <= 128:
        raise ValueError("no request id")
    request_id = data["id"]
    method, params = data.get("method"), data.get("params", [])
    if not isinstance(method, str) or not method or len(method) > 64:
        raise RequestError(request_id, "method must be a non-empty string")
    if not isinstance(params, list) or len(params) > MAX_PARAMS or not all(isinstance(p, str) for p in params):
        raise RequestError(request_id, f"params must be a list of at most {MAX_PARAMS} strings")
    return Request(request_id, method, tuple(params))


class RemoteSigner:
    """The NIP-46 side of the bunker for a set of keystore keys (label -> key)."""

    def __init__(
        self,
        keys: dict[str, SecretKey],
        store: TokenStore,
        *,
        admin: Callable[[Event, Request], str] | None = None,
        admin_key: SecretKey | None = None,
        admin_pubkeys: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self._by_pubkey = {key.public_hex: key for key in keys.values()}
        self.labels = {key.public_hex: label for label, key in keys.items()}
        self._admin = admin
        self._admin_key = admin_key
        self._admin_pubkeys = admin_pubkeys
        self._conversations: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._own = frozenset(self.listen_pubkeys())

    def listen_pubkeys(self) -> list[str]:
        pubkeys = list(self._by_pubkey)
        if self._admin_key is not None:
            pubkeys.append(self._admin_key.public_hex)
        return pubkeys

    def own_pubkeys(self) -> frozenset[str]:
        return self._own

    def _conversation(self, key: SecretKey, other: str) -> bytes:
        cache_key = (key.public_hex, other)
        found = self._conversations.get(cache_key)
        if found is None:
            found = nip44.get_conversation_key(key.secret_bytes(), bytes.fromhex(other))
            self._conversations[cache_key] = found
            if len(self._conversations) > _CONVERSATION_CACHE:
                self._conversations.popitem(last=False)
        return found

    # -- one event --------------------------------------------------------------------

    def handle(self, raw: Any) -> Event | None:
        try:
            return self._handle(raw)
        except Exception:  # the service must outlive any event  # noqa: BLE001
            log.exception("dropped an event that broke the handler")
            return None

    def _handle(self, raw: Any) -> Event | None:
        try:
            event = parse_event(raw)
        except BunkerError as exc:
            log.debug("dropped an invalid event: %s", exc)
            return None
        if event.pubkey in self.own_pubkeys() or event.kind not in (KIND_NIP46, KIND_ADMIN):
            return None
        target = event.first_tag("p")
        if event.kind == KIND_NIP46:
            key = self._by_pubkey.get(target or "")
        else:
            key = self._admin_key if self._admin_key and target == self._admin_key.public_hex else None
        if key is None:
            return None
        if abs(event.created_at - self.store.now()) > MAX_EVENT_SKEW_SECONDS:
            log.info("dropped a request from %s dated %d, too far from now", event.pubkey[:16], event.created_at)
            return None
        if not self.store.claim_event(event.id):
            return None  # a relay replayed it: a request is answered (and counted) once
        try:
            conversation = self._conversation(key, event.pubkey)
            request = parse_request(nip44.decrypt(event.content, conversation))
        except RequestError as exc:
            return self._reply(key, event, exc.args[0], error=exc.args[1])
        except (BunkerError, ValueError) as exc:
            log.info("dropped an unreadable request from %s: %s", event.pubkey[:16], exc)
            return None
        if event.kind == KIND_ADMIN:
            return self._answer_admin(key, event, request)
        try:
            result = self._dispatch(key, event.pubkey, request)
        except RequestError as exc:
            return self._reply(key, event, request.id, error=str(exc))
        return self._reply(key, event, request.id, result=result)

    def _answer_admin(self, key: SecretKey, event: Event, request: Request) -> Event:
        if event.pubkey not in self._admin_pubkeys or self._admin is None:
            log.warning("refused admin request %r from non-admin %s", request.method, event.pubkey)
            self.store.log_stranger(event.pubkey, f"admin:{request.method}", "not an admin key")
            return self._reply(key, event, request.id, error="not an admin of this bunker")
        try:
            return self._reply(key, event, request.id, result=self._admin(event, request))
        except (RequestError, BunkerError) as exc:
            return self._reply(key, event, request.id, error=str(exc))

    def _reply(self, key: SecretKey, event: Event, request_id: str, *, result: str = "", error: str | None = None) -> Event:
        # an error reply carries no result: rust-nostr parses any result it finds before
        # looking at the error, and would report a JSON error instead of the bunker's reason
        body: dict[str, Any] = {"id": request_id, "error": error} if error is not None else {
            "id": request_id, "result": result}
        content = nip44.encrypt(json.dumps(body), self._conversation(key, event.pubkey))
        created_at = max(int(self.store.now()), event.created_at)
        return sign_event(key, event.kind, content, [["p", event.pubkey]], created_at)

    # -- NIP-46 methods -----------------------------------------------------------------

    def _dispatch(self, key: SecretKey, client: str, request: Request) -> str:
        method, params = request.method, request.params
        if method == "ping":
            return "pong"
        if method == "connect":
            if params and params[0] and params[0] != key.public_hex:
                raise RequestError("connect names another bunker key")
            decision = self.store.connect(key.public_hex, client, params[1] if len(params) > 1 else None)
            if not decision.allowed:
                raise RequestError(decision.reason)
            return "ack"
        if method not in ("get_public_key", "sign_event", "logout", *CIPHER_METHODS):
            self.store.authorize(key.public_hex, client, method[:64])
            raise RequestError(f"method {method!r} is not supported by this bunker")
        kind = None
        template: dict | None = None
        if method == "sign_event":
            template = _template(params)
            kind = template["kind"]
        decision = self.store.authorize(key.public_hex, client, method, kind)
        if not decision.allowed:
            raise RequestError(decision.reason)
        if method in ("get_public_key",):
            return key.public_hex
        if method == "logout":
            return "ack"
        if method == "sign_event":
            # the pubkey a client writes into the template is ignored: the token's key signs
            signed = sign_event(key, template["kind"], template["content"], template["tags"], template["created_at"])
            return json.dumps(signed.to_dict(), ensure_ascii=False)
        if len(params) != 2:
            raise RequestError(f"{method} takes [third_party_pubkey, text]")
        try:
            third_party = bytes.fromhex(params[0])
            if method.startswith("nip04_"):
                # only reached when the token grants nip04_*: older clients, no MAC
                shared = nip04.shared_key(key.secret_bytes(), third_party)
                cipher = nip04.encrypt if method == "nip04_encrypt" else nip04.decrypt
                return cipher(params[1], shared)
            conversation = nip44.get_conversation_key(key.secret_bytes(), third_party)
            if method == "nip44_encrypt":
                return nip44.encrypt(params[1], conversation)
            return nip44.decrypt(params[1], conversation)
        except (BunkerError, ValueError) as exc:
            raise RequestError(f"{method} failed: {exc}") from None


def _template(params: tuple[str, ...]) -> dict:
    if len(params) != 1:
        raise RequestError("sign_event takes one JSON-encoded event template")
    try:
        template = load_json(params[0], max_bytes=MAX_REQUEST_BYTES, what="the event template")
    except ValueError as exc:  # not JSON, or beyond the limits of outside input
        raise RequestError(f"the event template is not usable JSON ({exc})") from None
    if not isinstance(template, dict):
        raise RequestError("the event template must be a JSON object")
    template.setdefault("tags", [])
    template.setdefault("content", "")
    try:
        check_template(template.get("kind"), template["content"], template["tags"], template.get("created_at"))
    except BunkerError as exc:
        raise RequestError(f"bad event template: {exc}") from None
    return template
