"""The one clock every wait in wi-migrator goes through.

Retries, Retry-After, rollout waits, credential propagation and lease expiry all call
``clock.sleep`` / ``clock.monotonic`` / ``clock.now`` on a ``Clock`` handed down from the CLI,
and per-request deadlines use ``clock.timeout``, so tests swap in a ``ManualClock`` and a timeout
of ten minutes runs in microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
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

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        """``async with``: the block is cancelled with ``TimeoutError`` once ``seconds`` have passed."""


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

    def timeout(self, seconds: float) -> AbstractAsyncContextManager[object]:
        return asyncio.timeout(seconds)


class ManualClock:
    """Virtual time for tests: ``sleep`` advances the clock instantly instead of waiting.

    Thread-safe; local test servers may share the instance to judge token and lease expiry on
    the same time line as the code under test. A ``timeout`` expires when the clock is advanced
    past it (by the test, a server sharing the clock, or a ``sleep``), never by real time passing.
    """

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._t = 0.0
        self._start = start or _dt.datetime(2026, 1, 1, tzinfo=_dt.UTC)
        self.sleeps: list[float] = []
        self._deadlines: dict[object, tuple[float, Callable[[], object]]] = {}

    def monotonic(self) -> float:
        with self._lock:
            return self._t

    def now(self) -> _dt.datetime:
        with self._lock:
            return self._start + _dt.timedelta(seconds=self._t)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += max(0.0, seconds)
            due = [key for key, (when, _) in self._deadlines.items() if when <= self._t]
            fired = [self._deadlines.pop(key)[1] for key in due]
        for fire in fired:
            fire()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)

    @contextlib.asynccontextmanager
    async def timeout(self, seconds: float) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        key = object()
        async with asyncio.timeout(None) as deadline:
            inside = True

            def expire() -> None:  # on the loop's thread, like the block's own exit
                if inside:
                    deadline.reschedule(loop.time())

            with self._lock:
                self._deadlines[key] = (self._t + max(0.0, seconds), lambda: loop.call_soon_threadsafe(expire))
            self.advance(0.0)  # a zero or negative timeout is already due
            try:
                yield
            finally:
                inside = False
                with self._lock:
                    self._deadlines.pop(key, None)
