"""The per-account request budget: a sliding minute, first come first served, account-wide pauses."""

from __future__ import annotations

import asyncio

import pytest
from fake_time import FakeTime

from airflow_dbtcloud._transport.budget import RateBudget, RateBudgets, account_of
from airflow_dbtcloud._transport.config import ClientConfig


def budget(per_minute: float, time: FakeTime) -> RateBudget:
    return RateBudget(per_minute, time.clock, time.sleep)


async def test_no_minute_holds_more_than_the_budget():
    time = FakeTime()
    limited = budget(10, time)
    sent = []
    for _ in range(35):
        await limited.take()
        sent.append(time.now)
    assert sent[:10] == [0.0] * 10, "a burst within the budget goes at once"
    for i, at in enumerate(sent):
        # Landing up to a second later than counted still keeps any minute within the budget.
        in_window = [t for t in sent[: i + 1] if t > at - 61]
        assert len(in_window) <= 10, f"request {i} at {at}s makes {len(in_window)} in a minute"
    assert sent == [0.0] * 10 + [61.0] * 10 + [122.0] * 10 + [183.0] * 5
    assert limited.delayed == 3, "the first of each minute waited; the rest came after it"


async def test_waiting_requests_go_in_arrival_order():
    time = FakeTime()
    limited = budget(2, time)
    order: list[int] = []

    async def poll(i: int) -> None:
        await limited.take()
        order.append(i)

    await asyncio.gather(*(poll(i) for i in range(6)))
    assert order == list(range(6))


async def test_a_pause_holds_every_request_of_the_account():
    time = FakeTime()
    limited = budget(1000, time)
    await limited.take()
    limited.pause(30)
    await limited.take()
    assert time.now == 30.0


def test_a_budget_below_one_request_a_minute_is_refused():
    with pytest.raises(ValueError, match="requests_per_minute"):
        RateBudget(0.5)


def test_requests_are_counted_per_account():
    assert account_of("/api/v2/accounts/12/runs/5/") == "12"
    assert account_of("/api/v3/accounts/7/projects/") == "7"
    assert account_of("/api/v2/accounts/") == ""


async def test_clients_of_one_loop_share_the_accounts_budget_at_the_smallest_size():
    budgets = RateBudgets()
    generous = ClientConfig(base_url="https://a.example", token="t1", requests_per_minute=5000)
    careful = ClientConfig(base_url="https://a.example", token="t2", requests_per_minute=600)
    first = budgets.for_request(generous, "/api/v2/accounts/1/runs/")
    assert budgets.for_request(careful, "/api/v2/accounts/1/jobs/") is first
    assert first.per_minute == 600
    assert budgets.for_request(generous, "/api/v2/accounts/2/runs/") is not first
    other_host = ClientConfig(base_url="https://b.example", token="t1")
    assert budgets.for_request(other_host, "/api/v2/accounts/1/runs/") is not first
