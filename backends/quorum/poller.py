"""The status poller: one background thread per coordinator that reads every signer,
keeps the newest ``SignerStatus``, and re-arms a rebooted signer (auto-heal)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: failing checks auto-heal can fix without a person: the device is there, it is ours,
#: it only lost HSM mode (or the wallet) to a power cycle
HEALABLE = ("hsm active", "wallet enrolled")


@dataclass
class HealTracker:
    """Cooldown and attempt cap of auto-heal, per signer. A signer that comes back live
    starts afresh; one that used up its attempts waits for an operator's ``arm``."""

    cooldown_seconds: float
    max_attempts: int
    attempts: dict[str, int] = field(default_factory=dict)
    last_try: dict[str, float] = field(default_factory=dict)

    def due(self, name: str, now: float) -> bool:
        if self.attempts.get(name, 0) >= self.max_attempts:
            return False
        return now - self.last_try.get(name, float("-inf")) >= self.cooldown_seconds

    def tried(self, name: str, now: float) -> int:
        self.attempts[name] = self.attempts.get(name, 0) + 1
        self.last_try[name] = now
        return self.attempts[name]

    def reset(self, name: str) -> None:
        self.attempts.pop(name, None)
        self.last_try.pop(name, None)


class StatusPoller:
    """Calls ``coordinator.poll_once()`` every ``interval`` seconds until stopped. The next
    round is scheduled after the previous one ends, so rounds never pile up."""

    def __init__(self, coordinator, interval: float, *, heal: bool = True) -> None:
        self.coordinator = coordinator
        self.interval = interval
        self.heal = heal
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quorum-poller", daemon=True)

    def start(self) -> StatusPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.coordinator.poll_once(heal=self.heal)
            except Exception:  # a poller that dies silently would leave a stale screen
                log.exception("quorum status poll failed")
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))
