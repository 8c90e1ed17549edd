"""pytest fixtures for the dbt Cloud emulator (registered through the ``pytest11`` entry point).

``dbt_cloud_emulator_server`` starts one emulator per session; ``dbt_cloud_emulator`` resets it before
each test and yields it. Override the session fixture ``dbt_cloud_emulator_config`` to serve another
configuration. Nothing here imports Airflow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_dbtcloud.testing.server import Emulator


@pytest.fixture(scope="session")
def dbt_cloud_emulator_config() -> Any:
    """Configuration of the session emulator: None (the default), a mapping, a path or an EmulatorConfig."""
    return None


@pytest.fixture(scope="session")
def dbt_cloud_emulator_server(dbt_cloud_emulator_config: Any) -> Iterator[Emulator]:
    """One emulator for the whole session (imported lazily so collection never pays for it).

    :param dbt_cloud_emulator_config: The configuration fixture.
    """
    from airflow_dbtcloud.testing.server import run_emulator

    with run_emulator(dbt_cloud_emulator_config) as emu:
        yield emu


@pytest.fixture
def dbt_cloud_emulator(dbt_cloud_emulator_server: Emulator) -> Emulator:
    """The session emulator, reset to its initial state (no runs, faults, journal or counters).

    :param dbt_cloud_emulator_server: The session emulator.
    """
    dbt_cloud_emulator_server.reset()
    return dbt_cloud_emulator_server
