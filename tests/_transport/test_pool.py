"""The shared sessions: one per event loop and connection settings, counted, closed by the last user."""

from __future__ import annotations

import asyncio

from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.pool import PoolKey, SessionPool

CONFIG = ClientConfig(base_url="https://emea.dbt.com", token="token-one")


async def test_clients_with_the_same_settings_share_one_session_whatever_their_token():
    pool = SessionPool()
    other_token = ClientConfig(base_url="https://emea.dbt.com", token="token-two")
    first = pool.borrow(CONFIG)
    assert pool.borrow(other_token) is first
    assert pool.users(CONFIG) == 2
    assert "Authorization" not in first.session.headers
    await pool.give_back(CONFIG, first)
    assert not first.session.closed, "another client still uses it"
    await pool.give_back(other_token, first)
    assert first.session.closed
    assert pool.users(CONFIG) == 0


async def test_settings_that_change_the_connection_get_a_session_of_their_own():
    pool = SessionPool()
    first = pool.borrow(CONFIG)
    for different in (
        ClientConfig(base_url="https://cloud.getdbt.com", token="token-one"),
        ClientConfig(base_url="https://emea.dbt.com", token="token-one", read_timeout=5),
        ClientConfig(base_url="https://emea.dbt.com", token="token-one", proxies={"https": "http://p:3128"}),
        ClientConfig(base_url="https://emea.dbt.com", token="token-one", pool_size=2),
    ):
        assert PoolKey.of(different) != PoolKey.of(CONFIG)
        other = pool.borrow(different)
        assert other is not first
        await pool.give_back(different, other)
    await pool.give_back(CONFIG, first)


def test_each_event_loop_has_its_own_session():
    pool = SessionPool()

    async def borrow() -> object:
        return pool.borrow(CONFIG)

    async def borrow_and_give_back() -> object:
        lease = pool.borrow(CONFIG)
        await pool.give_back(CONFIG, lease)
        return lease

    first_loop = asyncio.new_event_loop()
    try:
        held = first_loop.run_until_complete(borrow())
        assert asyncio.run(borrow_and_give_back()) is not held, "a session never crosses loops"
        first_loop.run_until_complete(pool.give_back(CONFIG, held))  # type: ignore[arg-type]
        assert held.session.closed  # type: ignore[attr-defined]
    finally:
        first_loop.close()
