from __future__ import annotations

import json

import pytest
from unit_payloads import TOKEN


@pytest.fixture
def dbt_conn(monkeypatch):
    """A dbt Cloud connection for account 7 on a cell host, given through the environment."""
    conn = {"conn_type": "dbt_cloud", "login": "7", "password": TOKEN, "host": "ab123.us1.dbt.com"}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    return conn


@pytest.fixture
def no_account_conn(monkeypatch):
    conn = {"conn_type": "dbt_cloud", "password": TOKEN, "host": "ab123.us1.dbt.com"}
    monkeypatch.setenv("AIRFLOW_CONN_DBT_CLOUD_DEFAULT", json.dumps(conn))
    return conn


@pytest.fixture
def hook(dbt_conn):
    """A hook on the unit-test connection that retries without waiting."""
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

    return DbtCloudHook(retry_delay=0)


@pytest.fixture
def emu(dbt_cloud_emulator, monkeypatch):
    """The session emulator, reset, with the default connection pointing at it."""
    for name, value in dbt_cloud_emulator.env().items():
        monkeypatch.setenv(name, value)
    return dbt_cloud_emulator


@pytest.fixture
def emu_hook(emu):
    """A hook on the emulator's connection that retries almost without waiting; closed afterwards."""
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

    hook = DbtCloudHook(retry_delay=0.01)
    yield hook
    hook.close()
