"""One websocket link to a relay: subscribe, receive, publish, reconnect with backoff.

Relays drop connections (LocalRelay resets one after 6000 events) and devices reboot,
so a link never gives up: it reconnects with exponential backoff, resubscribes, and
reports each change of state to its owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

MIN_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 30.0
MAX_MESSAGE_BYTES = 512 * 1024


class RelayLink:
    def __init__(
        self,
        url: str,
        filters: Callable[[], list[dict[str, Any]]],
        on_event: Callable[[dict[str, Any]], Awaitable[None]],
        on_status: Callable[[str, str], None] = lambda url, status: None,
    ) -> None:
        self.url = url
        self._filters = filters
        self._on_event = on_event
        self._on_status = on_status
        self._socket = None
        self._subscription = "bunker-" + secrets.token_hex(4)
        self.status = "connecting"
        self.connected = asyncio.Event()

    def _set_status(self, status: str) -> None:
        self.status = status
        self._on_status(self.url, status)

    async def run(self) -> None:
        """Until cancelled: connect, subscribe, dispatch events; on any failure, retry."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        backoff = MIN_BACKOFF_SECONDS
        while True:
            try:
                # replies go out on a second connection: a relay without TCP_NODELAY would
                # otherwise hold the next request behind the OK of our last reply until
                # our delayed ACK (about 40 ms on Linux)
                async with connect(self.url, max_size=MAX_MESSAGE_BYTES, open_timeout=10,
                                   compression=None) as socket, \
                        connect(self.url, max_size=MAX_MESSAGE_BYTES, open_timeout=10,
                                compression=None) as publisher:
                    self._socket = publisher
                    drain = asyncio.create_task(self._read_acknowledgements(publisher))
                    await socket.send(json.dumps(["REQ", self._subscription, *self._filters()]))
                    self.connected.set()
                    self._set_status("connected")
                    backoff = MIN_BACKOFF_SECONDS
                    try:
                        async for message in socket:
                            await self._dispatch(message)
                    finally:
                        drain.cancel()
                reason = "closed by the relay"
            except (OSError, WebSocketException, asyncio.TimeoutError, ValueError) as exc:
                # ValueError: a URL websockets cannot parse (a port out of range); it stays
                # this link's failure, never the end of the service's other links
                reason = str(exc) or type(exc).__name__
            finally:
                self._socket = None
                self.connected.clear()
            self._set_status(f"disconnected ({reason}); retrying in {backoff:.1f}s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _read_acknowledgements(self, publisher) -> None:
        from websockets.exceptions import WebSocketException

        try:
            async for message in publisher:
                await self._dispatch(message)
        except WebSocketException:
            pass

    async def _dispatch(self, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(frame, list) or not frame:
            return
        if frame[0] == "EVENT" and len(frame) == 3 and frame[1] == self._subscription:
            await self._on_event(frame[2])
        elif frame[0] == "OK" and len(frame) >= 3 and frame[2] is False:
            log.warning("relay %s refused event %s: %s", self.url, frame[1], frame[3] if len(frame) > 3 else "")
        elif frame[0] == "CLOSED":
            log.warning("relay %s closed the subscription: %s", self.url, frame[2:] or "")

    async def publish(self, event: dict[str, Any]) -> bool:
        """Send an event; False when the link is down (the device will ask again)."""
        socket = self._socket
        if socket is None:
            return False
        try:
            await socket.send(json.dumps(["EVENT", event]))
        except Exception:  # a dying connection: run() reconnects  # noqa: BLE001
            return False
        return True
