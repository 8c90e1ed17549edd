"""Operators for dbt Cloud: run a job exactly once per task try, download artifacts, list jobs and runs."""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf

from airflow_dbtcloud.api.status import classify
from airflow_dbtcloud.hooks.dbt import (
    DbtCloudError,
    DbtCloudHook,
    DbtCloudJobRunException,
    DbtCloudJobRunStatus,
    is_transient_error,
)
from airflow_dbtcloud.links.dbt import (
    JOB_RUN_URL_KEY,
    JOB_URL_KEY,
    DbtCloudJobLink,
    DbtCloudRunJobOperatorLink,
    job_page_url,
    run_page_url,
)
from airflow_dbtcloud.operators._artifacts import DbtCloudGetJobRunArtifactOperator
from airflow_dbtcloud.operators._listing import DbtCloudListJobRunsOperator, DbtCloudListJobsOperator
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger
from airflow_dbtcloud.utils.events import validate_event
from airflow_dbtcloud.utils.outcome import DbtCloudJobRunCancelledError, raise_for_failed_run
from airflow_dbtcloud.utils.polling import DEFAULT_ERROR_BUDGET, Deadlines, ErrorBudget, describe_progress
from airflow_dbtcloud.utils.run_request import RunRequest, validate_overrides
from airflow_dbtcloud.utils.run_start import obtain_run
from airflow_dbtcloud.utils.run_tracking import build_cause, marker_from_context, store_run_id

if TYPE_CHECKING:
    from airflow.sdk import Context

# The official module exposes the hook, trigger, status and exception names too; keep them importable here.
__all__ = [
    "DbtCloudGetJobRunArtifactOperator",
    "DbtCloudHook",
    "DbtCloudJobLink",
    "DbtCloudJobRunCancelledError",
    "DbtCloudJobRunException",
    "DbtCloudJobRunStatus",
    "DbtCloudListJobRunsOperator",
    "DbtCloudListJobsOperator",
    "DbtCloudRunJobOperator",
    "DbtCloudRunJobOperatorLink",
    "DbtCloudRunJobTrigger",
]


class DbtCloudRunJobOperator(BaseOperator):
    """Run a dbt Cloud job, starting at most one new run per task try, and optionally wait for it.

    A retry of the task finds the run an earlier try started (``task_state_store``, then a marker in the
    run's ``cause``) and waits on it instead of starting another. The run id and URL are pushed to XCom
    (``job_run_id``, ``job_run_url``) as soon as the run exists.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param job_id: The dbt Cloud job id. Required unless ``project_name``, ``environment_name`` and
        ``job_name`` are given.
    :param project_name: The project's name, used to find the job when ``job_id`` is ``None``.
    :param environment_name: The environment's name, used to find the job when ``job_id`` is ``None``.
    :param job_name: The job's name, used to find the job when ``job_id`` is ``None``.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's login.
    :param trigger_reason: Why the job runs; a marker identifying the task instance is appended.
        ``None`` gives "Triggered via Apache Airflow by task <task_id> in the <dag_id> DAG."
    :param steps_override: dbt commands to run instead of the job's, each starting with ``dbt ``.
    :param schema_override: The schema to build into instead of the job's.
    :param wait_for_termination: Wait for the run to end. ``False`` returns once the run exists.
    :param timeout: How long to wait for the run, in seconds; when it passes the run is cancelled.
    :param check_interval: The pause between status checks, in seconds.
    :param additional_run_config: Further trigger-body fields sent as they are.
    :param reuse_existing_run: Attach to a non-terminal run of the job with the same overrides, if any.
    :param retry_from_failure: On a task retry, retry the earlier try's failed run from its point of
        failure (POST ``/runs/{id}/retry/``) instead of starting a new run.
    :param deferrable: Wait in the triggerer instead of on the worker.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param openlineage_inject_parent_job_info: Accepted for compatibility; ignored, because the ``cause``
        carries this task's marker.
    :param git_branch: The git branch to check out.
    :param git_sha: The git commit to check out (7 to 40 hexadecimal characters).
    :param threads_override: The number of dbt threads.
    :param target_name_override: The dbt target name.
    :param dbt_version_override: The dbt version.
    :param generate_docs_override: Whether to generate docs.
    :param timeout_seconds_override: dbt Cloud's own run timeout, in seconds.
    :param fail_fast_on_cancel: A run cancelled in dbt Cloud fails the task without further retries.
    :param error_budget: How many transient API errors in a row a wait survives.
    :return: The dbt Cloud run id.
    """

    template_fields: Sequence[str] = (
        "dbt_cloud_conn_id",
        "job_id",
        "project_name",
        "environment_name",
        "job_name",
        "account_id",
        "trigger_reason",
        "steps_override",
        "schema_override",
        "additional_run_config",
        "git_branch",
        "git_sha",
        "target_name_override",
        "dbt_version_override",
    )
    operator_extra_links = (DbtCloudRunJobOperatorLink(), DbtCloudJobLink())

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DbtCloudHook.default_conn_name,
        job_id: int | None = None,
        project_name: str | None = None,
        environment_name: str | None = None,
        job_name: str | None = None,
        account_id: int | None = None,
        trigger_reason: str | None = None,
        steps_override: list[str] | None = None,
        schema_override: str | None = None,
        wait_for_termination: bool = True,
        timeout: int = 60 * 60 * 24 * 7,
        check_interval: int = 60,
        additional_run_config: dict[str, Any] | None = None,
        reuse_existing_run: bool = False,
        retry_from_failure: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        hook_params: dict[str, Any] | None = None,
        openlineage_inject_parent_job_info: bool = False,
        git_branch: str | None = None,
        git_sha: str | None = None,
        threads_override: int | None = None,
        target_name_override: str | None = None,
        dbt_version_override: str | None = None,
        generate_docs_override: bool | None = None,
        timeout_seconds_override: int | None = None,
        fail_fast_on_cancel: bool = True,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.job_id = job_id
        self.project_name = project_name
        self.environment_name = environment_name
        self.job_name = job_name
        self.account_id = account_id
        self.trigger_reason = trigger_reason
        self.steps_override = steps_override
        self.schema_override = schema_override
        self.wait_for_termination = wait_for_termination
        self.timeout = timeout
        self.check_interval = check_interval
        self.additional_run_config = additional_run_config or {}
        self.reuse_existing_run = reuse_existing_run
        self.retry_from_failure = retry_from_failure
        self.deferrable = deferrable
        self.hook_params = hook_params or {}
        self.openlineage_inject_parent_job_info = openlineage_inject_parent_job_info
        self.git_branch = git_branch
        self.git_sha = git_sha
        self.threads_override = threads_override
        self.target_name_override = target_name_override
        self.dbt_version_override = dbt_version_override
        self.generate_docs_override = generate_docs_override
        self.timeout_seconds_override = timeout_seconds_override
        self.fail_fast_on_cancel = fail_fast_on_cancel
        self.error_budget = error_budget
        self.run_id: int | None = None
        self._run_url: str | None = None

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return DbtCloudHook(self.dbt_cloud_conn_id, **self.hook_params)

    def _build_request(self, context: Context) -> RunRequest:
        body = validate_overrides(
            steps_override=self.steps_override,
            schema_override=self.schema_override,
            additional_run_config=self.additional_run_config,
            git_branch=self.git_branch,
            git_sha=self.git_sha,
            threads_override=self.threads_override,
            target_name_override=self.target_name_override,
            dbt_version_override=self.dbt_version_override,
            generate_docs_override=self.generate_docs_override,
            timeout_seconds_override=self.timeout_seconds_override,
        )
        if self.job_id is None:
            if not (self.project_name and self.environment_name and self.job_name):
                raise ValueError(
                    "Either job_id or project_name, environment_name and job_name must be provided."
                )
            job = self.hook.get_job_by_name(
                project_name=self.project_name,
                environment_name=self.environment_name,
                job_name=self.job_name,
                account_id=self.account_id,
            )
            self.job_id = int(job["id"])
            self.log.info("Job %r resolved to id %s.", self.job_name, self.job_id)
        marker = marker_from_context(context)
        reason = self.trigger_reason or (
            f"Triggered via Apache Airflow by task {self.task_id!r} in the {self.dag_id} DAG."
        )
        return RunRequest(int(self.job_id), build_cause(reason, marker), marker, self.account_id, body)

    def execute(self, context: Context) -> int:
        """Find or start the run, publish it, then wait as configured.

        :param context: The Airflow task context.
        :return: The dbt Cloud run id.
        """
        if self.openlineage_inject_parent_job_info:
            self.log.warning(
                "openlineage_inject_parent_job_info is ignored: the cause carries the task marker."
            )
        request = self._build_request(context)
        run, how = obtain_run(
            self.hook,
            context,
            request,
            reuse_existing_run=self.reuse_existing_run,
            retry_from_failure=self.retry_from_failure and context["ti"].try_number > 1,
            log=self.log,
        )
        self.run_id = run_id = int(run["id"])
        store_run_id(context, request.marker, run_id)
        ui = self.hook.ui_base_url
        self._run_url = run_page_url(ui, run, self.account_id)
        context["ti"].xcom_push(key=JOB_RUN_URL_KEY, value=self._run_url)
        context["ti"].xcom_push(key="job_run_id", value=run_id)
        context["ti"].xcom_push(key=JOB_URL_KEY, value=job_page_url(ui, run, self.account_id))
        self.log.info("dbt Cloud run %s (%s) of job %s: %s", run_id, how, request.job_id, self._run_url)

        if not self.wait_for_termination:
            if self.deferrable:
                warnings.warn(
                    "deferrable has no effect when wait_for_termination is False.", UserWarning, stacklevel=2
                )
            return run_id
        outcome = classify(int(run["status"]))
        if outcome != "pending":
            return self._finish(outcome)
        if self.deferrable:
            now = time.time()
            self.defer(
                trigger=DbtCloudRunJobTrigger(
                    conn_id=self.dbt_cloud_conn_id,
                    run_id=run_id,
                    end_time=now + self.timeout,
                    poll_interval=self.check_interval,
                    account_id=self.account_id,
                    hook_params=self.hook_params,
                    execution_deadline=(
                        now + self.execution_timeout.total_seconds() if self.execution_timeout else None
                    ),
                    error_budget=self.error_budget,
                ),
                method_name="execute_complete",
                timeout=None,
            )
        return self._wait(run_id)

    def _wait(self, run_id: int) -> int:
        started = time.time()
        deadlines = Deadlines(started + self.timeout)
        budget = ErrorBudget(limit=self.error_budget, poll_interval=self.check_interval)
        last: int | None = None
        while True:
            pause: float = self.check_interval
            try:
                run = self.hook.get_run_data(run_id, self.account_id, include_related=("run_steps",))
            except DbtCloudError as exc:
                if not is_transient_error(exc) or not budget.record_error():
                    raise
                pause = budget.backoff(getattr(exc, "retry_after", None))
                self.log.warning("Transient error polling run %s, next poll in %.0fs: %s", run_id, pause, exc)
            else:
                budget.record_success()
                if run["status"] != last:
                    last = run["status"]
                    self.log.info("dbt Cloud run %s: %s", run_id, describe_progress(run, started))
                outcome = classify(int(run["status"]))
                if outcome != "pending":
                    return self._finish(outcome)
            passed = deadlines.passed(time.time())
            if passed is not None:
                self._cancel(f"the operator's {passed} of {self.timeout}s passed")
                raise DbtCloudJobRunException(f"Job run {run_id} did not finish within {self.timeout}s.")
            time.sleep(min(pause, deadlines.remaining(time.time())))

    def _finish(self, outcome: str) -> int:
        assert self.run_id is not None
        if outcome == "success":
            self.log.info("dbt Cloud run %s has completed successfully.", self.run_id)
            return self.run_id
        raise_for_failed_run(
            self.hook,
            self.run_id,
            outcome,
            account_id=self.account_id,
            url=self._run_url,
            fail_fast_on_cancel=self.fail_fast_on_cancel,
            log=self.log,
        )
        raise AssertionError("unreachable")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the trigger fired: return on success, otherwise cancel or report and raise.

        :param context: The Airflow task context.
        :param event: The trigger's event.
        :return: The dbt Cloud run id.
        """
        checked = validate_event(event)
        self.run_id = checked["run_id"]
        self._run_url = context["ti"].xcom_pull(task_ids=self.task_id, key=JOB_RUN_URL_KEY) or None
        status = checked["status"]
        if status in ("success", "error", "cancelled"):
            return self._finish(status)
        if status == "timeout":
            self._cancel(f"the task's {checked['reason'] or 'timeout'} passed")
            raise DbtCloudJobRunException(checked["message"])
        raise DbtCloudJobRunException(
            f"{checked['message']} The run was left as it is; a retry of this task waits on it again."
        )

    def _cancel(self, why: str) -> None:
        if self.run_id is None:
            return
        self.log.warning("Cancelling dbt Cloud run %s because %s.", self.run_id, why)
        try:
            self.hook.cancel_run(self.run_id, self.account_id)
        except DbtCloudError as exc:
            self.log.error("Could not cancel dbt Cloud run %s: %s", self.run_id, exc)
        else:
            self.log.info("Asked dbt Cloud to cancel run %s.", self.run_id)

    def on_kill(self) -> None:
        """Cancel the run when the task is killed or times out."""
        self._cancel("the task was killed or timed out")
