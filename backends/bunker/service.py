"""The running bunker: a RemoteSigner listening on every configured relay.

``run()`` is a coroutine for an event loop; ``start()``/``stop()`` run it on a thread
of its own for the app and the demo rig. Replies go out on every connected relay (a
device listens on at least one of them).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.bunker.relay import RelayLink
from backends.bunker.signer import KIND_ADMIN, KIND_NIP46, RemoteSigner

#: where a running bunker reports its relay states, in the data dir
STATUS_FILE_NAME = "bunker-status.json"
#: how far back a (re)subscription looks; replays are de-duplicated by event id
SINCE_WINDOW_SECONDS = 30


class BunkerService:
    def __init__(
        self,
        signer: RemoteSigner,
        relays: tuple[str, ...],
        on_status: Callable[[str, str], None] | None = None,
        status_file: Path | None = None,
    ) -> None:
        self.signer = signer
        self.relays = relays
        self.status: dict[str, str] = {url: "connecting" for url in relays}
        self._on_status = on_status
        self._status_file = status_file
        self._links: list[RelayLink] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task | None = None

    def _filters(self) -> list[dict[str, Any]]:
        since = int(self.signer.store.now()) - SINCE_WINDOW_SECONDS
        return [{"kinds": [KIND_NIP46, KIND_ADMIN], "#p": self.signer.listen_pubkeys(), "since": since}]

    def _status_changed(self, url: str, status: str) -> None:
        self.status[url] = status
        if self._status_file is not None:
            write_status(self._status_file, self.status)
        if self._on_status is not None:
            self._on_status(url, status)

    async def _on_event(self, raw: dict[str, Any]) -> None:
        reply = self.signer.handle(raw)
        if reply is not None:
            payload = reply.to_dict()
            for link in self._links:
                await link.publish(payload)

    async def run(self) -> None:
        self._links = [RelayLink(url, self._filters, self._on_event, self._status_changed) for url in self.relays]
        await asyncio.gather(*(link.run() for link in self._links))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(asyncio.gather(*(link.connected.wait() for link in self._links)), timeout)

    # -- on a thread of its own -------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> BunkerService:
        ready = threading.Event()

        async def main() -> None:
            self._task = asyncio.current_task()
            runner = asyncio.ensure_future(self.run())
            await asyncio.sleep(0)
            try:
                await self.wait_connected(timeout)
            except asyncio.TimeoutError:
                pass  # reported through status; the links keep retrying
            ready.set()
            await runner

        def thread_main() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(main())
            except asyncio.CancelledError:
                pass
            finally:
                ready.set()
                self._loop.close()

        self._thread = threading.Thread(target=thread_main, name="bunker", daemon=True)
        self._thread.start()
        ready.wait(timeout + 5)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._task is not None:
            def cancel_all() -> None:
                for task in asyncio.all_tasks(self._loop):
                    task.cancel()
            self._loop.call_soon_threadsafe(cancel_all)
        if self._thread is not None:
            self._thread.join(10)
        self._thread = None
        if self._status_file is not None:
            write_status(self._status_file, {url: "bunker stopped" for url in self.relays})


def write_status(path: Path, status: dict[str, str]) -> None:
    """Relay states for other processes (the Bunker screen of an app beside the service)."""
    from backends.fsutil import atomic_write

    try:
        atomic_write(path, json.dumps(status).encode(), mode=0o600)
    except OSError:
        pass  # status is a courtesy; signing goes on


def read_status(path: Path) -> dict[str, str]:
    """What the last bunker on this data dir reported; empty when none ran."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
