"""Sharing one chain between processes over a UNIX socket.

The embedded chain belongs to the one process that holds its data directory (the headless
demo rig). :class:`ChainServer` serves that chain's ``Chain`` interface on a socket in the
data directory; :class:`RemoteChain`, opened by the CLI and the TUI in other processes, is a
``Chain`` that forwards every call there and raises the same typed errors. The wire format
is in :mod:`.wire`.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import stat
import threading
from pathlib import Path
from typing import Any

from ..fsutil import ensure_private_dir
from .errors import ChainError, ChainUnavailable
from .interface import DEFAULT_RANGE_END, Chain, HistoryEntry, Tip, TxStatus, Utxo
from .wire import (
    IDEMPOTENT_METHODS,
    MAX_REPLY_BYTES,
    MAX_REQUEST_BYTES,
    ChainProtocolError,
    Request,
    call_args,
    decode_reply,
    decode_request,
    decode_result,
    encode_error_reply,
    encode_reply,
    encode_request,
    encode_result,
    error_from_wire,
    mine_params,
)

log = logging.getLogger(__name__)

#: sun_path is 108 bytes on Linux (104 on the BSDs), including the terminating NUL
_MAX_SOCKET_PATH_BYTES = 103
SERVER_HINT = "is `custody-tui demo --headless` running?"


class ChainSocketInUse(ChainError):
    """Another chain server already listens on the socket path."""


def _check_path_length(path: Path) -> None:
    if len(os.fsencode(path)) > _MAX_SOCKET_PATH_BYTES:
        raise ChainError(f"chain socket path is too long for a UNIX socket ({len(os.fsencode(path))} bytes): {path}",
                         hint="use a shorter --data-dir")


def _someone_listens(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(2.0)
        probe.connect(os.fspath(path))
        return True
    except OSError:  # refused (stale file) or gone
        return False
    finally:
        probe.close()


class ChainServer:
    """Serve ``chain`` on ``socket_path`` (mode 0600) to :class:`RemoteChain` clients.

    One thread per connection; the served chain must be safe to call from several threads
    (both backends lock internally). Clients cannot close the served chain: its owner does,
    after :meth:`stop`.
    """

    def __init__(self, chain: Chain, socket_path: Path | str) -> None:
        self.chain = chain
        self.socket_path = Path(socket_path)
        self._listener: socket.socket | None = None
        self._bound_inode: int | None = None
        self._wake_read: socket.socket | None = None
        self._wake_write: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()

    def __enter__(self) -> "ChainServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle

    def start(self) -> None:
        if self._listener is not None:
            raise ChainError("the chain server is already started")
        if self._stopping.is_set():
            raise ChainError("a stopped chain server cannot be started again; make a new one")
        _check_path_length(self.socket_path)
        ensure_private_dir(self.socket_path.parent)
        self._refuse_live_or_foreign_file()
        self._listener = self._bind_private()
        self._wake_read, self._wake_write = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"chain-server {self.socket_path.name}",
                                          daemon=True)
        self._acceptor.start()

    def _refuse_live_or_foreign_file(self) -> None:
        try:
            mode = self.socket_path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ChainError(f"cannot serve the chain on {self.socket_path}: a file that is not a socket is there",
                             hint="move that file away")
        if _someone_listens(self.socket_path):
            raise ChainSocketInUse(f"a chain server already listens on {self.socket_path}",
                                   hint="stop the other custody-tui demo using this data directory")

    def _bind_private(self) -> socket.socket:
        # Bind under a temporary name, restrict it, then rename it into place: the socket is
        # never reachable with looser permissions, and a stale socket file is replaced atomically.
        temporary = self.socket_path.with_name(f".{self.socket_path.name}.{os.getpid()}")
        _check_path_length(temporary)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            temporary.unlink(missing_ok=True)
            listener.bind(os.fspath(temporary))
            os.chmod(temporary, 0o600)
            listener.listen(16)
            listener.setblocking(False)
            os.rename(temporary, self.socket_path)
            self._bound_inode = self.socket_path.lstat().st_ino
        except BaseException:
            listener.close()
            temporary.unlink(missing_ok=True)
            raise
        return listener

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, remove the socket file, hang up on clients and join their threads.

        A call in progress runs to the end and its client gets the answer; ``timeout`` bounds
        the wait for each thread.
        """
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._acceptor is None:
            return
        assert self._wake_write is not None and self._wake_read is not None
        self._wake_write.send(b"x")
        self._acceptor.join(timeout)
        assert self._listener is not None
        self._listener.close()
        self._remove_socket_file()
        with self._connections_lock:
            connections = dict(self._connections)
        for connection in connections:
            try:
                # wakes a thread blocked reading; one busy with a call still sends its reply
                connection.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        for thread in connections.values():
            thread.join(timeout)
        self._wake_read.close()
        self._wake_write.close()
        self._listener = None

    def _remove_socket_file(self) -> None:
        # Only our own socket: after a stale-file replacement elsewhere the path may be another server's.
        try:
            if self.socket_path.lstat().st_ino == self._bound_inode:
                self.socket_path.unlink()
        except FileNotFoundError:
            pass

    @property
    def client_count(self) -> int:
        with self._connections_lock:
            return len(self._connections)

    # -- serving

    def _accept_loop(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_read, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_read or self._stopping.is_set():
                        return
                    self._accept_one()

    def _accept_one(self) -> None:
        assert self._listener is not None
        try:
            connection, _ = self._listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            log.exception("chain server on %s could not accept a connection", self.socket_path)
            return
        connection.setblocking(True)
        thread = threading.Thread(target=self._serve_connection, args=(connection,), daemon=True,
                                  name=f"chain-client {self.socket_path.name}")
        with self._connections_lock:
            self._connections[connection] = thread
        thread.start()

    def _serve_connection(self, connection: socket.socket) -> None:
        try:
            with connection, connection.makefile("rb") as reader:
                while not self._stopping.is_set():
                    line = reader.readline(MAX_REQUEST_BYTES + 1)
                    if not line:
                        return
                    if len(line) > MAX_REQUEST_BYTES and not line.endswith(b"\n"):
                        if not _discard_rest_of_line(reader):
                            return
                        reply = encode_error_reply(None, ChainProtocolError(
                            f"request larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB refused"))
                    else:
                        reply = self._answer(line)
                    connection.sendall(reply)
        except OSError:
            pass  # the client went away (or stop() hung up on it)
        finally:
            with self._connections_lock:
                self._connections.pop(connection, None)

    def _answer(self, line: bytes) -> bytes:
        try:
            request = decode_request(line)
        except ChainProtocolError as exc:
            return encode_error_reply(exc.request_id, exc)
        try:
            return encode_reply(request.id, encode_result(request.method, self._call(request)))
        except ChainError as exc:
            return encode_error_reply(request.id, exc)
        except Exception as exc:  # a bug or an unexpected failure in the chain must not kill the server
            log.exception("chain server: %s failed", request.method)
            return encode_error_reply(request.id, ChainError(
                f"the chain server failed on {request.method}: {type(exc).__name__}: {exc}"))

    def _call(self, request: Request) -> Any:
        if request.method == "info":
            return {"backend_name": self.chain.backend_name, "network": self.chain.network}
        args, kwargs = call_args(request)
        return getattr(self.chain, request.method)(*args, **kwargs)


def _discard_rest_of_line(reader) -> bool:
    """Skip to the end of an oversized line; False when the client hung up first."""
    while True:
        chunk = reader.readline(64 * 1024)
        if not chunk:
            return False
        if chunk.endswith(b"\n"):
            return True


class RemoteChain:
    """A ``Chain`` served by a :class:`ChainServer` in another process.

    One connection, used by one call at a time (a lock makes the object safe to share between
    threads). A connection found broken is reopened once; a call that may have run on the
    server before the connection broke (broadcast, mine) is not resent. ``close`` hangs up; it
    never closes the served chain.
    """

    def __init__(self, socket_path: Path | str, *, timeout: float = 30.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._reader = None
        self._next_id = 0
        self._closed = False
        info = self._call("info")
        self.backend_name: str = info["backend_name"]
        self.network: str = info["network"]

    def __enter__(self) -> "RemoteChain":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteChain({str(self.socket_path)!r})"

    # -- the Chain interface

    def tip(self) -> Tip:
        return self._call("tip")

    def watch(self, descriptor: str, *, range_end: int = DEFAULT_RANGE_END, label: str = "") -> None:
        self._call("watch", {"descriptor": descriptor, "range_end": range_end, "label": label})

    def watched(self) -> list[str]:
        return self._call("watched")

    def utxos(self, descriptor: str | None = None) -> list[Utxo]:
        return self._call("utxos", {"descriptor": descriptor})

    def history(self, descriptor: str | None = None) -> list[HistoryEntry]:
        return self._call("history", {"descriptor": descriptor})

    def broadcast(self, raw_tx: bytes) -> str:
        return self._call("broadcast", {"raw_tx_hex": bytes(raw_tx).hex()})

    def tx_status(self, txid: str) -> TxStatus:
        return self._call("tx_status", {"txid": txid})

    def estimate_fee_rate(self, target_blocks: int) -> float:
        return self._call("estimate_fee_rate", {"target_blocks": target_blocks})

    def mine(self, n: int, address_or_script: str | bytes) -> list[str]:
        return self._call("mine", mine_params(n, address_or_script))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._disconnect()

    # -- the connection

    def _call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        with self._lock:
            if self._closed:
                raise ChainError(f"the connection to the chain server at {self.socket_path} is closed")
            self._next_id += 1
            request_id = self._next_id
            line = self._exchange(method, encode_request(request_id, method, params))
            try:
                reply = decode_reply(line)
            except ChainProtocolError:
                self._disconnect()
                raise self._unavailable("it answered with something that is not a chain server reply") from None
            if reply["id"] != request_id:
                self._disconnect()
                raise ChainProtocolError(f"the chain server at {self.socket_path} answered request "
                                         f"{reply['id']!r}, not {request_id}")
        if "error" in reply:
            raise error_from_wire(reply["error"])
        return decode_result(method, reply["result"])

    def _exchange(self, method: str, request: bytes) -> bytes:
        """Send one request and read its reply line, reconnecting once on a broken connection."""
        for attempt in (1, 2):
            sent = False
            try:
                if self._sock is None or self._peer_hung_up():
                    self._connect()
                assert self._sock is not None and self._reader is not None
                self._sock.sendall(request)
                sent = True
                line = self._reader.readline(MAX_REPLY_BYTES + 1)
            except TimeoutError:
                self._disconnect()
                raise self._unavailable(f"no answer to {method} within {self.timeout:g} s") from None
            except OSError as exc:
                self._disconnect()
                failure = f"the connection broke ({exc.strerror or type(exc).__name__})"
            else:
                if line.endswith(b"\n"):
                    return line
                self._disconnect()
                if len(line) > MAX_REPLY_BYTES:
                    raise ChainProtocolError(f"the chain server's answer to {method} is larger than "
                                             f"{MAX_REPLY_BYTES // (1024 * 1024)} MiB")
                failure = "the server hung up"
            if attempt == 2 or (sent and method not in IDEMPOTENT_METHODS):
                maybe = f"; {method} may or may not have run" if sent and method not in IDEMPOTENT_METHODS else ""
                raise self._unavailable(failure + maybe)
        raise AssertionError("unreachable")

    def _connect(self) -> None:
        self._disconnect()
        _check_path_length(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(os.fspath(self.socket_path))
        except FileNotFoundError:
            sock.close()
            raise self._unavailable("no socket there") from None
        except ConnectionRefusedError:
            sock.close()
            raise self._unavailable("nothing listens on it") from None
        except OSError as exc:
            sock.close()
            raise self._unavailable(exc.strerror or type(exc).__name__) from None
        self._sock = sock
        self._reader = sock.makefile("rb")

    def _peer_hung_up(self) -> bool:
        """Whether the server closed our idle connection (it restarted, or was stopped)."""
        assert self._sock is not None
        try:
            self._sock.setblocking(False)
            try:
                return self._sock.recv(1, socket.MSG_PEEK) == b""
            finally:
                self._sock.settimeout(self.timeout)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _disconnect(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._sock is not None:
            self._sock.close()
        self._sock = self._reader = None

    def _unavailable(self, why: str) -> ChainUnavailable:
        return ChainUnavailable(f"cannot use the chain server at {self.socket_path}: {why}", hint=SERVER_HINT)
