"""One request budget per dbt Cloud account per event loop, shared by every async client in a process.

dbt Cloud allows an account a number of API requests per minute (5,000 at the time of writing) and
answers 429 beyond it, which slows every client of the account, not only the one that overdid it. A
triggerer with a thousand deferred runs can get there alone. So every async request first takes a
place in its account's :class:`RateBudget`: at most ``requests_per_minute`` requests in any 60 seconds
(a sliding window, so a short burst is fine and a long one is spread out); a request beyond it waits
for a place and is never dropped. When dbt Cloud answers 429 with ``Retry-After``, the whole account
pauses that long, not only the request that got the answer.
"""

from __future__ import annotations

import asyncio
import re
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable

from airflow_dbtcloud._transport.config import ClientConfig

__all__ = ["RateBudget", "RateBudgets", "account_of", "shared_budgets"]

WINDOW_SECONDS = 60.0
#: How much longer than its window a budget counts, for the time a request takes to reach dbt Cloud.
GUARD_SECONDS = 1.0
_ACCOUNT = re.compile(r"/accounts/(\d+)(?:/|$)")


def account_of(path: str) -> str:
    """The account an API path belongs to (its id), or ``""`` for paths outside any account.

    :param path: e.g. ``/api/v2/accounts/1/runs/5/``.
    """
    found = _ACCOUNT.search(path)
    return found.group(1) if found else ""


class RateBudget:
    """At most ``per_minute`` requests in any ``window_seconds``, in arrival order, with account-wide pauses.

    :param per_minute: The budget.
    :param window_seconds: The window the budget counts over: a minute, except in tests that cannot
        wait one.
    :param guard_seconds: Added to the window, for the time a request takes to land.
    :param clock: Monotonic seconds (a test's clock instead of ``time.monotonic``).
    :param sleep: How to wait (a test's instead of ``asyncio.sleep``).
    """

    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        window_seconds: float = WINDOW_SECONDS,
        guard_seconds: float = GUARD_SECONDS,
    ) -> None:
        if per_minute < 1:
            raise ValueError(f"requests_per_minute must be at least 1, got {per_minute!r}")
        self.per_minute = int(per_minute)
        # dbt Cloud counts a request when it lands, a little after it was counted here; counting over a
        # slightly longer window keeps dbt Cloud's count within the budget too. Measured at the
        # emulator without it: 2,502 requests in the busiest minute for a budget of 2,500.
        self.window = window_seconds + guard_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        # Takers queue on the lock (first come, first served); only the one at the front sleeps.
        self._lock = asyncio.Lock()
        #: Requests that had to wait for their place.
        self.delayed = 0

    def lower_to(self, per_minute: float) -> None:
        """Shrink the budget when another client of the account asks for less (never grows it).

        :param per_minute: The other client's budget.
        """
        self.per_minute = min(self.per_minute, max(1, int(per_minute)))

    def pause(self, seconds: float) -> None:
        """Hold every request of the account for ``seconds`` (dbt Cloud's ``Retry-After``).

        :param seconds: How long.
        """
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def take(self) -> None:
        """Wait for a place in the budget, then count the request as sent."""
        async with self._lock:
            started = self._clock()
            while True:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                wait = self._paused_until - now
                if len(self._sent) >= self.per_minute:
                    wait = max(wait, self._sent[0] + self.window - now)
                if wait <= 0:
                    self._sent.append(now)
                    if now > started:
                        self.delayed += 1
                    return
                await self._sleep(wait)


class RateBudgets:
    """The budgets of a process, by event loop, base URL and account.

    :param clock: Monotonic seconds for the budgets it creates (a test's clock).
    :param sleep: How those budgets wait (a test's instead of ``asyncio.sleep``).
    :param window_seconds: The window those budgets count over (a minute, except in tests).
    :param guard_seconds: Added to that window, for the time a request takes to land.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        window_seconds: float = WINDOW_SECONDS,
        guard_seconds: float = GUARD_SECONDS,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._window = window_seconds
        self._guard = guard_seconds
        self._budgets: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[tuple[str, str], RateBudget]
        ] = weakref.WeakKeyDictionary()

    def for_request(self, config: ClientConfig, path: str) -> RateBudget:
        """The budget a request to ``path`` takes its place in, on the running loop.

        :param config: The client's configuration (its ``requests_per_minute`` and base URL).
        :param path: The request's path, which names the account.
        """
        budgets = self._budgets.setdefault(asyncio.get_running_loop(), {})
        key = (config.base_url, account_of(path))
        budget = budgets.get(key)
        if budget is None:
            budget = budgets[key] = RateBudget(
                config.requests_per_minute, self._clock, self._sleep, self._window, self._guard
            )
        else:
            budget.lower_to(config.requests_per_minute)
        return budget


#: The process's budgets, used by every :class:`~airflow_dbtcloud._transport.client.AsyncClient`.
shared_budgets = RateBudgets()
