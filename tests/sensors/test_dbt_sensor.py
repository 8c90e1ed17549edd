"""DbtCloudJobRunSensor, with a hook that has the real signatures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from glue_doubles import ORDERS_URI, FakeTI, answer, hook_double, lineage_calls, run_build, run_payload

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudAuthError,
    DbtCloudConfigError,
    DbtCloudJobRunException,
    DbtCloudJobRunFailedError,
    DbtCloudServerError,
    DbtCloudTriggerEventException,
)
from airflow_dbtcloud.sensors.dbt import DbtCloudJobRunSensor, DbtCloudJobRunSensorTimeout


def make(**kwargs):
    sensor = DbtCloudJobRunSensor(task_id="s", run_id=11, **kwargs)
    hook = hook_double()
    hook.get_job_run.return_value = answer(run_payload())
    sensor.__dict__["hook"] = hook
    return sensor, hook, {"ti": FakeTI()}


def test_poke_reports_pending_then_success():
    sensor, hook, context = make()
    hook.get_job_run_status.side_effect = [3, 10]
    assert sensor.poke(context) is False
    assert sensor.poke(context) is True
    hook.get_job_run_status.assert_called_with(run_id=11, account_id=None)


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (20, DbtCloudJobRunFailedError, "Job run 11 has failed."),
        (30, AirflowFailException, "has been cancelled."),
    ],
)
def test_poke_on_a_failed_run_logs_the_report_and_raises(status, error, message):
    sensor, hook, context = make()
    hook.get_job_run_status.return_value = status
    with pytest.raises(error, match=message) as raised:
        sensor.poke(context)
    assert "REPORT" in str(raised.value)
    hook.log_job_run_failure_details.assert_called_once_with(run_id=11, account_id=None)


def test_a_cancelled_run_may_use_retries_when_asked():
    sensor, hook, context = make(fail_fast_on_cancel=False)
    hook.get_job_run_status.return_value = 30
    with pytest.raises(DbtCloudJobRunException) as raised:
        sensor.poke(context)
    assert not isinstance(raised.value, AirflowFailException)


def test_poke_waits_out_transient_errors_within_the_budget():
    sensor, hook, context = make(error_budget=1)
    hook.get_job_run_status.side_effect = [
        DbtCloudServerError(503, "GET", "/r"),
        3,
        DbtCloudServerError(503, "GET", "/r"),
        DbtCloudServerError(503, "GET", "/r"),
    ]
    assert sensor.poke(context) is False
    assert sensor.poke(context) is False
    assert sensor.poke(context) is False
    with pytest.raises(DbtCloudServerError):
        sensor.poke(context)


def test_poke_raises_non_transient_errors():
    sensor, hook, context = make()
    hook.get_job_run_status.side_effect = DbtCloudAuthError(401, "GET", "/r")
    with pytest.raises(DbtCloudAuthError):
        sensor.poke(context)


def test_deferrable_publishes_links_checks_once_and_defers():
    sensor, hook, context = make(deferrable=True)
    hook.get_job_run_status.return_value = 3
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    assert (sensor.poke_interval, sensor.timeout) == (5, 60 * 60 * 24 * 7)
    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["run_id"], kwargs["poll_interval"], kwargs["execution_deadline"]) == (11, 5, None)
    assert context["ti"].xcom["job_run_url"] == "https://emea.dbt.com/deploy/1/projects/100/runs/11/"
    assert context["ti"].xcom["job_url"] == "https://emea.dbt.com/deploy/1/projects/100/jobs/300/"
    hook.get_job_run.assert_called_once_with(run_id=11, account_id=None, include_related=None)


def test_deferrable_sensor_defers_with_its_execution_timeout():
    sensor, hook, context = make(deferrable=True, execution_timeout=timedelta(minutes=3))
    hook.get_job_run_status.return_value = 3
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    assert deferred.value.timeout == timedelta(minutes=3)


def test_deferrable_done_at_first_check_does_not_defer():
    sensor, hook, context = make(deferrable=True)
    hook.get_job_run_status.return_value = 10
    assert sensor.execute(context) is None


def test_a_bad_run_id_is_refused_before_any_request():
    sensor, hook, context = make()
    sensor.run_id = "abc"
    with pytest.raises(DbtCloudConfigError, match="run_id must be a positive integer, got 'abc'"):
        sensor.execute(context)
    hook.get_job_run.assert_not_called()


def test_execute_complete_success_returns_the_run_id():
    sensor, _, _ = make()
    assert sensor.execute_complete({}, {"status": "success", "message": "ok", "run_id": 11}) == 11


@pytest.mark.parametrize(
    ("event", "error"),
    [
        ({"status": "error", "message": "Job run 11 has failed.", "run_id": 11}, DbtCloudJobRunFailedError),
        (
            {"status": "cancelled", "message": "Job run 11 has been cancelled.", "run_id": 11},
            AirflowFailException,
        ),
        ({"status": "timeout", "message": "Job run 11 has timed out.", "run_id": 11}, AirflowSensorTimeout),
        ({"status": "api_error", "message": "gave up", "run_id": 11}, DbtCloudJobRunException),
    ],
)
def test_execute_complete_raises_for_every_other_outcome(event, error):
    sensor, _, _ = make()
    with pytest.raises(error, match=event["message"]):
        sensor.execute_complete({}, event)


def test_the_deferred_timeout_is_a_sensor_timeout_and_a_run_exception():
    assert issubclass(DbtCloudJobRunSensorTimeout, AirflowSensorTimeout)
    assert issubclass(DbtCloudJobRunSensorTimeout, DbtCloudJobRunException)


@pytest.mark.parametrize("event", [None, {"status": "later", "run_id": 11}])
def test_execute_complete_refuses_malformed_events(event):
    sensor, _, _ = make()
    with pytest.raises(DbtCloudTriggerEventException):
        sensor.execute_complete({}, event)


def assets_context():
    from airflow.sdk.execution_time.context import OutletEventAccessors

    return {"ti": FakeTI(), "outlet_events": OutletEventAccessors()}


def alias_uris(context, name="orders_pipeline"):
    from airflow.sdk import AssetAlias

    return [
        event.dest_asset_key.uri for event in context["outlet_events"][AssetAlias(name)].asset_alias_events
    ]


def test_emit_assets_needs_an_alias_because_a_sensor_knows_no_job_at_parse_time():
    with pytest.raises(
        ValueError, match="emit_assets needs an AssetAlias in outlets: the sensor knows no job id"
    ):
        make(emit_assets=True)


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_sensor_with_an_alias_emits_the_run_build_when_the_run_succeeded(deferrable):
    from airflow.sdk import AssetAlias

    sensor, hook, _ = make(outlets=[AssetAlias("orders_pipeline")], deferrable=deferrable, poke_interval=0)
    hook.get_job_run_status.return_value = 10
    hook.get_run_build.return_value = run_build()
    context = assets_context()
    sensor.execute(context)
    hook.get_run_build.assert_called_once_with(11, None)
    assert alias_uris(context) == [ORDERS_URI]


def test_execute_complete_emits_the_run_build():
    from airflow.sdk import AssetAlias

    sensor, hook, _ = make(outlets=[AssetAlias("orders_pipeline")], emit_assets=True)
    hook.get_run_build.return_value = run_build()
    context = assets_context()
    assert sensor.execute_complete(context, {"status": "success", "message": "ok", "run_id": 11}) == 11
    assert alias_uris(context) == [ORDERS_URI]


def test_a_sensor_that_saw_the_run_fail_emits_nothing():
    from airflow.sdk import AssetAlias

    sensor, hook, _ = make(outlets=[AssetAlias("orders_pipeline")])
    hook.get_job_run_status.return_value = 20
    with pytest.raises(DbtCloudJobRunFailedError):
        sensor.execute(assets_context())
    hook.get_run_build.assert_not_called()


@pytest.fixture
def lineage():
    """The lineage functions the sensor calls, replaced by mocks."""
    with lineage_calls("airflow_dbtcloud.sensors.dbt") as calls:
        yield calls


@pytest.mark.parametrize("deferrable", [False, True])
def test_lineage_of_the_watched_run_starts_and_completes(lineage, deferrable):
    start, end, failed_end = lineage
    sensor, hook, context = make(deferrable=deferrable, poke_interval=0)
    hook.get_job_run_status.return_value = 10
    sensor.execute(context)
    assert start.call_args.args[1].id == 11
    (ti, run, succeeded), kwargs = end.call_args
    assert (ti, run.id, succeeded, kwargs) == (context["ti"], 11, True, {"hook": hook, "account_id": None})
    failed_end.assert_not_called()


def test_lineage_of_a_failed_run_fails(lineage):
    _, end, failed_end = lineage
    sensor, hook, context = make()
    hook.get_job_run_status.return_value = 20
    with pytest.raises(DbtCloudJobRunFailedError) as raised:
        sensor.execute(context)
    end.assert_not_called()
    assert failed_end.call_args.kwargs["error_message"] == str(raised.value)


def test_lineage_has_no_end_when_the_sensor_times_out(lineage):
    _, end, failed_end = lineage
    sensor, _, _ = make()
    with pytest.raises(DbtCloudJobRunSensorTimeout):
        sensor.execute_complete({}, {"status": "timeout", "message": "Job run 11 timed out.", "run_id": 11})
    end.assert_not_called()
    failed_end.assert_not_called()


# -- waiting for a job's next run ------------------------------------------------------------------


def next_run_sensor(runs_per_poll, **kwargs):
    """A next-run sensor of job 300 whose polls see the given runs, one list per poll."""
    sensor = DbtCloudJobRunSensor(task_id="next", job_id=300, **kwargs)
    hook = hook_double()
    hook.get_job_runs.side_effect = [answer(runs) for runs in runs_per_poll]
    hook.get_job_run.return_value = answer(run_payload(6, 10))
    sensor.__dict__["hook"] = hook
    return sensor, hook, {"ti": FakeTI()}


def listed(run_id, status=10, created="2026-11-29 10:00:00+00:00"):
    return run_payload(run_id, status, created_at=created, trigger={"cause": "Scheduled"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "one of run_id"),
        ({"run_id": 11, "job_id": 300}, "one of run_id"),
        ({"job_id": 300, "mode": "reschedule"}, "mode='reschedule' cannot wait for a job's next run"),
        (
            {"run_id": 11, "mode": "reschedule", "expected_duration": 60},
            "expected_duration needs mode='poke'",
        ),
    ],
)
def test_a_sensor_waits_for_a_run_or_a_jobs_next_run(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DbtCloudJobRunSensor(task_id="s", **kwargs)


def test_the_next_run_is_one_that_ends_after_the_sensor_started():
    sensor, hook, context = next_run_sensor(
        [[listed(5)], [listed(6, 3), listed(5)], [listed(6), listed(5)]], poke_interval=0
    )
    assert sensor.execute(context) == 6
    assert hook.get_job_runs.call_count == 3
    assert hook.get_job_runs.call_args.kwargs["payload"] == {
        "job_definition_id": 300,
        "order_by": "-id",
        "limit": 100,
        "include_related": '["trigger"]',
    }
    assert context["ti"].xcom["job_run_id"] == 6
    assert sensor.run_id == 6


def test_runs_that_end_in_other_statuses_do_not_count():
    sensor, _, context = next_run_sensor(
        [[listed(5)], [listed(7, 20), listed(5)], [listed(8), listed(7, 20), listed(5)]], poke_interval=0
    )
    assert sensor.execute(context) == 8


def test_statuses_choose_what_counts():
    sensor, _, context = next_run_sensor(
        [[listed(5)], [listed(7, 20), listed(5)]], statuses=[20], poke_interval=0
    )
    assert sensor.execute(context) == 7


def test_started_after_counts_a_run_that_already_ended():
    sensor, hook, context = next_run_sensor(
        [[listed(5, created="2026-11-29 12:00:00+00:00"), listed(4, created="2026-11-29 08:00:00+00:00")]],
        started_after="2026-11-29T09:00:00+00:00",
        poke_interval=0,
    )
    assert sensor.execute(context) == 5
    assert hook.get_job_runs.call_count == 1


def test_deferred_it_hands_its_place_to_the_watching_trigger():
    from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger

    sensor, _, context = next_run_sensor([[listed(6, 3), listed(5)]], deferrable=True, timeout=120)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context)
    trigger = deferred.value.trigger
    assert isinstance(trigger, DbtCloudJobRunEventTrigger)
    _, kwargs = trigger.serialize()
    assert (kwargs["job_id"], kwargs["fire_once"], kwargs["poll_interval"]) == (300, True, 5.0)
    assert kwargs["marks"] == {"version": 1, "jobs": {"300": {"after": 5, "seen": []}}}
    assert deferred.value.method_name == "execute_complete_next_run"
    assert deferred.value.timeout.total_seconds() == 120


def test_resuming_with_the_run_found_publishes_it():
    sensor, hook, context = next_run_sensor([], deferrable=True)
    assert sensor.execute_complete_next_run(context, {"run_id": 6, "job_id": 300, "status": 10}) == 6
    hook.get_job_run.assert_called_once_with(run_id=6, account_id=None, include_related=None)
    assert context["ti"].xcom["job_run_id"] == 6


@pytest.mark.parametrize("event", [None, {}, {"run_id": "6"}])
def test_resuming_without_a_run_is_refused(event):
    sensor, _, context = next_run_sensor([], deferrable=True)
    with pytest.raises(DbtCloudTriggerEventException, match="did not name a dbt Cloud run"):
        sensor.execute_complete_next_run(context, event)


def test_transient_errors_while_looking_are_waited_out_others_fail():
    sensor, hook, context = next_run_sensor([], poke_interval=0)
    hook.get_job_runs.side_effect = [
        DbtCloudServerError(503, "GET", "/runs/"),
        answer([listed(5)]),
        answer([listed(6), listed(5)]),
    ]
    assert sensor.execute(context) == 6
    sensor, hook, context = next_run_sensor([], poke_interval=0)
    hook.get_job_runs.side_effect = DbtCloudAuthError(401, "GET", "/runs/")
    with pytest.raises(DbtCloudAuthError):
        sensor.execute(context)


def test_a_next_run_sensor_can_emit_the_assets_of_the_run_it_found():
    from airflow.sdk import AssetAlias

    sensor, hook, _ = next_run_sensor(
        [[listed(5)], [listed(6), listed(5)]], emit_assets=True, poke_interval=0
    )
    assert sensor.outlets == [AssetAlias("dbt_cloud__job_300")]
    hook.get_run_build.return_value = run_build(6)
    context = assets_context()
    assert sensor.execute(context) == 6
    hook.get_run_build.assert_called_once_with(6, None)
    assert alias_uris(context, "dbt_cloud__job_300") == [ORDERS_URI]
