"""Several mints on one ledger (each its own connection, as separate processes have) racing."""

from __future__ import annotations

import threading
from typing import Callable


def race(mints: list, attempt: Callable, refused: type[Exception]) -> list[str]:
    """Run ``attempt(mint)`` on every mint at once; "ok" or "refused" per mint. Closes them."""
    barrier, outcomes = threading.Barrier(len(mints)), []

    def run(mint) -> None:
        barrier.wait()
        try:
            attempt(mint)
            outcomes.append("ok")
        except refused:
            outcomes.append("refused")

    threads = [threading.Thread(target=run, args=(m,)) for m in mints]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for mint in mints:
        mint.close()
    return sorted(outcomes)
