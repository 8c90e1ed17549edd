"""DbtCloudRunJobOperator's glue, with a hook that has the real signatures.

The lifecycle's decisions are stepped call by call in ``tests/api/test_lifecycle.py``; these tests check
what the operator adds: the task's identity and marker, the task state store, ``durable``, XCom, the
waits, the events, and cancellation.
"""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from glue_doubles import (
    OFFICIAL_TRIGGER_KEYS,
    ORDERS_URI,
    FakeStore,
    FakeTI,
    answer,
    hook_double,
    lineage_calls,
    run_build,
    run_payload,
)

from airflow_dbtcloud.api.lifecycle import marker_for
from airflow_dbtcloud.hooks.dbt import (
    DbtCloudConfigError,
    DbtCloudJobRunException,
    DbtCloudJobRunFailedError,
    DbtCloudJobRunTimeoutError,
    DbtCloudServerError,
    DbtCloudTriggerEventException,
)
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.operators.task_state import STATE_KEY

MARKER = marker_for("d", "r", "t", -1, 2)
REASON = "Triggered via Apache Airflow by task 't' in the adhoc_airflow DAG."


def make(try_number=1, store=None, max_tries=2, **kwargs):
    operator = DbtCloudRunJobOperator(task_id="t", **{"job_id": 300, "check_interval": 1, **kwargs})
    hook = hook_double()
    hook.trigger_job_run.return_value = answer(run_payload(11))
    hook.get_job_run_status.return_value = 10
    hook.wait_for_job_run_status.return_value = True
    operator.__dict__["hook"] = hook
    context = {
        "ti": FakeTI(try_number, max_tries),
        "task_state_store": FakeStore() if store is None else store,
    }
    return operator, hook, context


def test_first_try_starts_one_run_stores_it_and_publishes_it():
    operator, hook, context = make()
    assert operator.execute(context) == 11
    hook.trigger_job_run.assert_called_once_with(
        account_id=None,
        job_id=300,
        cause=f"{REASON} {MARKER}",
        steps_override=None,
        schema_override=None,
        retry_from_failure=False,
        additional_run_config={},
    )
    hook.get_job_runs.assert_not_called()
    assert context["task_state_store"].data[STATE_KEY] == {"run_id": 11, "marker": MARKER}
    assert context["ti"].xcom == {
        "job_run_url": "https://emea.dbt.com/deploy/1/projects/100/runs/11/",
        "job_run_id": 11,
        "job_url": "https://emea.dbt.com/deploy/1/projects/100/jobs/300/",
    }
    hook.wait_for_job_run_status.assert_called_once_with(
        run_id=11, account_id=None, expected_statuses=10, check_interval=1, timeout=604800
    )


def test_the_typed_overrides_go_into_additional_run_config():
    operator, hook, context = make(
        git_branch="dev", threads_override=4, additional_run_config={"generate_docs_override": True}
    )
    operator.execute(context)
    assert hook.trigger_job_run.call_args.kwargs["additional_run_config"] == {
        "generate_docs_override": True,
        "git_branch": "dev",
        "threads_override": 4,
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps_override": ["rm -rf /"]}, "starting with 'dbt '"),
        ({"git_sha": "main"}, "hexadecimal"),
        ({"job_id": -3}, "job_id must be a positive integer, got -3"),
        ({"account_id": "acme"}, "account_id must be a positive integer"),
        ({"git_branch": "a", "additional_run_config": {"git_branch": "b"}}, "set each field in one place"),
    ],
)
def test_bad_input_fails_before_any_request(kwargs, message):
    operator, hook, context = make(**kwargs)
    with pytest.raises((DbtCloudConfigError, ValueError), match=message):
        operator.execute(context)
    assert hook.method_calls == []


def test_job_lookup_by_names_goes_through_get_job_by_name():
    operator, hook, context = make(job_id=None, project_name="p", environment_name="e", job_name="j")
    hook.get_job_by_name.return_value = {"id": 301, "name": "j"}
    operator.execute(context)
    hook.get_job_by_name.assert_called_once_with(
        account_id=None, project_name="p", environment_name="e", job_name="j"
    )
    assert hook.trigger_job_run.call_args.kwargs["job_id"] == 301


def test_a_retry_reattaches_to_the_run_its_earlier_try_stored():
    store = FakeStore()
    store.set(STATE_KEY, {"run_id": 11, "marker": MARKER})
    operator, hook, context = make(try_number=2, store=store)
    hook.get_job_run.return_value = answer(run_payload(11, 3))
    with mock.patch("airflow_dbtcloud.operators.task_state.stats.incr") as incr:
        assert operator.execute(context) == 11
    hook.trigger_job_run.assert_not_called()
    assert [call.args[0] for call in incr.call_args_list] == [
        "resumable_job.reconnect_attempt",
        "resumable_job.reconnect_success",
    ]
    assert incr.call_args.kwargs["tags"]["operator"] == "DbtCloudRunJobOperator"


def test_a_retry_without_a_stored_id_finds_its_run_by_the_marker():
    operator, hook, context = make(try_number=2, store=FakeStore())
    hook.get_job_runs.return_value = answer([run_payload(12, 3, trigger={"cause": f"x {MARKER}"})])
    assert operator.execute(context) == 12
    hook.trigger_job_run.assert_not_called()
    assert context["task_state_store"].data[STATE_KEY]["run_id"] == 12


def test_a_cleared_task_instance_ignores_the_stored_run_and_starts_a_new_one():
    store = FakeStore()
    store.set(STATE_KEY, {"run_id": 11, "marker": MARKER})
    operator, hook, context = make(try_number=3, max_tries=5, store=store)
    hook.get_job_runs.return_value = answer([run_payload(11, 10, trigger={"cause": f"x {MARKER}"})])
    hook.trigger_job_run.return_value = answer(run_payload(13))
    assert operator.execute(context) == 13
    hook.get_job_run.assert_not_called()
    new_marker = marker_for("d", "r", "t", -1, 5)
    assert hook.trigger_job_run.call_args.kwargs["cause"].endswith(new_marker)
    assert store.data[STATE_KEY] == {"run_id": 13, "marker": new_marker}


def test_durable_false_starts_a_new_run_on_every_try():
    store = FakeStore()
    store.set(STATE_KEY, {"run_id": 11, "marker": MARKER})
    operator, hook, context = make(try_number=2, store=store, durable=False)
    operator.execute(context)
    hook.get_job_run.assert_not_called()
    hook.get_job_runs.assert_not_called()
    assert hook.trigger_job_run.call_args.kwargs["cause"].endswith(marker_for("d", "r", "t", -1, 2, 2))
    assert store.data[STATE_KEY] == {"run_id": 11, "marker": MARKER}


def test_retry_from_failure_retries_the_earlier_tries_run():
    store = FakeStore()
    store.set(STATE_KEY, {"run_id": 11, "marker": MARKER})
    operator, hook, context = make(try_number=2, store=store, retry_from_failure=True)
    hook.get_job_run.return_value = answer(run_payload(11, 20))
    hook.retry_run.return_value = answer(run_payload(14))
    assert operator.execute(context) == 14
    hook.retry_run.assert_called_once_with(run_id=11, account_id=None)
    hook.trigger_job_run.assert_not_called()


def test_without_a_task_identity_the_official_behaviour_applies():
    operator, hook, _ = make(retry_from_failure=True)
    ti = mock.Mock()
    ti.try_number = 2
    operator.execute({"ti": ti})
    kwargs = hook.trigger_job_run.call_args.kwargs
    assert (kwargs["cause"], kwargs["retry_from_failure"]) == (REASON, True)


def test_deferrable_checks_the_status_then_defers_with_the_official_trigger_arguments():
    operator, hook, context = make(deferrable=True)
    hook.get_job_run_status.return_value = 1
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    hook.get_job_run_status.assert_called_once_with(run_id=11, account_id=None)
    _, kwargs = deferred.value.trigger.serialize()
    assert set(kwargs) == OFFICIAL_TRIGGER_KEYS
    assert (kwargs["conn_id"], kwargs["run_id"], kwargs["poll_interval"]) == ("dbt_cloud_default", 11, 1)
    assert context["task_state_store"].data[STATE_KEY]["run_id"] == 11, "stored before deferring"
    assert deferred.value.timeout is None


def test_deferrable_hands_the_tasks_execution_timeout_to_the_trigger_as_a_deadline():
    operator, hook, context = make(deferrable=True, execution_timeout=timedelta(minutes=2), timeout=3600)
    hook.get_job_run_status.return_value = 1
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    _, kwargs = deferred.value.trigger.serialize()
    # The trigger ends the wait at the deadline, so execute_complete can cancel the run.
    assert before + 120 <= kwargs["execution_deadline"] <= time.time() + 120
    assert before + 3600 <= kwargs["end_time"] <= time.time() + 3600
    assert deferred.value.timeout is None


def test_deferrable_finished_at_the_first_check_does_not_defer():
    operator, _, context = make(deferrable=True)
    assert operator.execute(context) == 11


def test_deferrable_failed_at_the_first_check_reports_and_raises():
    operator, hook, context = make(deferrable=True)
    hook.get_job_run_status.return_value = 20
    with pytest.raises(DbtCloudJobRunFailedError, match="has failed or has been cancelled") as raised:
        operator.execute(context)
    assert "REPORT" in str(raised.value)


def test_no_wait_returns_the_run_id_at_once():
    operator, hook, context = make(wait_for_termination=False)
    assert operator.execute(context) == 11
    hook.wait_for_job_run_status.assert_not_called()


def test_a_sync_wait_timeout_cancels_the_run():
    operator, hook, context = make(timeout=5)
    hook.wait_for_job_run_status.side_effect = DbtCloudJobRunTimeoutError("not done after 5 seconds.")
    with pytest.raises(DbtCloudJobRunTimeoutError):
        operator.execute(context)
    hook.cancel_job_run.assert_called_once_with(account_id=None, run_id=11)


@pytest.mark.parametrize(
    ("fail_fast", "error"), [(True, AirflowFailException), (False, DbtCloudJobRunFailedError)]
)
def test_a_run_cancelled_in_dbt_cloud_fails_fast_unless_told_otherwise(fail_fast, error):
    operator, hook, context = make(fail_fast_on_cancel=fail_fast)
    hook.wait_for_job_run_status.side_effect = DbtCloudJobRunFailedError(
        "reached terminal status CANCELLED", 30
    )
    with pytest.raises(error) as raised:
        operator.execute(context)
    assert isinstance(raised.value, AirflowFailException) is fail_fast


def test_execute_complete_success_returns_the_run_id():
    operator, _, context = make()
    assert operator.execute_complete(context, {"status": "success", "message": "ok", "run_id": 11}) == 11


@pytest.mark.parametrize(
    ("event", "error", "cancels"),
    [
        ({"status": "error", "message": "Job run 11 has failed."}, DbtCloudJobRunFailedError, False),
        ({"status": "cancelled", "message": "Job run 11 has been cancelled."}, AirflowFailException, False),
        ({"status": "timeout", "message": "Job run 11 has timed out."}, DbtCloudJobRunTimeoutError, True),
        (
            {
                "status": "error",
                "message": "Job run 11 has not reached a terminal status within the configured timeout.",
            },
            DbtCloudJobRunTimeoutError,
            True,
        ),
        ({"status": "api_error", "message": "Gave up"}, DbtCloudJobRunException, False),
        ({"status": "error", "message": "401 Invalid token"}, DbtCloudJobRunException, False),
    ],
)
def test_execute_complete_for_every_other_outcome(event, error, cancels):
    operator, hook, context = make()
    with pytest.raises(error) as raised:
        operator.execute_complete(context, {**event, "run_id": 11})
    assert bool(hook.cancel_job_run.call_count) is cancels
    if event["message"] in ("Gave up", "401 Invalid token"):
        assert "left as it is" in str(raised.value)
        hook.log_job_run_failure_details.assert_not_called()


def test_execute_complete_refuses_a_missing_event():
    operator, _, context = make()
    with pytest.raises(DbtCloudTriggerEventException, match="event is None"):
        operator.execute_complete(context, None)


def test_a_failing_cancel_does_not_hide_the_timeout():
    operator, hook, context = make()
    hook.cancel_job_run.side_effect = RuntimeError("cannot cancel")
    with pytest.raises(DbtCloudJobRunTimeoutError):
        operator.execute_complete(context, {"status": "timeout", "message": "m", "run_id": 11})


def test_on_kill_cancels_and_confirms():
    operator, hook, _ = make()
    operator.run_id = 11
    operator.on_kill()
    hook.cancel_job_run.assert_called_once_with(account_id=None, run_id=11)
    hook.wait_for_job_run_status.assert_called_once_with(
        run_id=11, account_id=None, expected_statuses=30, check_interval=1, timeout=604800
    )


def test_on_kill_leaves_the_run_going_when_asked_to(capfd):
    operator, hook, _ = make(cancel_on_kill=False)
    operator.run_id = 11
    operator.on_kill()
    assert hook.method_calls == []
    assert "leaving dbt Cloud run 11 running" in capfd.readouterr().out


def test_on_kill_without_a_run_does_nothing():
    operator, hook, _ = make()
    operator.on_kill()
    assert hook.method_calls == []


def test_a_bare_test_double_for_trigger_job_run_is_not_waited_on_as_the_official_operator_does():
    operator, hook, context = make()
    hook.trigger_job_run.return_value = mock.MagicMock()
    run_id = operator.execute(context)
    assert run_id is hook.trigger_job_run.return_value.json()["data"]["id"]
    hook.wait_for_job_run_status.assert_not_called()


def with_outlet_events(context):
    from airflow.sdk.execution_time.context import OutletEventAccessors

    context["outlet_events"] = OutletEventAccessors()
    return context


def alias_events(context, name="dbt_cloud__job_300"):
    from airflow.sdk import AssetAlias

    accessor = context["outlet_events"][AssetAlias(name)]
    return [event.dest_asset_key.uri for event in accessor.asset_alias_events]


def test_emit_assets_declares_the_job_alias_as_an_outlet():
    from airflow.sdk import AssetAlias

    operator, _, _ = make(emit_assets=True)
    assert operator.outlets == [AssetAlias("dbt_cloud__job_300")]
    assert operator.asset_alias == AssetAlias("dbt_cloud__job_300")


def test_emit_assets_adds_the_built_tables_after_a_waited_run_succeeds():
    operator, hook, context = make(emit_assets=True)
    hook.get_run_build.return_value = run_build()
    assert operator.execute(with_outlet_events(context)) == 11
    hook.get_run_build.assert_called_once_with(11, None)
    assert alias_events(context) == [ORDERS_URI]


def test_emit_assets_after_a_run_that_ended_before_the_task_could_defer():
    operator, hook, context = make(emit_assets=True, deferrable=True)
    hook.get_run_build.return_value = run_build()
    assert operator.execute(with_outlet_events(context)) == 11
    assert alias_events(context) == [ORDERS_URI]


def test_emit_assets_when_the_trigger_says_the_run_succeeded():
    operator, hook, context = make(emit_assets=True, deferrable=True)
    hook.get_run_build.return_value = run_build()
    event = {"status": "success", "message": "ok", "run_id": 11}
    assert operator.execute_complete(with_outlet_events(context), event) == 11
    assert alias_events(context) == [ORDERS_URI]


def test_a_failed_run_emits_no_assets():
    operator, hook, context = make(emit_assets=True)
    hook.wait_for_job_run_status.side_effect = DbtCloudJobRunFailedError("reached terminal status ERROR", 20)
    with pytest.raises(DbtCloudJobRunFailedError):
        operator.execute(with_outlet_events(context))
    hook.get_run_build.assert_not_called()


def test_without_emit_assets_no_build_is_read():
    operator, hook, context = make()
    operator.execute(with_outlet_events(context))
    hook.get_run_build.assert_not_called()
    assert operator.outlets == []


def test_an_alias_outlet_turns_assets_on_and_is_used_as_is():
    from airflow.sdk import AssetAlias

    operator, hook, context = make(job_id="{{ params.job }}", outlets=[AssetAlias("orders_pipeline")])
    hook.get_run_build.return_value = run_build()
    operator.job_id = 300
    operator.execute(with_outlet_events(context))
    assert alias_events(context, "orders_pipeline") == [ORDERS_URI]


def test_emit_assets_needs_a_job_id_known_at_parse_time():
    with pytest.raises(ValueError, match=r"job_id as a number .* got job_id='\{\{ params.job \}\}'"):
        make(emit_assets=True, job_id="{{ params.job }}")


def test_emit_assets_needs_the_operator_to_wait():
    with pytest.raises(ValueError, match="emit_assets=True needs wait_for_termination=True"):
        make(emit_assets=True, wait_for_termination=False)


def test_a_try_that_could_not_read_the_build_fails_and_its_retry_emits_from_the_same_run():
    store = FakeStore()
    operator, hook, context = make(emit_assets=True, store=store)
    hook.get_run_build.side_effect = DbtCloudServerError(
        503, "GET", "/api/v2/accounts/1/runs/11/artifacts/run_results.json"
    )
    with pytest.raises(DbtCloudServerError):
        operator.execute(with_outlet_events(context))

    retry, hook, context = make(try_number=2, store=store, emit_assets=True)
    hook.get_job_run.return_value = answer(run_payload(11, 10))
    hook.get_run_build.return_value = run_build()
    assert retry.execute(with_outlet_events(context)) == 11
    hook.trigger_job_run.assert_not_called()
    assert alias_events(context) == [ORDERS_URI]


@pytest.fixture
def lineage():
    """The lineage functions the operator calls, replaced by mocks."""
    with lineage_calls("airflow_dbtcloud.operators.dbt") as calls:
        yield calls


def test_lineage_starts_with_the_run_and_completes_with_its_success(lineage):
    start, end, failed_end = lineage
    operator, hook, context = make()
    operator.execute(context)
    (ti, run), kwargs = start.call_args
    assert (ti, run.id, kwargs) == (context["ti"], 11, {"account_id": None})
    (ti, run, succeeded), kwargs = end.call_args
    assert (ti, run.id, succeeded, kwargs) == (context["ti"], 11, True, {"hook": hook, "account_id": None})
    failed_end.assert_not_called()


@pytest.mark.parametrize(
    "error",
    [
        DbtCloudJobRunFailedError("reached terminal status ERROR", 20),
        DbtCloudJobRunTimeoutError("not done after 5 seconds."),
    ],
)
def test_lineage_fails_with_a_run_that_failed_or_was_cancelled_for_taking_too_long(lineage, error):
    _, end, failed_end = lineage
    operator, hook, context = make(fail_fast_on_cancel=False)
    hook.wait_for_job_run_status.side_effect = error
    with pytest.raises(type(error)):
        operator.execute(context)
    end.assert_not_called()
    (ti, run, succeeded), kwargs = failed_end.call_args
    assert ti is context["ti"]
    assert (run.id, succeeded, kwargs["error_message"]) == (11, False, str(error))


def test_lineage_of_a_deferred_run_ends_when_the_task_resumes(lineage):
    _, end, failed_end = lineage
    operator, _, context = make(deferrable=True)
    with pytest.raises(DbtCloudJobRunFailedError):
        operator.execute_complete(
            context, {"status": "error", "message": "Job run 11 has failed.", "run_id": 11}
        )
    assert failed_end.call_args.args[1].id == 11
    operator.execute_complete(context, {"status": "success", "message": "ok", "run_id": 11})
    assert end.call_args.args[1:3] == (mock.ANY, True)


def test_lineage_has_no_end_while_the_run_may_still_be_going(lineage):
    _, end, failed_end = lineage
    operator, _, context = make(deferrable=True)
    with pytest.raises(DbtCloudJobRunException, match="Stopped following job run 11"):
        operator.execute_complete(context, {"status": "api_error", "message": "503s.", "run_id": 11})
    end.assert_not_called()
    failed_end.assert_not_called()


def test_inject_parent_job_info_leaves_room_for_the_marker():
    operator, hook, context = make(openlineage_inject_parent_job_info=True)
    parent = '{"parent":{"run":{"runId":"r"}}}'
    with mock.patch(
        "airflow_dbtcloud.operators.dbt.inject_parent_job_information_into_dbt_cloud_cause",
        return_value=parent,
    ) as inject:
        operator.execute(context)
    inject.assert_called_once_with(REASON, context["ti"], max_length=255 - len(MARKER) - 1)
    assert hook.trigger_job_run.call_args.kwargs["cause"] == f"{parent} {MARKER}"


def test_the_listener_gets_no_lineage_of_its_own():
    from airflow.providers.openlineage.extractors import OperatorLineage

    operator, _, _ = make()
    assert operator.get_openlineage_facets_on_complete(mock.Mock()) == OperatorLineage()


def test_expected_duration_reaches_the_wait_only_when_set():
    from datetime import timedelta

    operator, hook, context = make(expected_duration=timedelta(minutes=30))
    operator.execute(context)
    assert hook.wait_for_job_run_status.call_args.kwargs["expected_duration"] == 1800.0
    operator, hook, context = make(expected_duration=90, deferrable=True)
    hook.get_job_run_status.return_value = 3
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    _, kwargs = deferred.value.trigger.serialize()
    assert set(kwargs) == OFFICIAL_TRIGGER_KEYS | {"expected_duration"}
    assert kwargs["expected_duration"] == 90.0


@pytest.mark.parametrize("value", [0, -5, "an hour", True])
def test_expected_duration_must_be_a_positive_duration(value):
    with pytest.raises(DbtCloudConfigError, match="expected_duration must be a positive number of seconds"):
        make(expected_duration=value)
