"""A NIP-46 client: what an ATM does with its ``bunker://`` URL (demo, tests, benchmark).

A fresh client key per device; requests go to the bunker key named in the URL, answers
are matched by request id.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any

from backends.bunker import nip44
from backends.bunker.errors import RelayError, RemoteSignerError
from backends.bunker.nostr import SecretKey, parse_event, sign_event
from backends.bunker.signer import KIND_NIP46
from backends.bunker.url import BunkerUrl


class BunkerClient:
    def __init__(self, url: BunkerUrl, key: SecretKey | None = None, *, timeout: float = 10.0,
                 kind: int = KIND_NIP46, target: str | None = None) -> None:
        self.url = url
        self.key = key or SecretKey.generate()
        self.timeout = timeout
        self.kind = kind
        self.target = target or url.signer_pubkey
        self._conversation = nip44.get_conversation_key(self.key.secret_bytes(), bytes.fromhex(self.target))
        self._pending: dict[str, asyncio.Future] = {}
        self._socket = None
        self._publisher = None
        self._reader: asyncio.Task | None = None

    async def __aenter__(self) -> BunkerClient:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        last_error: Exception | None = None
        for relay in self.url.relays:
            try:
                self._socket = await connect(relay, open_timeout=self.timeout, compression=None)
                # requests go out on a second connection: on one socket the relay's OK and
                # the answer follow each other, and a relay without TCP_NODELAY holds the
                # answer back for the delayed ACK of the OK (about 40 ms on Linux)
                self._publisher = await connect(relay, open_timeout=self.timeout, compression=None)
                self._drain = asyncio.create_task(self._discard(self._publisher))
                break
            except (OSError, asyncio.TimeoutError, ValueError, WebSocketException) as exc:
                # WebSocketException: something answers there, but not as a relay (an HTTP
                # server, a bad URI); try the next relay of the URL
                await self._close_sockets()
                last_error = exc
        if self._socket is None:
            raise RelayError(f"no relay of the bunker URL answers ({last_error})")
        subscription = "atm-" + secrets.token_hex(4)
        await self._socket.send(json.dumps(["REQ", subscription, {
            "kinds": [self.kind], "#p": [self.key.public_hex], "since": int(time.time()) - 5}]))
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._reader is not None:
            self._reader.cancel()
        await self._close_sockets()

    async def _close_sockets(self) -> None:
        for socket in (self._socket, self._publisher):
            if socket is not None:
                await socket.close()
        if self._publisher is not None:
            self._drain.cancel()
        self._socket = self._publisher = None

    @staticmethod
    async def _discard(socket) -> None:
        async for _ in socket:  # the relay's OK frames; read so its buffers never fill
            pass

    async def _read(self) -> None:
        async for message in self._socket:
            try:
                frame = json.loads(message)
                if frame[0] != "EVENT":
                    continue
                event = parse_event(frame[2])
                if event.pubkey != self.target:
                    continue
                answer = json.loads(nip44.decrypt(event.content, self._conversation))
            except Exception:  # noqa: BLE001 - not an answer for us
                continue
            if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
                continue  # decrypts but is no NIP-46 answer: the reader must go on
            future = self._pending.pop(answer["id"], None)
            if future is not None and not future.done():
                future.set_result(answer)

    async def send_raw(self, content: str, created_at: int | None = None) -> None:
        """Publish a kind-24133 event with any content (tests send malformed ones)."""
        from websockets.exceptions import WebSocketException

        event = sign_event(self.key, self.kind, content, [["p", self.target]],
                           created_at or int(time.time()))
        try:
            await self._publisher.send(json.dumps(["EVENT", event.to_dict()]))
        except WebSocketException as exc:
            raise RelayError(f"the relay connection was lost ({exc})") from None

    async def request(self, method: str, params: list[str]) -> str:
        request_id = secrets.token_hex(8)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        body = json.dumps({"id": request_id, "method": method, "params": params})
        await self.send_raw(nip44.encrypt(body, self._conversation))
        try:
            answer = await asyncio.wait_for(future, self.timeout)
        except asyncio.TimeoutError:
            self._pending.pop(request_id, None)
            raise RemoteSignerError(f"the bunker did not answer {method} within {self.timeout:.0f}s") from None
        if answer.get("error"):
            raise RemoteSignerError(f"the bunker refused {method}: {answer['error']}")
        return answer.get("result", "")

    async def connect(self) -> str:
        return await self.request("connect", [self.url.signer_pubkey, self.url.secret or ""])

    async def get_public_key(self) -> str:
        return await self.request("get_public_key", [])

    async def sign_event(self, kind: int, content: str, tags: list | None = None) -> dict[str, Any]:
        template = {"kind": kind, "content": content, "tags": tags or [], "created_at": int(time.time())}
        signed = json.loads(await self.request("sign_event", [json.dumps(template)]))
        parse_event(signed)  # the bunker's signature must verify
        return signed
