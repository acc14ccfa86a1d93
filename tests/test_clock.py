"""ManualClock.timeout: a deadline that expires when the manual clock passes it, never in real time."""

from __future__ import annotations

import asyncio
import threading

import pytest

from migrator.clock import ManualClock, SystemClock


def test_a_timeout_fires_when_another_thread_advances_the_clock_past_it() -> None:
    clock = ManualClock()
    entered = threading.Event()

    async def wait_forever() -> None:
        async with clock.timeout(30):
            entered.set()
            await asyncio.Event().wait()

    advancer = threading.Thread(target=lambda: (entered.wait(), clock.advance(29), clock.advance(1)))
    advancer.start()
    with pytest.raises(TimeoutError):
        asyncio.run(wait_forever())
    advancer.join()
    assert clock.monotonic() == 30 and not clock._deadlines


def test_a_timeout_not_reached_lets_the_block_finish_and_is_forgotten() -> None:
    clock = ManualClock()

    async def quick() -> str:
        async with clock.timeout(30):
            await clock.asleep(29.5)  # a sleep inside the block advances the clock too
            return "done"

    assert asyncio.run(quick()) == "done"
    assert not clock._deadlines
    clock.advance(3600)  # nothing left to fire


def test_a_sleep_elsewhere_on_the_loop_expires_a_deadline_it_passes() -> None:
    clock = ManualClock()

    async def main() -> list[str]:
        async def request() -> str:
            try:
                async with clock.timeout(10):
                    await asyncio.Event().wait()
            except TimeoutError:
                return "timed out"
            return "answered"

        async def backoff() -> str:
            await asyncio.sleep(0)
            await clock.asleep(12)
            return "slept"

        return list(await asyncio.gather(request(), backoff()))

    assert asyncio.run(main()) == ["timed out", "slept"]


def test_a_zero_timeout_is_already_due() -> None:
    clock = ManualClock()

    async def main() -> None:
        async with clock.timeout(0):
            await asyncio.sleep(3600)

    with pytest.raises(TimeoutError):
        asyncio.run(main())


def test_the_system_clock_timeout_is_a_real_asyncio_timeout() -> None:
    async def main() -> None:
        deadline = SystemClock().timeout(0)
        assert isinstance(deadline, asyncio.Timeout)
        async with deadline:
            await asyncio.Event().wait()

    with pytest.raises(TimeoutError):
        asyncio.run(main())
