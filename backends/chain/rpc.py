"""A synchronous Bitcoin Core JSON-RPC client over httpx, with Core's errors made typed.

Amounts come back as :class:`decimal.Decimal` (JSON floats would lose satoshis).
"""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from urllib.parse import urlsplit
from pathlib import Path
from typing import Any

import httpx

from backends.outside_input import load_json

from .errors import ChainError, ChainUnavailable, TransactionRejected, WalletUnavailable

# Bitcoin Core's RPC error codes (src/rpc/protocol.h) that callers act on
#: a verbose getblock of a full block is tens of MiB; more is not bitcoind
MAX_ANSWER_BYTES = 256 * 1024 * 1024
RPC_MISC_ERROR = -1
RPC_METHOD_NOT_FOUND = -32601
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_INVALID_PARAMETER = -8
RPC_WALLET_ERROR = -4
RPC_WALLET_NOT_FOUND = -18
RPC_WALLET_ALREADY_LOADED = -35
RPC_WALLET_ALREADY_EXISTS = -36
RPC_IN_WARMUP = -28
RPC_DESERIALIZATION_ERROR = -22
RPC_VERIFY_ERROR = -25
RPC_VERIFY_REJECTED = -26
RPC_VERIFY_ALREADY_IN_CHAIN = -27

_TX_REJECTION_CODES = {RPC_DESERIALIZATION_ERROR, RPC_VERIFY_ERROR, RPC_VERIFY_REJECTED, RPC_VERIFY_ALREADY_IN_CHAIN}
_WALLET_CODES = {RPC_WALLET_ERROR, RPC_WALLET_NOT_FOUND, RPC_WALLET_ALREADY_LOADED, RPC_WALLET_ALREADY_EXISTS}


class RpcError(ChainError):
    """Bitcoin Core answered a call with an error; ``code`` and ``core_message`` are Core's."""

    def __init__(self, method: str, code: int, message: str) -> None:
        self.method = method
        self.code = code
        self.core_message = message
        super().__init__(f"bitcoind {method} failed: {message} (code {code})")


class RpcWalletError(RpcError, WalletUnavailable):
    """A wallet RPC error (-4, -18, -35, -36)."""


class RpcTransactionRejected(RpcError, TransactionRejected):
    """sendrawtransaction refused the transaction; ``reason`` is Core's reject reason."""

    def __init__(self, method: str, code: int, message: str) -> None:
        RpcError.__init__(self, method, code, message)
        self.reason = message
        self.txid = None
        self.args = (f"transaction rejected: {message}",)


class RpcAuthError(ChainUnavailable):
    """The node refused the RPC credentials."""


def rpc_error(method: str, code: int, message: str) -> RpcError:
    if code in _TX_REJECTION_CODES and method in ("sendrawtransaction", "testmempoolaccept", "submitpackage"):
        return RpcTransactionRejected(method, code, message)
    if code in _WALLET_CODES:
        return RpcWalletError(method, code, message)
    if code == RPC_METHOD_NOT_FOUND:
        err = RpcError(method, code, message)
        err.hint = "custody-tui needs Bitcoin Core 26 or newer with the wallet enabled"
        return err
    return RpcError(method, code, message)


#: bitcoind's cookie is ``__cookie__:`` and 64 hex digits; a larger file is not a cookie
MAX_COOKIE_BYTES = 1024


def read_cookie(path: Path) -> tuple[str, str]:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_COOKIE_BYTES + 1)
    except OSError as exc:
        raise ChainUnavailable(f"cannot read the bitcoind cookie file {path}: {exc.strerror}",
                               hint="is bitcoind running with this datadir, and is the file readable by you?") from None
    text = data.strip().decode("ascii", errors="replace")
    user, colon, password = text.partition(":")
    if len(data) > MAX_COOKIE_BYTES or not colon or not user or not text.isascii() or not text.isprintable():
        raise ChainUnavailable(f"{path} is not a bitcoind cookie file (user:password on one line)",
                               hint="point chain.bitcoind.cookie_file at the .cookie in bitcoind's datadir")
    return user, password


class RpcClient:
    def __init__(self, url: str, *, user: str | None = None, password: str | None = None,
                 cookie_file: Path | str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        try:
            parts = urlsplit(url.rstrip("/"))
            parts.port  # noqa: B018 -- a port that is not a number raises here, not mid-request
        except ValueError as exc:
            raise ChainError(f"the bitcoind URL is not valid ({exc})", hint="check chain.bitcoind.url") from None
        if not parts.scheme.startswith("http") or not parts.hostname or not url.isprintable():
            raise ChainError("the bitcoind URL must be http(s)://HOST:PORT", hint="check chain.bitcoind.url")
        if parts.username or parts.password:
            # credentials in the URL would reach every error message and log line
            raise ChainError("the bitcoind URL must not carry credentials",
                             hint="put them in chain.bitcoind.user/password or cookie_file")
        self.url = url.rstrip("/")
        self._user, self._password = user, password
        self._cookie_file = Path(cookie_file).expanduser() if cookie_file else None
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def _auth(self) -> tuple[str, str] | None:
        if self._cookie_file is not None:
            return read_cookie(self._cookie_file)  # re-read: bitcoind writes a new cookie on each start
        if self._user is not None:
            return (self._user, self._password or "")
        return None

    def _post(self, payload: Any, *, wallet: str | None, timeout: float | None, what: str) -> Any:
        url = self.url + (f"/wallet/{wallet}" if wallet is not None else "")
        try:
            response = self._http.post(url, content=json.dumps(payload), auth=self._auth(),
                                       headers={"Content-Type": "application/json"},
                                       timeout=self.timeout if timeout is None else timeout)
        except httpx.TimeoutException:
            raise ChainUnavailable(f"bitcoind at {self.url} did not answer {what} within "
                                   f"{self.timeout if timeout is None else timeout:g} s") from None
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise ChainUnavailable(f"cannot reach bitcoind at {self.url}: {exc}",
                                   hint="is bitcoind running, and do chain.bitcoind.url and the port match?") from None
        if response.status_code in (401, 403):
            raise RpcAuthError(f"bitcoind at {self.url} refused the RPC credentials",
                               hint="check chain.bitcoind.user/password or cookie_file")
        try:
            return load_json(response.content, max_bytes=MAX_ANSWER_BYTES, what="answer", parse_float=Decimal)
        except ValueError:
            raise ChainUnavailable(f"bitcoind at {self.url} answered {what} with HTTP {response.status_code} "
                                   f"and no JSON-RPC body") from None

    def call(self, method: str, *params: Any, wallet: str | None = None, timeout: float | None = None) -> Any:
        body = self._post({"jsonrpc": "1.0", "id": next(self._ids), "method": method, "params": list(params)},
                          wallet=wallet, timeout=timeout, what=method)
        if not isinstance(body, dict):
            raise ChainUnavailable(f"bitcoind at {self.url} answered {method} with something that is not JSON-RPC")
        return self._result(method, body)

    def batch(self, calls: list[tuple[str, list[Any]]], *, wallet: str | None = None,
              timeout: float | None = None) -> list[Any]:
        """Several calls in one request; each item is the result or the :class:`RpcError` it raised."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = self._post([{"jsonrpc": "1.0", "id": i, "method": m, "params": p} for i, (m, p) in zip(ids, calls)],
                          wallet=wallet, timeout=timeout, what=f"a batch of {len(calls)} calls")
        if not isinstance(body, list):
            if isinstance(body, dict) and body.get("error"):
                raise self._error(calls[0][0], body["error"])
            raise ChainUnavailable(f"bitcoind at {self.url} answered a batch with something that is not JSON-RPC")
        by_id = {item["id"]: item for item in body if isinstance(item, dict) and type(item.get("id")) is int}
        out: list[Any] = []
        for i, (method, _) in zip(ids, calls):
            item = by_id.get(i, {"error": {"code": RPC_MISC_ERROR, "message": "no answer in batch"}})
            try:
                out.append(self._result(method, item))
            except RpcError as exc:
                out.append(exc)
        return out

    def _result(self, method: str, body: dict) -> Any:
        if body.get("error"):
            raise self._error(method, body["error"])
        return body.get("result")

    def _error(self, method: str, error: Any) -> Exception:
        code = error.get("code") if isinstance(error, dict) else None
        code = code if type(code) is int else RPC_MISC_ERROR  # a code bitcoind never sends
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        if code == RPC_IN_WARMUP:
            return ChainUnavailable(f"bitcoind at {self.url} is still starting: {message}", hint="try again shortly")
        return rpc_error(method, code, message)


def btc_to_sat(value: Decimal | int | str) -> int:
    sat = Decimal(value) * 100_000_000
    if sat != sat.to_integral_value():
        raise ChainError(f"amount {value} BTC is not a whole number of satoshis")
    return int(sat)
