"""``custody-tui mint serve``: the mint's JSON HTTP API (the seed's endpoints) over ASGI.

A plain ASGI callable served by uvicorn (small, pure Python over h11, well kept by the
encode team; no web framework is needed for a dozen JSON routes). Backend calls block
(SQLite, signing, the chain), so each runs in a worker thread.

Public routes serve wallets (register a deposit, get blind signatures, redeem notes, read
status and figures). Admin routes need an operator-signed request (the seed's
``X-Finalis-Operator-*`` headers, see ``backends.mint.operators``) and land in the audit log
with the operator's key id. Errors are JSON ``{"error": ..., "hint": ...}`` with a 4xx status;
malformed JSON and bad fields change nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from backends.errors import CustodyError

from .services import Services

MAX_BODY_BYTES = 1024 * 1024
MAX_UNIX_SECONDS = 2**40  # year 36812: past any silence, before floats lose whole seconds
log = logging.getLogger(__name__)


class ApiError(CustodyError):
    """A request the API refuses before it reaches the mint (bad JSON, a missing field)."""

    def __init__(self, message: str, status: int = 400, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes
    headers: dict[str, str]
    peer: str | None = None  # the client's address, as the socket saw it

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, parsed within the limits every outside input gets
        (``backends.outside_input``: size, nesting, no NaN/Infinity, at most 4,300 digits)."""
        from backends.outside_input import load_json

        try:
            data = load_json(self.body or b"{}", max_bytes=MAX_BODY_BYTES, what="the body")
        except ValueError as exc:  # JSONDecodeError, OutsideInputRefused, json's digit limit
            raise ApiError(f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ApiError("the body must be a JSON object")
        return data


#: the widest range a number in a request may have (SQLite's integers are 64-bit)
INT64_MAX = 2**63 - 1


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True,
          low: float = -INT64_MAX - 1, high: float = INT64_MAX) -> Any:
    """``data[name]`` of type ``kind``; a number must also be finite and within ``low..high``
    (JSON allows 10**40 and 1e400; no ledger column, amount or clock does)."""
    import math

    value = data.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise ApiError(f"field {name!r} is required")
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        raise ApiError(f"field {name!r} has the wrong type")
    if isinstance(value, int | float) and not isinstance(value, bool) and not (
            math.isfinite(value) and low <= value <= high):
        whole = "a whole number" if kind is int else "a number"
        raise ApiError(f"field {name!r} must be {whole} from {low:.0f} to {high:.0f}")
    return value


class MintApi:
    """The routes. Each handler takes a Request and returns a JSON-ready value (or text)."""

    def __init__(self, services: Services) -> None:
        from backends.mint.deposit_limits import ClientBuckets, RefusalLog

        self.services = services
        limits = services.config.mint
        # anyone may ask for a deposit address: a bucket per client, and refusals made visible
        self.deposit_buckets = ClientBuckets(limits.deposit_address_rate_per_hour, limits.deposit_address_burst)
        self.deposit_refusals = RefusalLog()
        self.routes: dict[tuple[str, str], Callable[[Request], Any]] = {
            ("GET", "/healthz"): self.healthz,
            ("GET", "/mint/key"): self.mint_key,
            ("POST", "/deposits/address"): self.deposit_address,
            ("POST", "/deposits/register"): self.deposit_register,
            ("POST", "/issuance/blind"): self.issuance_blind,
            ("POST", "/redemptions/create"): self.redemption_create,
            ("POST", "/redemptions/status"): self.redemption_status,
            ("POST", "/redemptions/approve_broadcast"): self.redemption_approve,
            ("POST", "/redemptions/update"): self.redemption_update,
            ("GET", "/reserves"): lambda r: self.mint.inventory().to_dict(),
            ("GET", "/reserves/consolidate_plan"): self.consolidate_plan,
            ("POST", "/reserves/consolidate"): self.consolidate,
            ("GET", "/policy/redemptions"): self.policy,
            ("POST", "/policy/redemptions"): self.policy_update,
            ("GET", "/monitoring/reserve_health"): self.reserve_health,
            ("GET", "/monitoring/metrics"): lambda r: PlainText(self.mint.metrics_text()),
            ("GET", "/accounting/summary"): lambda r: self.mint.accounting().to_dict(),
            ("GET", "/operator/key"): self.operator_key,
            ("GET", "/audit/export"): self.audit_export,
            ("GET", "/monitoring/alerts/history"): self.alerts_history,
            ("GET", "/monitoring/events/policy"): lambda r: self.mint.events_policy(),
            ("GET", "/monitoring/events/silences"): lambda r: [s.to_dict() for s in self.mint.silences()],
            ("POST", "/monitoring/events/ack"): self.event_ack,
            ("POST", "/monitoring/events/silence"): self.event_silence,
            ("GET", "/attestations/reserves"): lambda r: self.mint.attest("api"),
        }

    @property
    def mint(self):
        return self.services.mint

    # -- ASGI ------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        status, payload, content_type, *extra = await self._answer(scope, receive)
        headers = [(b"content-type", content_type), (b"content-length", str(len(payload)).encode()), *extra]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _answer(self, scope, receive) -> tuple:
        try:
            body = await _read_body(receive)
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            client = scope.get("client")
            request = Request(scope["method"], scope["path"], body, headers, client[0] if client else None)
            handler = self.routes.get((request.method, request.path))
            if handler is None:
                known = any(path == request.path for _, path in self.routes)
                raise ApiError(f"{request.method} {request.path} is not an endpoint of this mint",
                               405 if known else 404)
            result = await asyncio.to_thread(handler, request)
        except CustodyError as exc:
            return _error(exc)
        except Exception:  # a bug: say so without internals, keep the details in the log
            log.exception("mint API handler failed")
            return 500, _json({"error": "internal error; see the mint's log"}), b"application/json"
        if isinstance(result, PlainText):
            return 200, result.text.encode(), b"text/plain; version=0.0.4; charset=utf-8"
        return 200, _json(result), b"application/json"

    # -- operators -------------------------------------------------------------------

    def _operator(self, request: Request) -> str:
        return self.mint.authenticate(request.method, request.path, request.body, request.headers)

    def _admin(self, request: Request, action: str, run: Callable[[str], Any], **details: Any) -> Any:
        """Authenticate, then run as an audited operator action naming the key id and keeping
        the signed request (checkable later with ``operators.verify_recorded``)."""
        signed = self.mint.verify_operator_request(request.method, request.path, request.body, request.headers)
        with self.services.audited("mint", action, via="http", operator=signed.key_id,
                                   signed_request=signed.record(), **details):
            return run(signed.key_id)

    # -- handlers --------------------------------------------------------------------

    def healthz(self, request: Request) -> dict[str, Any]:
        return {"ok": True, "mint_id": self.mint.mint_id}

    def mint_key(self, request: Request) -> dict[str, Any]:
        return {"mint_id": self.mint.mint_id, "keysets": [k.to_public_dict() for k in self.mint.keysets()]}

    def deposit_address(self, request: Request) -> dict[str, Any]:
        """A fresh reserve address and its claim secret (shown this once): only the holder of
        the secret can have notes issued on what pays the address."""
        from backends.mint.deposit_limits import DepositAddressLimited

        request.json()  # a body, if any, must be JSON; it carries nothing yet
        now = self.services.clocks.wall().timestamp()
        try:
            self.deposit_buckets.take(request.peer)
            given = self.mint.deposit_address()
        except DepositAddressLimited as exc:
            self.deposit_refusals.refused(self.mint, exc.reason, now)
            raise
        self.deposit_refusals.flush(self.mint, now)  # refusals counted since the last write, if due
        return given.to_dict(self.mint.mint_id)

    def stopped(self) -> None:
        """The server stops: write the refusals counted since the last write."""
        self.deposit_refusals.flush(self.mint, self.services.clocks.wall().timestamp(), force=True)

    def deposit_register(self, request: Request) -> dict[str, Any]:
        from backends.mint.keysets import MAX_DENOMINATION_SAT

        data = request.json()
        deposit = self.mint.register_deposit(
            field(data, "deposit_txid", str), field(data, "deposit_vout", int, low=0, high=0xFFFFFFFF),
            mint_id=field(data, "mint_id", str, required=False),
            amount_sat=field(data, "amount", int, required=False, low=1, high=MAX_DENOMINATION_SAT),
        )
        return deposit.to_dict(depth_required=self.mint.settings.finalization_depth)

    def issuance_blind(self, request: Request) -> dict[str, Any]:
        from backends.mint.issuance import BlindRequest

        data = request.json()
        outputs = field(data, "outputs", list)
        issued = self.mint.issue_blind(field(data, "mint_deposit_ref", str),
                                       [BlindRequest.from_dict(o) for o in outputs],
                                       claim_secret=field(data, "claim_secret", str),
                                       keyset_id=field(data, "keyset_id", str, required=False))
        return {"keyset_id": issued.keyset_id, "blind_signatures": [s.hex() for s in issued.blind_sigs],
                "replayed": issued.replayed,
                "deposit": issued.deposit.to_dict(depth_required=self.mint.settings.finalization_depth)}

    def redemption_create(self, request: Request) -> dict[str, Any]:
        from backends.mint.notes import Note

        data = request.json()
        notes = [Note.from_dict(n) for n in field(data, "notes", list)]
        return self._redemption_dict(self.mint.create_redemption(notes, field(data, "redeem_address", str)))

    def redemption_status(self, request: Request) -> dict[str, Any]:
        return self._redemption_dict(self.mint.redemption(field(request.json(), "batch_id", str)))

    def redemption_approve(self, request: Request) -> dict[str, Any]:
        batch = field(request.json(), "batch_id", str)
        return self._redemption_dict(self._admin(
            request, "redemption approve", lambda op: self.mint.approve_redemption(batch, op), batch_id=batch))

    def redemption_update(self, request: Request) -> dict[str, Any]:
        """``{"batch_id", "action": "reject", "reason"}``, or ``{"action": "refresh"}``."""
        data = request.json()
        action = field(data, "action", str)
        if action == "refresh":
            def refresh(op: str) -> dict[str, Any]:
                deposits, redemptions = self.mint.refresh()
                return {"deposits_changed": len(deposits), "redemptions_changed": len(redemptions)}
            return self._admin(request, "refresh", refresh)
        if action != "reject":
            raise ApiError("action must be 'reject' or 'refresh'")
        batch, reason = field(data, "batch_id", str), field(data, "reason", str)
        return self._redemption_dict(self._admin(
            request, "redemption reject", lambda op: self.mint.reject_redemption(batch, op, reason),
            batch_id=batch, reason=reason))

    def consolidate_plan(self, request: Request) -> dict[str, Any]:
        self._operator(request)
        return self.mint.consolidation_plan().to_dict()

    def consolidate(self, request: Request) -> dict[str, Any]:
        return self._admin(request, "consolidate", lambda op: self.mint.consolidate(op).to_dict())

    def policy(self, request: Request) -> dict[str, Any]:
        allowance = self.mint.payout_allowance()  # the quorum signer's HSM policy, this period
        return {**self.mint.pause_state().to_dict(), "recommendation": self.mint.recommendation(),
                "payout_allowance": allowance.to_dict() if allowance else None}

    def policy_update(self, request: Request) -> dict[str, Any]:
        """``{"paused": bool, "reason": str}`` and/or ``{"auto_pause": bool}``."""
        data = request.json()
        paused = field(data, "paused", bool, required=False)
        auto = field(data, "auto_pause", bool, required=False)
        if paused is None and auto is None:
            raise ApiError("give 'paused' (with a 'reason' to pause) or 'auto_pause'")
        reason = field(data, "reason", str, required=bool(paused))
        if paused and not reason.strip():  # checked before anything changes (auto_pause included)
            raise ApiError("a pause needs a reason the other operators can read")

        def update(op: str) -> dict[str, Any]:
            if auto is not None:
                self.mint.set_auto_pause(auto)
            if paused is True:
                self.mint.pause(op, reason)
            elif paused is False:
                self.mint.resume(op)
            return self.policy(request)

        return self._admin(request, "policy update", update, paused=paused, auto_pause=auto)

    def reserve_health(self, request: Request) -> dict[str, Any]:
        return {**self.mint.health().to_dict(), "recommendation": self.mint.recommendation()}

    def audit_export(self, request: Request) -> dict[str, Any]:
        """The whole audit log and its verification, signed with the attestation key."""
        from backends.mint.attestation import sign_export

        def export(op: str) -> dict[str, Any]:
            document, _ = self.services.audit.export()
            return sign_export(self.services.keystore, document)

        return self._admin(request, "audit export", export)

    def alerts_history(self, request: Request) -> dict[str, Any]:
        return {"events": self.mint.events(), "active_alerts": [e.event_id for e in self.mint.alerts()]}

    def event_ack(self, request: Request) -> dict[str, Any]:
        event_id = field(request.json(), "event_id", int, low=1)
        return self._admin(request, "event ack", lambda op: self.mint.acknowledge(event_id, op).to_dict(),
                           event_id=event_id)

    def event_silence(self, request: Request) -> dict[str, Any]:
        data = request.json()
        kind, reason = field(data, "kind", str), field(data, "reason", str)
        until = field(data, "until", (int, float), low=0, high=MAX_UNIX_SECONDS)
        return self._admin(request, "event silence",
                           lambda op: self.mint.silence(kind, float(until), reason, op).to_dict(),
                           kind=kind, until=until, reason=reason)

    def operator_key(self, request: Request) -> dict[str, Any]:
        return {"key_id": self._operator(request)}

    def _redemption_dict(self, redemption) -> dict[str, Any]:
        return redemption.to_dict(depth_required=self.mint.settings.finalization_depth)


@dataclass(frozen=True)
class PlainText:
    text: str


async def _read_body(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(f"the body is larger than {MAX_BODY_BYTES} bytes", 413)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, default=str).encode()


def _error(exc: CustodyError) -> tuple:
    from backends.mint.errors import NoteAlreadySpent, OperatorAuthError

    status = getattr(exc, "status", None) or (
        401 if isinstance(exc, OperatorAuthError) else 409 if isinstance(exc, NoteAlreadySpent) else 400)
    body = {"error": str(exc)}
    if exc.hint:
        body["hint"] = exc.hint
    retry_after = getattr(exc, "retry_after", None)  # a limit: when to ask again (429, 503)
    if retry_after is None:
        return status, _json(body), b"application/json"
    body["retry_after"] = retry_after
    return status, _json(body), b"application/json", (b"retry-after", str(retry_after).encode())


def make_server(services: Services, host: str, port: int):
    """A uvicorn server for the API (``.run()`` to serve; ``.should_exit = True`` to stop)."""
    import uvicorn

    config = uvicorn.Config(MintApi(services), host=host, port=port, log_level="warning", lifespan="off",
                            access_log=False)
    return uvicorn.Server(config)
