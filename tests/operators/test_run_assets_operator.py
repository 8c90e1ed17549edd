"""DbtCloudRunAssetsOperator: the asset events of a run whose own task failed."""

from __future__ import annotations

import pytest
from airflow.sdk import AssetAlias
from airflow.sdk.exceptions import AirflowSkipException
from airflow.sdk.execution_time.context import OutletEventAccessors
from glue_doubles import ORDERS_URI, hook_double, run_build

from airflow_dbtcloud.hooks.dbt import DbtCloudConfigError
from airflow_dbtcloud.operators.assets import DbtCloudRunAssetsOperator


def make(**kwargs):
    operator = DbtCloudRunAssetsOperator(task_id="assets", **{"run_id": "11", "job_id": 300, **kwargs})
    hook = hook_double()
    hook.get_job_run_status.return_value = 20
    hook.get_run_build.return_value = run_build()
    operator.__dict__["hook"] = hook
    return operator, hook, {"outlet_events": OutletEventAccessors()}


def test_it_declares_the_jobs_alias_so_airflow_records_its_events():
    operator, _, _ = make()
    assert operator.outlets == [AssetAlias("dbt_cloud__job_300")]


def test_a_failed_run_gets_the_events_of_what_it_built():
    operator, hook, context = make()
    assert operator.execute(context) == 1
    hook.get_job_run_status.assert_called_once_with(run_id=11, account_id=None)
    hook.get_run_build.assert_called_once_with(11, None)
    events = context["outlet_events"][AssetAlias("dbt_cloud__job_300")].asset_alias_events
    assert [event.dest_asset_key.uri for event in events] == [ORDERS_URI]


def test_the_alias_of_the_outlets_is_used():
    operator, _, context = make(job_id=None, outlets=[AssetAlias("orders_pipeline")])
    operator.execute(context)
    assert context["outlet_events"][AssetAlias("orders_pipeline")].asset_alias_events


@pytest.mark.parametrize("run_id", [None, "None", " "])
def test_no_run_skips(run_id):
    operator, hook, context = make(run_id=run_id)
    with pytest.raises(AirflowSkipException, match="No dbt Cloud run to read"):
        operator.execute(context)
    hook.get_job_run_status.assert_not_called()


def test_a_run_still_going_skips_and_reads_no_artifacts():
    operator, hook, context = make()
    hook.get_job_run_status.return_value = 3
    with pytest.raises(AirflowSkipException, match="dbt Cloud run 11 is still RUNNING"):
        operator.execute(context)
    hook.get_run_build.assert_not_called()


def test_a_malformed_run_id_names_the_parameter():
    operator, _, context = make(run_id="run-11")
    with pytest.raises(DbtCloudConfigError, match="run_id must be a positive integer, got 'run-11'"):
        operator.execute(context)


def test_without_an_alias_or_a_job_id_it_cannot_be_built():
    with pytest.raises(ValueError, match="AssetAlias in outlets, or job_id as a number"):
        DbtCloudRunAssetsOperator(task_id="assets", run_id=11)
