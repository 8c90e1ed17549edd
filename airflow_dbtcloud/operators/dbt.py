"""Operators for dbt Cloud: run a job exactly once per task try, download artifacts, list jobs and runs.

The artifact and listing operators live in :mod:`~airflow_dbtcloud.operators.artifacts` and
:mod:`~airflow_dbtcloud.operators.listing`; they are importable from here, where the official provider
has them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import BaseOperator, conf

from airflow_dbtcloud.api.calls import drive_calls
from airflow_dbtcloud.api.ids import optional_id, require_id, seconds_or_none
from airflow_dbtcloud.api.jobs import TYPED_OVERRIDES, merge_overrides, trigger_fields
from airflow_dbtcloud.api.lifecycle import ObtainedRun, RunRequest, build_cause, obtain_run, reason_room
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus
from airflow_dbtcloud.api.waiting import DEFAULT_ERROR_BUDGET, validate_execute_complete_event
from airflow_dbtcloud.assets.dbt import asset_outlet, publish_assets
from airflow_dbtcloud.hooks.errors import (
    DbtCloudJobRunCancelledError,
    DbtCloudJobRunException,
    DbtCloudJobRunFailedError,
    DbtCloudJobRunTimeoutError,
)
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names
from airflow_dbtcloud.hooks.run_outcome import NOT_RETRYING, raise_for_failed_run, settle_event
from airflow_dbtcloud.links.dbt import DbtCloudJobLink, DbtCloudRunJobOperatorLink, publish_run_links
from airflow_dbtcloud.operators.artifacts import DbtCloudGetJobRunArtifactOperator
from airflow_dbtcloud.operators.listing import DbtCloudListJobRunsOperator, DbtCloudListJobsOperator
from airflow_dbtcloud.operators.task_state import (
    TaskIdentity,
    load_run_id,
    report_decision,
    resume_decision,
    save_run_id,
)
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger, wait_arguments
from airflow_dbtcloud.utils.openlineage import (
    emit_dbt_cloud_run_end,
    emit_dbt_cloud_run_start,
    failed_run_lineage,
    generate_openlineage_events_from_dbt_cloud_run,
    inject_parent_job_information_into_dbt_cloud_cause,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dbtcloud.hooks.dbt import DbtCloudHook, JobRunInfo

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
    "JobRunInfo",
    "generate_openlineage_events_from_dbt_cloud_run",
    "inject_parent_job_information_into_dbt_cloud_cause",
    "validate_execute_complete_event",
]

# Imported on first use: the hook module is what makes importing it slow, and a DAG file never needs it.
__getattr__ = hook_names(__name__, "DbtCloudHook", "JobRunInfo")


class DbtCloudRunJobOperator(BaseOperator):
    """Run a dbt Cloud job, starting at most one new run per task try, and optionally wait for it.

    The run id goes to ``task_state_store`` before any wait, and a marker identifying the task instance
    goes in the run's ``cause``; a retry of the task (``durable=True``) finds the run an earlier try
    started and reattaches to it instead of starting another, even when the earlier try died between
    starting the run and storing its id. A cleared task instance starts a new run. The run id and URL
    are pushed to XCom (``job_run_id``, ``job_run_url``) as soon as the run exists.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param job_id: The dbt Cloud job id. Required unless ``project_name``, ``environment_name`` and
        ``job_name`` are given.
    :param project_name: The project's name, used to find the job when ``job_id`` is ``None``.
    :param environment_name: The environment's name, used to find the job when ``job_id`` is ``None``.
    :param job_name: The job's name, used to find the job when ``job_id`` is ``None``.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's login.
    :param trigger_reason: Why the job runs; a marker identifying the task instance is appended.
        ``None`` gives "Triggered via Apache Airflow by task <task_id> in the <dag_id> DAG."
    :param steps_override: dbt commands to run instead of the job's, each starting with ``"dbt "``.
    :param schema_override: The schema to build into instead of the job's.
    :param wait_for_termination: Wait for the run to end. ``False`` returns once the run exists.
    :param timeout: How long to wait for the run, in seconds; when it passes the run is cancelled.
    :param check_interval: The pause between status checks, in seconds.
    :param additional_run_config: Further trigger-body fields, sent as they are.
    :param reuse_existing_run: With no earlier try's run to reattach to, adopt the job's newest run that
        has not ended yet, whoever started it, instead of starting one.
    :param retry_from_failure: On a task retry, retry the earlier try's failed run from its point of
        failure (POST ``/runs/{id}/retry/``) instead of starting a new run.
    :param deferrable: Wait in the triggerer instead of on the worker.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param openlineage_inject_parent_job_info: Send this task's OpenLineage parent and root run as the
        run's ``cause``, in place of ``trigger_reason`` (the marker still ends it; the root is left out
        when both do not fit).
    :param durable: Let a retry reattach to the run an earlier try of the same task instance started
        (stored id, else marker). ``False`` starts a new run on every try.
    :param git_branch: The git branch to check out.
    :param git_sha: The git commit to check out (7 to 40 hexadecimal characters).
    :param threads_override: The number of dbt threads.
    :param target_name_override: The dbt target name.
    :param dbt_version_override: The dbt version.
    :param generate_docs_override: Whether to generate docs.
    :param timeout_seconds_override: dbt Cloud's own run timeout, in seconds.
    :param fail_fast_on_cancel: A run cancelled in dbt Cloud fails the task without further retries.
    :param cancel_on_kill: Cancel the run when Airflow kills the task (``on_kill``: SIGTERM from a
        worker shutting down or a person marking the task failed, and ``execution_timeout`` on the
        worker). False leaves the run going, so that the task's retry reattaches to it: for workers
        that are stopped and replaced (a Kubernetes pod evicted during a deploy). The operator's own
        ``timeout`` still cancels.
    :param error_budget: How many transient API errors in a row a wait survives.
    :param expected_duration: How long the run should take at most (seconds or a ``timedelta``); a wait
        that lasts longer logs a warning once, and keeps waiting (``timeout`` is what stops it).
    :param emit_assets: After the run succeeds, add one asset event per model, seed and snapshot it
        built to an ``AssetAlias`` outlet: the first one in ``outlets``, else
        ``dbt_cloud__job_<job_id>`` (added to ``outlets``; ``job_id`` must then be a number). An
        ``AssetAlias`` in ``outlets`` turns this on by itself (unless ``wait_for_termination`` is False).
        See ``docs/assets.md``.
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
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
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
        openlineage_inject_parent_job_info: bool = conf.getboolean(
            "openlineage", "spark_inject_parent_job_info", fallback=False
        ),
        durable: bool = True,
        git_branch: str | None = None,
        git_sha: str | None = None,
        threads_override: int | None = None,
        target_name_override: str | None = None,
        dbt_version_override: str | None = None,
        generate_docs_override: bool | None = None,
        timeout_seconds_override: int | None = None,
        fail_fast_on_cancel: bool = True,
        cancel_on_kill: bool = True,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        emit_assets: bool = False,
        expected_duration: float | timedelta | None = None,
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
        self.durable = durable
        self.git_branch = git_branch
        self.git_sha = git_sha
        self.threads_override = threads_override
        self.target_name_override = target_name_override
        self.dbt_version_override = dbt_version_override
        self.generate_docs_override = generate_docs_override
        self.timeout_seconds_override = timeout_seconds_override
        self.fail_fast_on_cancel = fail_fast_on_cancel
        self.cancel_on_kill = cancel_on_kill
        self.error_budget = error_budget
        self.expected_duration = seconds_or_none("expected_duration", expected_duration)
        self.run_id: int | None = None
        if emit_assets and not wait_for_termination:
            raise ValueError(
                "emit_assets=True needs wait_for_termination=True: the task would end before the run "
                "built anything. Wait for the run with DbtCloudJobRunSensor(emit_assets=True) instead."
            )
        self.emit_assets, self.asset_alias = (
            asset_outlet(self, emit_assets, job_id) if wait_for_termination else (False, None)
        )

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)

    def _run_config(self) -> dict[str, Any]:
        """``additional_run_config`` with the typed overrides merged in."""
        return merge_overrides(
            self.additional_run_config, {name: getattr(self, name) for name in TYPED_OVERRIDES}
        )

    def _resolve_job_id(self) -> int:
        if self.job_id is not None:
            return require_id("job_id", self.job_id)
        if not (self.project_name and self.environment_name and self.job_name):
            raise ValueError(
                "Either job_id or project_name, environment_name, and job_name must be provided."
            )
        job = self.hook.get_job_by_name(
            account_id=self.account_id,
            project_name=self.project_name,
            environment_name=self.environment_name,
            job_name=self.job_name,
        )
        self.log.info("Job %r resolved to id %s.", self.job_name, job["id"])
        return cast("int", job["id"])

    def _reason(self, context: Context, marker: str | None) -> str:
        """The trigger reason, or in its place the OpenLineage parent run when that is asked for."""
        reason = str(self.trigger_reason)
        if not self.openlineage_inject_parent_job_info:
            return reason
        if marker is None:
            injected = inject_parent_job_information_into_dbt_cloud_cause(reason, context["ti"])
        else:
            # The parent information gives way to the marker, which keeps the run exactly-once.
            injected = inject_parent_job_information_into_dbt_cloud_cause(
                reason, context["ti"], max_length=reason_room(marker)
            )
        return injected or reason

    def _obtain_run(self, context: Context) -> ObtainedRun:
        """Find the run an earlier try started, or start one, and remember it for later tries."""
        identity = TaskIdentity.from_context(context)
        marker = identity.marker(self.durable) if identity is not None else None
        run_config = self._run_config()
        # Checked before the first request, so bad input fails fast and names the field.
        trigger_fields(self.steps_override, self.schema_override, run_config)
        self.account_id = optional_id("account_id", self.account_id)
        self.job_id = self._resolve_job_id()
        request = RunRequest(
            job_id=self.job_id,
            cause=build_cause(self._reason(context, marker), marker),
            marker=marker,
            account_id=self.account_id,
            steps_override=self.steps_override,
            schema_override=self.schema_override,
            additional_run_config=run_config,
        )
        # The marker under which this task's runs are stored and looked for across tries, if any.
        tracked = marker if self.durable else None
        is_retry = context["ti"].try_number != 1
        with resume_decision(type(self).__name__) as span:
            obtained = drive_calls(
                obtain_run(
                    request,
                    stored_run_id=load_run_id(context, tracked) if tracked else None,
                    search_earlier=bool(tracked) and is_retry,
                    reuse_existing_run=self.reuse_existing_run,
                    retry_from_failure=bool(tracked) and self.retry_from_failure and is_retry,
                    # Without a way to find this task's own run, retry_from_failure keeps its official
                    # meaning: dbt Cloud reruns the job's latest run if that failed.
                    rerun_latest=not tracked and self.retry_from_failure and is_retry,
                    log=self.log,
                ),
                self.hook,
            )
            if tracked:
                report_decision(span, type(self).__name__, obtained, getattr(context["ti"], "stats_tags", {}))
        if tracked and not save_run_id(context, tracked, obtained.run.id):
            self.log.warning(
                "No task_state_store here; a retry will find run %s by its marker.", obtained.run.id
            )
        return obtained

    def execute(self, context: Context) -> int | None:
        """Find or start the run, publish it, then wait as configured.

        :param context: The Airflow task context.
        :return: The dbt Cloud run id.
        """
        if self.trigger_reason is None:
            self.trigger_reason = (
                f"Triggered via Apache Airflow by task {self.task_id!r} in the {self.dag_id} DAG."
            )
        obtained = self._obtain_run(context)
        run = obtained.run
        self.run_id = run.id
        url = publish_run_links(context["ti"], run, lambda: self.hook.ui_base_url, self.account_id)
        self.log.info(
            "dbt Cloud run %s of job %s (%s): %s",
            run.id,
            self.job_id,
            obtained.decision.replace("_", " "),
            url,
        )
        emit_dbt_cloud_run_start(context["ti"], run, account_id=self.account_id)
        # A run id that is not an int can only come from a test double standing in for the hook; like
        # the official operator, there is then nothing to wait for.
        if not (self.wait_for_termination and isinstance(run.id, int)):
            if self.deferrable:
                warnings.warn(
                    "Argument `wait_for_termination` is False and `deferrable` is True , hence "
                    "`deferrable` parameter doesn't have any effect",
                    UserWarning,
                    stacklevel=2,
                )
            return run.id
        with self._failed_run_lineage(context, run.id):
            if self.deferrable:
                return self._wait_deferred(context, run.id)
            return self._succeeded(context, self._wait(run.id))

    def _failed_run_lineage(self, context: Context, run_id: Any) -> Any:
        """Send the run's OpenLineage FAIL when the block raises for a run that failed or timed out."""
        # A timed-out run is cancelled by this task, so it has ended too.
        ends = (DbtCloudJobRunFailedError, DbtCloudJobRunTimeoutError)
        return failed_run_lineage(context["ti"], self.hook, run_id, self.account_id, ends)

    def _wait_deferred(self, context: Context, run_id: int) -> int | None:
        """Check the run once, as the official operator does, then defer to the trigger if it is going."""
        status = self.hook.get_job_run_status(run_id=run_id, account_id=self.account_id)
        if DbtCloudJobRunStatus.is_terminal(status):
            return self._succeeded(context, self._finish_at_first_check(run_id, status))
        execution_timeout = self.execution_timeout.total_seconds() if self.execution_timeout else None
        trigger = DbtCloudRunJobTrigger(
            **wait_arguments(
                conn_id=self.dbt_cloud_conn_id,
                run_id=run_id,
                account_id=self.account_id,
                poll_interval=self.check_interval,
                timeout=self.timeout,
                execution_timeout=execution_timeout,
                hook_params=self.hook_params,
                error_budget=self.error_budget,
                expected_duration=self.expected_duration,
            )
        )
        # timeout=None: the trigger enforces the deadlines, so execute_complete can cancel the run.
        self.defer(timeout=None, trigger=trigger, method_name="execute_complete")
        return None

    def _succeeded(self, context: Context, run_id: int) -> int:
        """Finish a task whose run succeeded: send its lineage, add its asset events, return the run id."""
        emit_dbt_cloud_run_end(
            context["ti"], RunState(id=run_id), True, hook=self.hook, account_id=self.account_id
        )
        if self.emit_assets:
            publish_assets(context, self.hook, run_id, self.account_id, self.asset_alias, self.log)
        return run_id

    def _finish_at_first_check(self, run_id: int, status: int) -> int:
        """Return or raise for a run that had already ended before the task could defer."""
        if status == DbtCloudJobRunStatus.SUCCESS.value:
            self.log.info("Job run %s has completed successfully.", run_id)
            return run_id
        raise_for_failed_run(
            self.hook,
            run_id,
            self.account_id,
            f"Job run {run_id} has failed or has been cancelled.",
            cancelled=status == DbtCloudJobRunStatus.CANCELLED.value,
            fail_fast_on_cancel=self.fail_fast_on_cancel,
            log=self.log,
        )

    def _wait(self, run_id: int) -> int:
        """Wait on the worker through the hook's ``wait_for_job_run_status``; cancel the run on timeout."""
        self.log.info("Waiting for job run %s to terminate.", run_id)
        # Only what differs from the defaults is passed, so the call stays the official one otherwise.
        extra: dict[str, Any] = (
            {"error_budget": self.error_budget} if self.error_budget != DEFAULT_ERROR_BUDGET else {}
        )
        if self.expected_duration is not None:
            extra["expected_duration"] = self.expected_duration
        try:
            self.hook.wait_for_job_run_status(
                run_id=run_id,
                account_id=self.account_id,
                expected_statuses=DbtCloudJobRunStatus.SUCCESS.value,
                check_interval=self.check_interval,
                timeout=self.timeout,
                **extra,
            )
        except DbtCloudJobRunTimeoutError:
            self._cancel(f"the operator's timeout of {self.timeout}s passed")
            raise
        except DbtCloudJobRunFailedError as exc:
            if exc.status == DbtCloudJobRunStatus.CANCELLED.value and self.fail_fast_on_cancel:
                raise DbtCloudJobRunCancelledError(f"{exc}\n{NOT_RETRYING}", exc.status) from exc
            raise
        self.log.info("Job run %s has completed successfully.", run_id)
        return run_id

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the trigger fired: return on success; otherwise report, cancel if needed, raise.

        :param context: The Airflow task context.
        :param event: The trigger's event.
        :return: The dbt Cloud run id.
        """
        with self._failed_run_lineage(context, event.get("run_id") if isinstance(event, dict) else None):
            outcome = settle_event(
                self.hook, event, self.account_id, fail_fast_on_cancel=self.fail_fast_on_cancel, log=self.log
            )
            self.run_id = outcome.run_id
            if outcome.end == "reached":
                self.log.info(outcome.message)
                return self._succeeded(context, int(outcome.run_id or 0))
            if outcome.end in ("timeout", "execution_timeout"):
                if self.run_id is None:
                    self.log.warning("No run_id found; skipping cancellation")
                else:
                    self._cancel(
                        "the operator's timeout passed" if outcome.end == "timeout" else "the task timed out"
                    )
                raise DbtCloudJobRunTimeoutError(outcome.message)
        raise DbtCloudJobRunException(
            f"Stopped following job run {self.run_id}: {outcome.message} The run was left as it is; a retry "
            "of this task reattaches to it."
        )

    def _cancel(self, why: str) -> None:
        """Ask dbt Cloud to cancel the run, best effort: a failure is logged, never raised."""
        if self.run_id is None:
            return
        self.log.warning("Cancelling dbt Cloud run %s because %s.", self.run_id, why)
        try:
            self.hook.cancel_job_run(account_id=self.account_id, run_id=self.run_id)
        # Cancelling is cleanup on the way to raising the real error, which it must not replace.
        except Exception:
            self.log.warning("Failed to cancel dbt Cloud run %s.", self.run_id, exc_info=True)

    def on_kill(self) -> None:
        """Cancel the run when the task is killed, then confirm the cancellation (best effort).

        With ``cancel_on_kill=False`` the run is left going, for the task's retry to reattach to.
        """
        if not self.run_id:
            return
        if not self.cancel_on_kill:
            self.log.warning(
                "The task was killed; leaving dbt Cloud run %s running (cancel_on_kill=False): "
                "a retry of this task reattaches to it.",
                self.run_id,
            )
            return
        self._cancel("the task was killed")
        try:
            if self.hook.wait_for_job_run_status(
                run_id=self.run_id,
                account_id=self.account_id,
                expected_statuses=DbtCloudJobRunStatus.CANCELLED.value,
                check_interval=self.check_interval,
                timeout=self.timeout,
            ):
                self.log.info("Job run %s has been cancelled successfully.", self.run_id)
        except DbtCloudJobRunException as exc:
            self.log.warning(
                "Failed to confirm cancellation of job run %s during task kill: %s", self.run_id, exc
            )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Return no lineage for the listener: the task itself has sent its run's lineage.

        The dbt Cloud job run's START, its nodes' events and its COMPLETE or FAIL are sent from inside
        the task (see :mod:`airflow_dbtcloud.utils.openlineage`), where no extraction timeout cuts them
        short; building them again here would send every node twice.

        :param task_instance: The task instance.
        :return: An empty ``OperatorLineage``.
        """
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage()
