"""The one clock every wait in wi-migrator goes through.

Retries, Retry-After, rollout waits, credential propagation and lease expiry all call
``clock.sleep`` / ``clock.monotonic`` / ``clock.now`` on a ``Clock`` handed down from the CLI,
so tests swap in a ``ManualClock`` and a timeout of ten minutes runs in microseconds.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the product needs of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    def now(self) -> _dt.datetime:
        """Wall-clock time, timezone-aware UTC."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""

    async def asleep(self, seconds: float) -> None:
        """Wait ``seconds`` in a coroutine."""


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class ManualClock:
    """Virtual time for tests: ``sleep`` advances the clock instantly instead of waiting.

    Thread-safe; local test servers may share the instance to judge token and lease expiry on
    the same time line as the code under test.
    """

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._t = 0.0
        self._start = start or _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._start + _dt.timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)
