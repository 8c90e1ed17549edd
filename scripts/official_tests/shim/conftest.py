"""Root conftest for running the official dbt Cloud provider's unit tests (see scripts/official_tests.py).

It only loads our stand-in for Airflow's ``tests_common`` pytest plugin.
"""

from __future__ import annotations

pytest_plugins = "tests_common.pytest_plugin"
