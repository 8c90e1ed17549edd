from __future__ import annotations

import functools
from unittest import mock

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_dbtcloud.hooks.dbt import (
    DbtCloudHook,
    DbtCloudJobRunException,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
)
from airflow_dbtcloud.operators.dbt import DbtCloudRunJobOperator
from airflow_dbtcloud.utils.run_tracking import STATE_KEY, marker_for

UI = "https://emea.dbt.com"


class FakeStore:
    def __init__(self) -> None:
        self.data: dict = {}

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value, retention=None):
        self.data[key] = value


class FakeTI:
    def __init__(self, try_number: int = 1) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index, self.max_tries = "d", "r", "t", -1, 2
        self.try_number = try_number
        self.xcom: dict = {}

    def xcom_push(self, key, value):
        self.xcom[key] = value

    def xcom_pull(self, task_ids=None, key=None):
        return self.xcom.get(key)


MARKER = marker_for("d", "r", "t", -1, 2)


def run(run_id=11, status=1, **extra):
    return {
        "id": run_id,
        "status": status,
        "account_id": 1,
        "project_id": 100,
        "job_definition_id": 300,
        "href": f"{UI}/deploy/1/projects/100/runs/{run_id}/",
        **extra,
    }


def make(context_try=1, store=None, **kwargs):
    params = {"task_id": "t", "job_id": 300, "check_interval": 0, "wait_for_termination": False}
    params.update(kwargs)
    op = DbtCloudRunJobOperator(**params)
    hook = mock.MagicMock()
    # The report is gathered for real, from whatever the mocked data methods return.
    hook.get_failure_report.side_effect = functools.partial(DbtCloudHook.get_failure_report, hook)
    hook.ui_base_url = UI
    hook.list_runs_data.return_value = []
    hook.start_job_run.return_value = run()
    op.__dict__["hook"] = hook
    context = {"ti": FakeTI(context_try), "task_state_store": store if store is not None else FakeStore()}
    return op, hook, context


def test_starts_one_run_and_publishes_it():
    op, hook, context = make()
    assert op.execute(context) == 11
    hook.start_job_run.assert_called_once()
    args = hook.start_job_run.call_args
    assert args.args[0] == 300
    assert args.args[1].endswith(MARKER)
    assert "Triggered via Apache Airflow by task 't'" in args.args[1]
    assert context["task_state_store"].data[STATE_KEY] == {"run_id": 11, "marker": MARKER}
    assert context["ti"].xcom == {
        "job_run_url": f"{UI}/deploy/1/projects/100/runs/11/",
        "job_run_id": 11,
        "job_url": f"{UI}/deploy/1/projects/100/jobs/300/",
    }


def test_run_url_built_from_host_when_href_missing():
    op, hook, context = make()
    hook.start_job_run.return_value = {k: v for k, v in run().items() if k != "href"}
    op.execute(context)
    assert context["ti"].xcom["job_run_url"] == f"{UI}/deploy/1/projects/100/runs/11/"


def test_invalid_override_fails_before_any_request():
    op, hook, context = make(threads_override=0)
    with pytest.raises(ValueError, match="threads_override"):
        op.execute(context)
    assert hook.mock_calls == []


def test_job_lookup_by_names():
    op, hook, context = make(
        job_id=None, project_name="jaffle_shop", environment_name="Production", job_name="Daily build"
    )
    hook.get_job_by_name.return_value = {"id": 300}
    op.execute(context)
    assert hook.get_job_by_name.call_args.kwargs["job_name"] == "Daily build"
    assert hook.start_job_run.call_args.args[0] == 300


def test_missing_job_identity_is_rejected():
    op, _, context = make(job_id=None, job_name="x")
    with pytest.raises(ValueError, match="job_id or project_name"):
        op.execute(context)


def test_retry_reattaches_to_stored_running_run_and_waits():
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 11, "marker": MARKER}
    op, hook, context = make(context_try=2, store=store, wait_for_termination=True)
    hook.get_run_data.side_effect = [run(status=3), run(status=3), run(status=10)]
    assert op.execute(context) == 11
    hook.start_job_run.assert_not_called()
    hook.list_runs_data.assert_not_called()


def test_retry_finds_unstored_run_by_marker():
    op, hook, context = make(context_try=2)
    hook.list_runs_data.return_value = [
        run(12, 3, trigger={"cause": "x"}),
        run(11, 3, trigger={"cause": f"r {MARKER}"}),
    ]
    assert op.execute(context) == 11
    hook.start_job_run.assert_not_called()
    assert context["task_state_store"].data[STATE_KEY]["run_id"] == 11


def test_retry_from_failure_retries_that_run():
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 11, "marker": MARKER}
    op, hook, context = make(context_try=2, store=store, retry_from_failure=True)
    hook.get_run_data.return_value = run(11, 20)
    hook.retry_job_run.return_value = run(15, 1)
    assert op.execute(context) == 15
    hook.retry_job_run.assert_called_once_with(11, None)
    hook.start_job_run.assert_not_called()
    assert store.data[STATE_KEY]["run_id"] == 15


def test_already_retried_run_is_followed_not_retried_again():
    """Try 2 retried run 11 as run 15 and died before storing 15; try 3 must wait on 15."""
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 11, "marker": MARKER}
    op, hook, context = make(context_try=3, store=store, retry_from_failure=True, wait_for_termination=False)
    runs = {11: run(11, 20, retrying_run_id=15), 15: run(15, 3)}
    hook.get_run_data.side_effect = lambda run_id, *args, **kwargs: runs[run_id]
    assert op.execute(context) == 15
    hook.retry_job_run.assert_not_called()
    hook.start_job_run.assert_not_called()
    assert store.data[STATE_KEY]["run_id"] == 15


def test_retry_post_with_unknown_outcome_finds_the_retry_by_the_failed_run():
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 11, "marker": MARKER}
    op, hook, context = make(context_try=2, store=store, retry_from_failure=True, wait_for_termination=False)
    runs = {11: run(11, 20)}
    hook.get_run_data.side_effect = lambda run_id, *args, **kwargs: runs[run_id]

    def lost_answer(run_id, account_id):
        runs[11] = run(11, 20, retrying_run_id=16)
        runs[16] = run(16, 1)
        raise DbtCloudRunMayExistError("POST", "/api/v2/accounts/1/runs/11/retry/", "502")

    hook.retry_job_run.side_effect = lost_answer
    assert op.execute(context) == 16
    assert hook.retry_job_run.call_count == 1
    hook.start_job_run.assert_not_called()


def test_failed_earlier_run_without_retry_from_failure_starts_new_run():
    store = FakeStore()
    store.data[STATE_KEY] = {"run_id": 9, "marker": MARKER}
    op, hook, context = make(context_try=2, store=store)
    hook.get_run_data.return_value = run(9, 20)
    assert op.execute(context) == 11
    hook.start_job_run.assert_called_once()


def test_unknown_post_outcome_finds_the_run_by_marker():
    op, hook, context = make()
    hook.start_job_run.side_effect = DbtCloudRunMayExistError("POST", "/run/", "reset")
    hook.list_runs_data.side_effect = [[], [run(21, 1, trigger={"cause": f"c {MARKER}"})]]
    assert op.execute(context) == 21
    hook.start_job_run.assert_called_once()


def test_unknown_post_outcome_without_run_posts_again():
    op, hook, context = make()
    hook.start_job_run.side_effect = [DbtCloudRunMayExistError("POST", "/run/", "reset"), run(22)]
    assert op.execute(context) == 22
    assert hook.start_job_run.call_count == 2


def test_unknown_post_outcome_every_time_raises():
    op, hook, context = make()
    hook.start_job_run.side_effect = DbtCloudRunMayExistError("POST", "/run/", "reset")
    with pytest.raises(DbtCloudRunMayExistError):
        op.execute(context)
    assert hook.start_job_run.call_count == 3


def test_reuse_existing_run_attaches_only_to_matching_run():
    op, hook, context = make(reuse_existing_run=True, steps_override=["dbt run"])
    hook.list_runs_data.side_effect = [
        [],
        [
            run(30, 3, trigger={"cause": "x", "steps_override": None}),
            run(29, 3, trigger={"cause": "y", "steps_override": ["dbt run"]}),
        ],
    ]
    assert op.execute(context) == 29
    hook.start_job_run.assert_not_called()


def test_deferrable_stores_run_then_defers_with_conn_id_only():
    op, _hook, context = make(wait_for_termination=True, deferrable=True, timeout=100)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    assert context["task_state_store"].data[STATE_KEY]["run_id"] == 11
    trigger = deferred.value.trigger
    assert trigger.conn_id == "dbt_cloud_default"
    assert trigger.run_id == 11
    assert deferred.value.method_name == "execute_complete"


def test_deferrable_returns_without_deferring_when_already_done():
    op, hook, context = make(wait_for_termination=True, deferrable=True)
    hook.start_job_run.return_value = run(status=10)
    assert op.execute(context) == 11


def test_sync_wait_error_logs_report_and_raises():
    op, hook, context = make(wait_for_termination=True)
    hook.get_run_data.side_effect = [run(status=20), run(status=20, status_humanized="Error")]
    hook.get_artifact_json.return_value = {
        "results": [{"unique_id": "model.a", "status": "error", "message": "bad"}]
    }
    with pytest.raises(DbtCloudJobRunException, match=r"model\.a") as err:
        op.execute(context)
    assert not isinstance(err.value, AirflowFailException)


def test_cancelled_run_fails_without_retries():
    op, hook, context = make(wait_for_termination=True)
    hook.get_run_data.return_value = run(status=30)
    hook.get_artifact_json.return_value = None
    with pytest.raises(AirflowFailException, match="cancelled"):
        op.execute(context)


def test_cancelled_run_may_use_retries_when_configured():
    op, hook, context = make(wait_for_termination=True, fail_fast_on_cancel=False)
    hook.get_run_data.return_value = run(status=30)
    with pytest.raises(DbtCloudJobRunException) as err:
        op.execute(context)
    assert not isinstance(err.value, AirflowFailException)


def test_sync_wait_survives_transient_errors():
    op, hook, context = make(wait_for_termination=True)
    hook.get_run_data.side_effect = [DbtCloudServerError(503, "GET", "/p"), run(status=10)]
    op.error_budget = 2
    with mock.patch("airflow_dbtcloud.operators.dbt.time.sleep") as sleep:
        assert op.execute(context) == 11
    assert sleep.call_count == 1


def test_sync_timeout_cancels_the_run():
    op, hook, context = make(wait_for_termination=True, timeout=0)
    hook.get_run_data.return_value = run(status=3)
    with pytest.raises(DbtCloudJobRunException, match="did not finish"):
        op.execute(context)
    hook.cancel_run.assert_called_once_with(11, None)


@pytest.mark.parametrize("status", ["timeout"])
def test_execute_complete_timeout_cancels(status):
    op, hook, context = make()
    with pytest.raises(DbtCloudJobRunException):
        op.execute_complete(
            context, {"status": status, "run_id": 11, "message": "late", "reason": "execution_timeout"}
        )
    hook.cancel_run.assert_called_once_with(11, None)


def test_execute_complete_api_error_leaves_run_alone():
    op, hook, context = make()
    with pytest.raises(DbtCloudJobRunException, match="left as it is"):
        op.execute_complete(context, {"status": "api_error", "run_id": 11, "message": "gave up"})
    hook.cancel_run.assert_not_called()


def test_execute_complete_success_returns_run_id():
    op, _, context = make()
    assert op.execute_complete(context, {"status": "success", "run_id": 11, "message": "ok"}) == 11


def test_execute_complete_error_raises_with_report():
    op, hook, context = make()
    hook.get_run_data.return_value = run(status=20, status_humanized="Error")
    hook.get_artifact_json.return_value = None
    with pytest.raises(DbtCloudJobRunException, match="ended with status Error"):
        op.execute_complete(context, {"status": "error", "run_id": 11, "message": "failed"})


def test_on_kill_cancels_the_run():
    op, hook, context = make()
    op.execute(context)
    op.on_kill()
    hook.cancel_run.assert_called_once_with(11, None)


def test_on_kill_without_run_does_nothing():
    op, hook, _ = make()
    op.on_kill()
    hook.cancel_run.assert_not_called()


def test_signature_matches_official_defaults():
    op = DbtCloudRunJobOperator(task_id="x", job_id=1)
    assert op.timeout == 60 * 60 * 24 * 7
    assert op.check_interval == 60
    assert op.wait_for_termination is True
    assert op.dbt_cloud_conn_id == "dbt_cloud_default"
    for name in ("job_id", "trigger_reason", "steps_override", "schema_override", "additional_run_config"):
        assert name in op.template_fields
