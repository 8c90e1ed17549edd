"""A DAG file that uses the operators, the sensor or the trigger does not import the hook.

The hook module brings ``HttpHook``, ``requests`` and ``aiohttp``, which only a running task needs; the
glue modules serve ``DbtCloudHook`` on first use (:mod:`airflow_dbtcloud.hooks.lazy`) and look it up
through their own namespace when they build one, so patching ``<glue module>.DbtCloudHook`` keeps working.
Each check that depends on what was imported before runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from unittest import mock

import pytest

import airflow_dbtcloud.operators.dbt as operators_dbt
import airflow_dbtcloud.sensors.dbt as sensors_dbt
import airflow_dbtcloud.triggers.dbt as triggers_dbt
from airflow_dbtcloud.hooks.dbt import DbtCloudHook
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger

GLUE_MODULES = (
    "airflow_dbtcloud.operators.dbt",
    "airflow_dbtcloud.operators.artifacts",
    "airflow_dbtcloud.operators.listing",
    "airflow_dbtcloud.operators.assets",
    "airflow_dbtcloud.sensors.dbt",
    "airflow_dbtcloud.triggers.dbt",
)
RUN_TIME_ONLY = ("aiohttp", "requests", "airflow_dbtcloud.hooks.dbt", "airflow.providers.http.hooks.http")


def run_fresh(code: str) -> object:
    """Run ``code`` in a new interpreter and return the JSON it prints last."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_glue_modules_imports_no_hook_and_no_http_library():
    imported = run_fresh(
        f"""
        import importlib, json, sys
        import airflow.sdk
        for module in {GLUE_MODULES!r}:
            importlib.import_module(module)
        print(json.dumps([name for name in {RUN_TIME_ONLY!r} if name in sys.modules]))
        """
    )
    assert imported == []


def test_a_patch_made_before_the_hook_was_ever_imported_is_what_the_glue_uses():
    outcome = run_fresh(
        """
        import asyncio, json
        from unittest import mock

        from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
        from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor
        from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger

        seen = {}
        with mock.patch("airflow_dbtcloud.operators.dbt.DbtCloudHook") as factory:
            seen["operator"] = DbtCloudRunJobOperator(task_id="run", job_id=1).hook is factory.return_value
        with mock.patch("airflow_dbtcloud.sensors.dbt.DbtCloudHook") as factory:
            seen["sensor"] = DbtCloudJobRunSensor(task_id="wait", run_id=1).hook is factory.return_value

        hook = mock.MagicMock()
        hook.__aenter__.return_value = hook
        hook.live_progress.return_value = None
        hook.get_job_status = mock.AsyncMock(return_value=10)

        async def events(trigger):
            return [event.payload async for event in trigger.run()]

        trigger = DbtCloudRunJobTrigger(conn_id="c", run_id=5, end_time=4e9, poll_interval=1, account_id=1)
        with mock.patch("airflow_dbtcloud.triggers.dbt.DbtCloudHook", return_value=hook) as factory:
            seen["trigger"] = asyncio.run(events(trigger))[0]["status"] == "success" and factory.called

        # Once a patch ends, the real class is what the modules hold.
        from airflow_dbtcloud.hooks.dbt import DbtCloudHook
        import airflow_dbtcloud.operators.dbt as operators, airflow_dbtcloud.sensors.dbt as sensors
        import airflow_dbtcloud.triggers.dbt as triggers
        seen["restored"] = all(m.DbtCloudHook is DbtCloudHook for m in (operators, sensors, triggers))
        print(json.dumps(seen))
        """
    )
    assert outcome == {"operator": True, "sensor": True, "trigger": True, "restored": True}


@pytest.mark.parametrize("module", [operators_dbt, sensors_dbt, triggers_dbt], ids=lambda m: m.__name__)
def test_the_glue_serves_the_hook_module_objects(module):
    assert module.DbtCloudHook is DbtCloudHook
    assert DbtCloudHook.default_conn_name == "dbt_cloud_default"
    with pytest.raises(AttributeError, match="no attribute 'NotAName'"):
        module.NotAName  # noqa: B018


async def test_patching_the_glue_module_reaches_the_operator_sensor_and_trigger():
    with mock.patch(f"{operators_dbt.__name__}.DbtCloudHook") as factory:
        assert DbtCloudRunJobOperator(task_id="run", job_id=1).hook is factory.return_value
        factory.assert_called_once_with("dbt_cloud_default")
    with mock.patch(f"{sensors_dbt.__name__}.DbtCloudHook") as factory:
        assert DbtCloudJobRunSensor(task_id="wait", run_id=1).hook is factory.return_value
    hook = mock.MagicMock()
    hook.__aenter__.return_value = hook
    hook.live_progress.return_value = None
    hook.get_job_status = mock.AsyncMock(return_value=10)
    trigger = DbtCloudRunJobTrigger(conn_id="c", run_id=5, end_time=4e9, poll_interval=1, account_id=1)
    with mock.patch(f"{triggers_dbt.__name__}.DbtCloudHook", return_value=hook) as factory:
        events = [event.payload async for event in trigger.run()]
    factory.assert_called_once_with("c")
    assert events[0]["status"] == "success"
