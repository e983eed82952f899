"""The chain socket's wire format: one JSON object per line.

A request is ``{"id", "method", "params"}``; its reply ``{"id", "result"}`` or
``{"id", "error": {"type", "message", "hint", ...}}`` where ``type`` names a
:class:`ChainError` subclass and typed fields (``reason``, ``txid``, ``block_hash``) ride
along. Bytes travel as hex. Every (de)serialisation of the ``Chain`` records and errors for
the socket lives here, so :mod:`.remote` deals only in sockets and threads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from backends.outside_input import load_json

from .errors import (
    BlockRejected,
    ChainDataDirInUse,
    ChainError,
    ChainUnavailable,
    DescriptorError,
    KernelUnavailable,
    NotRegtest,
    SideBranchBlock,
    TransactionRejected,
    WalletUnavailable,
)
from .interface import DEFAULT_RANGE_END, HistoryEntry, Tip, TxStatus, Utxo

#: the largest request line a server reads: a standard transaction is at most 400 kB, 800 kB as hex
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: the largest reply line a client reads (the UTXO list of a big wallet)
MAX_REPLY_BYTES = 256 * 1024 * 1024


class ChainProtocolError(ChainError):
    """A request or reply on the chain socket did not follow the wire format."""

    def __init__(self, message: str, *, hint: str | None = None, request_id: Any = None) -> None:
        super().__init__(message, hint=hint)
        self.request_id = request_id


_REQUIRED = object()

# method -> {param: (JSON types accepted, default)}; what a client may ask of a served chain
_PARAMS: dict[str, dict[str, tuple[tuple[type, ...], Any]]] = {
    "info": {},
    "tip": {},
    "watched": {},
    "watch": {"descriptor": ((str,), _REQUIRED), "range_end": ((int,), DEFAULT_RANGE_END), "label": ((str,), "")},
    "utxos": {"descriptor": ((str, type(None)), None)},
    "history": {"descriptor": ((str, type(None)), None)},
    "broadcast": {"raw_tx_hex": ((str,), _REQUIRED)},
    "tx_status": {"txid": ((str,), _REQUIRED)},
    "estimate_fee_rate": {"target_blocks": ((int,), _REQUIRED)},
    "mine": {"n": ((int,), _REQUIRED), "address": ((str, type(None)), None), "script_hex": ((str, type(None)), None)},
}
METHODS = frozenset(_PARAMS)

#: the methods a client may resend after a connection broke mid-call: running them twice is harmless
IDEMPOTENT_METHODS = frozenset({"info", "tip", "watched", "watch", "utxos", "history", "tx_status", "estimate_fee_rate"})


@dataclass(frozen=True, slots=True)
class Request:
    id: int | str | None
    method: str
    params: dict[str, Any]


# -- requests


def encode_request(request_id: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    return _line({"id": request_id, "method": method, "params": params or {}})


def mine_params(n: int, address_or_script: str | bytes) -> dict[str, Any]:
    if isinstance(address_or_script, bytes):
        return {"n": n, "script_hex": address_or_script.hex()}
    return {"n": n, "address": address_or_script}


def decode_request(line: bytes) -> Request:
    """Parse and check one request line; a :class:`ChainProtocolError` carries the id when it was readable."""
    try:
        obj = load_json(line, max_bytes=MAX_REQUEST_BYTES, what="request")
    except ValueError:
        raise ChainProtocolError("the request is not a JSON object on one line") from None
    if not isinstance(obj, dict):
        raise ChainProtocolError("the request is not a JSON object on one line")
    request_id = obj.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, (int, str, type(None))):
        raise ChainProtocolError("the request id must be a number, a string or null")
    method = obj.get("method")
    if method not in METHODS:
        raise ChainProtocolError(f"unknown method {str(method)[:80]!r}; the chain socket serves {', '.join(sorted(METHODS))}",
                                 request_id=request_id)
    params = obj.get("params", {})
    if not isinstance(params, dict):
        raise ChainProtocolError(f"{method}: params must be a JSON object", request_id=request_id)
    return Request(request_id, method, _checked_params(method, params, request_id))


def _checked_params(method: str, params: dict[str, Any], request_id: Any) -> dict[str, Any]:
    spec = _PARAMS[method]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ChainProtocolError(f"{method}: unknown params {', '.join(unknown)[:200]}", request_id=request_id)
    checked = {}
    for name, (types, default) in spec.items():
        value = params.get(name, default)
        if value is _REQUIRED:
            raise ChainProtocolError(f"{method}: missing param {name}", request_id=request_id)
        if isinstance(value, bool) or not isinstance(value, types):
            raise ChainProtocolError(f"{method}: param {name} has the wrong type", request_id=request_id)
        checked[name] = value
    return checked


def call_args(request: Request) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of the ``Chain`` method a checked request names."""
    params = dict(request.params)
    try:
        if request.method == "broadcast":
            return (bytes.fromhex(params["raw_tx_hex"]),), {}
        if request.method == "mine":
            address, script_hex = params["address"], params["script_hex"]
            if (address is None) == (script_hex is None):
                raise ChainProtocolError("mine: give exactly one of address and script_hex", request_id=request.id)
            return (params["n"], address if address is not None else bytes.fromhex(script_hex)), {}
    except ValueError:
        raise ChainProtocolError(f"{request.method}: bytes must be hex", request_id=request.id) from None
    return (), params


# -- results

_RECORDS = {"tip": Tip, "tx_status": TxStatus}
_RECORD_LISTS = {"utxos": Utxo, "history": HistoryEntry}


def encode_result(method: str, value: Any) -> Any:
    if method in _RECORDS:
        return _record_to_wire(value)
    if method in _RECORD_LISTS:
        return [_record_to_wire(record) for record in value]
    return value


def decode_result(method: str, value: Any) -> Any:
    """The Python value of a reply's ``result``; a reply that does not fit is a :class:`ChainProtocolError`."""
    try:
        if method in _RECORDS:
            return _record_from_wire(_RECORDS[method], value)
        if method in _RECORD_LISTS:
            return [_record_from_wire(_RECORD_LISTS[method], item) for item in value]
        if method == "estimate_fee_rate":
            return float(value)
        if method in ("watched", "mine"):
            if not (isinstance(value, list) and all(isinstance(item, str) for item in value)):
                raise TypeError
            return value
        if method == "broadcast" and not isinstance(value, str):
            raise TypeError
        if method == "info" and not (isinstance(value, dict) and isinstance(value.get("backend_name"), str)
                                     and isinstance(value.get("network"), str)):
            raise TypeError
        return value
    except (TypeError, ValueError):
        raise ChainProtocolError(f"the chain server's answer to {method} does not fit the interface") from None


def _record_to_wire(record: Any) -> dict[str, Any]:
    return {f.name: _value_to_wire(getattr(record, f.name)) for f in fields(record)}


def _value_to_wire(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _record_from_wire(cls: type, obj: Any) -> Any:
    if not isinstance(obj, dict):
        raise TypeError
    values = dict(obj)
    for f in fields(cls):
        if f.type == "bytes" and f.name in values:
            values[f.name] = bytes.fromhex(values[f.name])
    return cls(**values)


# -- replies


def encode_reply(request_id: Any, result: Any) -> bytes:
    return _line({"id": request_id, "result": result})


def encode_error_reply(request_id: Any, exc: ChainError) -> bytes:
    return _line({"id": request_id, "error": error_to_wire(exc)})


def decode_reply(line: bytes) -> dict[str, Any]:
    """The reply object; a line that is not one means the other side is no chain server."""
    try:
        obj = load_json(line, max_bytes=MAX_REPLY_BYTES, what="reply")
    except ValueError:
        obj = None
    if not isinstance(obj, dict) or "id" not in obj or ("result" in obj) == ("error" in obj):
        raise ChainProtocolError("the chain server's reply is not a JSON reply object")
    return obj


# -- errors

_ERROR_TYPES: dict[str, type[ChainError]] = {
    cls.__name__: cls
    for cls in (ChainError, ChainUnavailable, ChainDataDirInUse, KernelUnavailable, NotRegtest,
                TransactionRejected, BlockRejected, SideBranchBlock, DescriptorError, WalletUnavailable,
                ChainProtocolError)
}


def error_to_wire(exc: ChainError) -> dict[str, Any]:
    wire: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "hint": exc.hint}
    for attribute in ("reason", "txid", "block_hash"):
        if isinstance(getattr(exc, attribute, None), str):
            wire[attribute] = getattr(exc, attribute)
    return wire


def error_from_wire(wire: Any) -> ChainError:
    """The same typed error the served chain raised; a type this side does not know becomes a ChainError."""
    if not isinstance(wire, dict):
        return ChainProtocolError("the chain server sent an error reply without an error object")
    message = str(wire.get("message") or "the chain server reported an error")
    hint = wire.get("hint") if isinstance(wire.get("hint"), str) else None
    cls = _ERROR_TYPES.get(str(wire.get("type")), ChainError)
    reason = wire.get("reason")
    if cls is TransactionRejected and isinstance(reason, str):
        exc: ChainError = TransactionRejected(reason, txid=_optional_str(wire.get("txid")))
    elif cls in (BlockRejected, SideBranchBlock) and isinstance(reason, str):
        exc = cls(reason, block_hash=_optional_str(wire.get("block_hash")))
    elif cls in (TransactionRejected, BlockRejected, SideBranchBlock):
        exc = ChainError(message)
    else:
        exc = cls(message)
    if hint is not None:
        exc.hint = hint
    return exc


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False).encode() + b"\n"
