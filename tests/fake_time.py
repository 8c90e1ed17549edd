"""A clock for tests of code that waits: it moves only when the code sleeps on it."""

from __future__ import annotations

import asyncio


class FakeTime:
    """Monotonic seconds that advance by exactly what was slept, so waits take no real time."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        """The current fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance the clock instead of waiting, letting other tasks run once."""
        self.now += seconds
        await asyncio.sleep(0)
