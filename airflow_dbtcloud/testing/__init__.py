"""A local emulator of the dbt Cloud Administrative API, for tests, demos and benchmarks.

It imports nothing from Airflow nor from the rest of this provider, so it stays an independent
referee of the client code. Start it with :func:`run_emulator`, the CLI
(``python -m airflow_dbtcloud.testing serve``) or the pytest fixtures ``dbt_cloud_emulator`` and
``dbt_cloud_emulator_server``.
"""

from __future__ import annotations

from airflow_dbtcloud.testing.config import DEFAULT_TOKEN, EmulatorConfig, JobConfig
from airflow_dbtcloud.testing.faults import KINDS as FAULT_KINDS
from airflow_dbtcloud.testing.faults import Fault
from airflow_dbtcloud.testing.lifecycle import CANCELLED, ERROR, QUEUED, RUNNING, STARTING, SUCCESS
from airflow_dbtcloud.testing.routes import FAULT_ROUTES
from airflow_dbtcloud.testing.server import Emulator, run_emulator

__all__ = [
    "CANCELLED",
    "DEFAULT_TOKEN",
    "ERROR",
    "FAULT_KINDS",
    "FAULT_ROUTES",
    "QUEUED",
    "RUNNING",
    "STARTING",
    "SUCCESS",
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "JobConfig",
    "run_emulator",
]
