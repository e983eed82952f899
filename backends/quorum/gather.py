"""Asking signers in parallel until ``threshold`` of them have answered yes: the first
``threshold`` live signers at once, then one spare for each refusal, timeout or failure.

Used by the spend (PSBT signatures) and proof of control (message signatures) alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

from backends.errors import CustodyError

from .errors import SpendRefused
from .events import DeviceResult, Failed, Refusal, Step


def ending_in_failed(operation: Iterator) -> Iterator:
    """An operation's events; an expected failure becomes its last event, ``Failed``."""
    try:
        final = yield from operation
    except SpendRefused as exc:
        yield Failed(str(exc), exc.refusals, exc.hint)
        return
    except CustodyError as exc:
        yield Failed(str(exc), hint=exc.hint)
        return
    yield final


def live_signers(coordinator) -> Iterator[Step]:
    """Read every signer now; returns (live names, reasons of the others), or raises
    ``SpendRefused`` when fewer than the threshold are live (no device is asked then)."""
    yield Step("status", "reading the signers")
    statuses = coordinator.refresh()
    live = [s.name for s in statuses if s.live]
    not_live = {s.name: ("disabled" if not s.enabled else f"not live: {s.problem}") for s in statuses if not s.live}
    threshold = coordinator.spec.threshold
    if len(live) < threshold:
        raise SpendRefused(f"only {len(live)} signer(s) live; the quorum needs {threshold}",
                           refusals=not_live, hint="arm or enable signers (quorum status says why each is out)")
    return live, not_live


def gather(names: list[str], threshold: int, ask: Callable[[str], Any],
           results: dict[str, Any], problems: dict[str, str], *,
           no_spare_after: Callable[[str], bool] = lambda _reason: False) -> Iterator[Step | DeviceResult | Refusal]:
    """Fill ``results`` (signer -> answer) with up to ``threshold`` answers and ``problems``
    (signer -> reason) with every failure, yielding an event per answer. ``ask`` raises
    ``SigningRefused`` for a policy refusal and another ``CustodyError`` for anything else.
    A refusal for which ``no_spare_after(reason)`` holds (every signer would refuse it the
    same way) asks no spare: each refusal counts on a device."""
    from backends.coldcard.errors import SigningRefused

    spares = list(names[threshold:])
    with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
        started: dict = {}

        def start(name: str) -> None:
            started[pool.submit(_timed, ask, name)] = name

        for name in names[:threshold]:
            start(name)
        while started:
            done, _ = wait(started, return_when=FIRST_COMPLETED)
            for future in done:
                name = started.pop(future)
                try:
                    answer, seconds = future.result()
                except SigningRefused as exc:
                    problems[name] = exc.reason or str(exc)
                    yield Refusal(name, problems[name])
                    if no_spare_after(problems[name]):
                        spares.clear()
                except CustodyError as exc:
                    problems[name] = str(exc)
                    yield DeviceResult(name, False, str(exc))
                else:
                    results[name] = answer
                    yield DeviceResult(name, True, "signed", seconds)
                    continue
                if spares and len(results) + len(started) < threshold:
                    spare = spares.pop(0)
                    yield Step("failover", f"{name} did not sign; asking {spare}")
                    start(spare)


def _timed(ask: Callable[[str], Any], name: str) -> tuple[Any, float]:
    began = time.perf_counter()
    return ask(name), time.perf_counter() - began
