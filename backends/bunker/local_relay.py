"""A nostr relay on loopback for the demo rig, the tests and the benchmark.

It is rust-nostr's relay builder (``nostr-sdk``'s ``LocalRelay``), run on its own thread
and event loop. Its default rate limit (about 60 events a minute per connection) would
silently throttle a burst of NIP-46 requests, so it is raised here.
"""

from __future__ import annotations

import asyncio
import threading

from backends.bunker.errors import RelayError

EVENTS_PER_MINUTE = 1_000_000
MAX_SUBSCRIPTIONS = 1000


class LocalRelay:
    """``with LocalRelay() as relay: relay.url`` — started on a free port, always stopped."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self._host, self._port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._relay = None
        self.url = ""

    def start(self) -> LocalRelay:
        ready = threading.Event()
        failure: list[BaseException] = []

        async def run() -> None:
            import nostr_sdk

            builder = nostr_sdk.LocalRelayBuilder().addr(self._host)
            if self._port:
                builder = builder.port(self._port)
            builder = builder.rate_limit(nostr_sdk.RateLimit(max_reqs=MAX_SUBSCRIPTIONS,
                                                             notes_per_minute=EVENTS_PER_MINUTE))
            self._relay = builder.build()
            await self._relay.run()
            self.url = str(await self._relay.url())

        def thread_main() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(run())
            except BaseException as exc:  # reported to start(); the thread ends
                failure.append(exc)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=thread_main, name="local-relay", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure or not self.url:
            reason = f"{type(failure[0]).__name__}: {failure[0]}" if failure else "it did not start in time"
            raise RelayError(f"the local relay could not start on {self._host}: {reason}")
        return self

    def stop(self) -> None:
        if self._relay is not None:
            self._relay.shutdown()
            self._relay = None
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> LocalRelay:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
