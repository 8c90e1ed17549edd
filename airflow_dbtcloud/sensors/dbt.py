"""The sensor that waits for a dbt Cloud run, by poking or in the triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_dbtcloud._transport.errors import DbtCloudError
from airflow_dbtcloud.api.calls import get_run, make_call
from airflow_dbtcloud.api.ids import optional_id, require_id, seconds_or_none
from airflow_dbtcloud.api.progress import RunProgress
from airflow_dbtcloud.api.run_state import RunState, parse_time
from airflow_dbtcloud.api.run_watch import PollErrors, RunFilter
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, status_name
from airflow_dbtcloud.api.waiting import (
    DEFAULT_ERROR_BUDGET,
    DbtCloudTriggerEventException,
    Waiter,
    validate_execute_complete_event,
)
from airflow_dbtcloud.assets.dbt import asset_outlet, publish_assets
from airflow_dbtcloud.hooks.errors import DbtCloudJobRunException
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names
from airflow_dbtcloud.hooks.run_outcome import raise_for_failed_run, settle_event
from airflow_dbtcloud.links.dbt import DbtCloudJobLink, DbtCloudRunJobOperatorLink, publish_run_links
from airflow_dbtcloud.sensors.next_run import NextRun
from airflow_dbtcloud.triggers.dbt import DbtCloudJobRunEventTrigger, DbtCloudRunJobTrigger, wait_arguments
from airflow_dbtcloud.utils.openlineage import (
    emit_dbt_cloud_run_end,
    emit_dbt_cloud_run_start,
    failed_run_lineage,
    generate_openlineage_events_from_dbt_cloud_run,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

# The official module exposes the event check and the lineage function too; keep them importable here.
__all__ = [
    "DbtCloudJobRunSensor",
    "DbtCloudJobRunSensorTimeout",
    "generate_openlineage_events_from_dbt_cloud_run",
    "validate_execute_complete_event",
]

# Imported on first use, so that a DAG file using this sensor does not import the hook.
__getattr__ = hook_names(__name__, "DbtCloudHook")


class DbtCloudJobRunSensorTimeout(DbtCloudJobRunException, AirflowSensorTimeout):
    """The deferred sensor's timeout passed before the run ended (``soft_fail`` applies, as when poking)."""


class DbtCloudJobRunSensor(BaseSensorOperator):
    """Wait for a dbt Cloud run to end, or for the next run of a job; fail with the failure report.

    With ``run_id``: wait for that run; it fails the task with the failure report when the run errors
    or is cancelled. With ``job_id`` instead: wait for the job's next run to end in one of ``statuses``,
    whoever starts it (dbt Cloud's scheduler, CI, a person), and return its id; runs that ended before
    the sensor started do not count unless ``started_after`` says from when they do.

    Poking survives transient API errors (a budget of them in a row); deferred, the wait runs in the
    triggerer with the same policy. The run's pages are pushed to XCom for the extra links.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param run_id: The dbt Cloud run id to wait for.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param deferrable: Wait in the triggerer instead of poking on the worker.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param fail_fast_on_cancel: A run cancelled in dbt Cloud fails the task without further retries.
    :param error_budget: How many transient API errors in a row the wait survives.
    :param expected_duration: With ``run_id``: how long the run should take at most (seconds or a
        ``timedelta``); a wait that lasts longer logs a warning once. Not with ``mode="reschedule"``,
        whose pokes do not know when the wait began (such pokes log no live progress either).
    :param emit_assets: After the run succeeds, add one asset event per model, seed and snapshot it
        built to the ``AssetAlias`` in ``outlets`` (required with ``run_id``; with ``job_id`` the
        default alias ``dbt_cloud__job_<job_id>`` is used; an alias in ``outlets`` also turns this
        on). See ``docs/assets.md``.
    :param job_id: Wait for the next run of this job instead of a given run (give one of ``run_id``
        and ``job_id``). Poke or deferrable mode: ``mode="reschedule"`` would forget between pokes
        which runs it has seen.
    :param statuses: With ``job_id``: the end statuses that count (10 success, 20 error, 30 cancelled).
    :param started_after: With ``job_id``: count runs created at or after this moment (a datetime or
        ISO 8601 text), including ones that already ended, instead of only runs ending from now on.
    :return: With ``job_id``, the id of the run found.
    """

    template_fields: Sequence[str] = ("dbt_cloud_conn_id", "run_id", "account_id", "job_id", "started_after")
    operator_extra_links = (DbtCloudRunJobOperatorLink(), DbtCloudJobLink())

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
        run_id: int | None = None,
        account_id: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        hook_params: dict[str, Any] | None = None,
        fail_fast_on_cancel: bool = True,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        emit_assets: bool = False,
        job_id: int | None = None,
        statuses: Sequence[int] = (DbtCloudJobRunStatus.SUCCESS.value,),
        started_after: datetime | str | None = None,
        expected_duration: float | timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        if (run_id is None) == (job_id is None):
            raise ValueError("Give DbtCloudJobRunSensor one of run_id (a run) and job_id (a job's next run).")
        if job_id is not None and kwargs.get("mode") == "reschedule":
            raise ValueError(
                "mode='reschedule' cannot wait for a job's next run (job_id): the sensor would forget "
                "between pokes which runs it has seen. Use mode='poke' or deferrable=True."
            )
        if expected_duration is not None and kwargs.get("mode") == "reschedule":
            raise ValueError(
                "expected_duration needs mode='poke' or deferrable=True: in mode='reschedule' each poke "
                "starts afresh and cannot tell how long the wait has lasted."
            )
        if deferrable:
            kwargs.setdefault("poke_interval", 5)
            kwargs.setdefault("timeout", 60 * 60 * 24 * 7)
        super().__init__(**kwargs)
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.run_id: Any = run_id  # templated: an int, or text to read with require_id
        self.account_id = account_id
        self.deferrable = deferrable
        self.hook_params = hook_params or {}
        self.fail_fast_on_cancel = fail_fast_on_cancel
        self.error_budget = error_budget
        self.expected_duration = seconds_or_none("expected_duration", expected_duration)
        self.job_id = job_id
        self.statuses = tuple(statuses)
        self.started_after = started_after
        self._waiter: Waiter | None = None
        self._progress: RunProgress | None = None
        self._next_run: NextRun | None = None
        self.emit_assets, self.asset_alias = asset_outlet(
            self, emit_assets, job_id, parameter="sensor" if job_id is None else "job_id"
        )

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Check the run once (with ``job_id``: look once for the job's next run).

        :param context: The Airflow task context.
        :return: ``True`` when the run succeeded, ``False`` while it is going (or while dbt Cloud has
            transient errors, within the budget); with ``job_id``, the run found as the XCom value.
        :raises DbtCloudJobRunException: When the run errored or was cancelled, with the failure report.
        """
        if self._next_run is not None:
            return self._poke_next_run(context)
        self.run_id = require_id("run_id", self.run_id)  # also when poke is called without execute
        if self._waiter is None:
            # Only the error budget of this waiter is used; BaseSensorOperator owns timing and deadlines.
            self._waiter = Waiter(
                int(self.run_id),
                self.poke_interval,
                float("inf"),
                error_budget=self.error_budget,
                expected_duration=self.expected_duration,
            )
            # Rescheduled pokes start afresh: each would log the run's whole progress so far again.
            progress = (
                None
                if self.mode == "reschedule"
                else self.hook.live_progress(int(self.run_id), self.account_id)
            )
            self._progress = progress if isinstance(progress, RunProgress) else None  # not for a test double
        try:
            if self._progress is None:
                status = self.hook.get_job_run_status(run_id=self.run_id, account_id=self.account_id)
            else:
                status, self._progress = self.hook.poll_run_status(
                    int(self.run_id), self.account_id, self._progress
                )
        except DbtCloudError as exc:
            step = self._waiter.after_error(exc)
            if step.outcome is not None:
                raise
            self.log.warning("%s", step.warning)
            return False
        step = self._waiter.after_status(status)
        if step.outcome is None:
            if step.note:
                self.log.info("%s", step.note)
            if step.warning:
                self.log.warning("%s", step.warning)
            return False
        if step.outcome.end == "reached":
            return True
        cancelled = status == DbtCloudJobRunStatus.CANCELLED.value
        raise_for_failed_run(
            self.hook,
            self.run_id,
            self.account_id,
            f"Job run {self.run_id} has been cancelled."
            if cancelled
            else f"Job run {self.run_id} has failed.",
            cancelled=cancelled,
            fail_fast_on_cancel=self.fail_fast_on_cancel,
            log=self.log,
        )

    def execute(self, context: Context) -> Any:
        """Publish the run's pages, then poke, or check once and defer to the trigger.

        :param context: The Airflow task context.
        """
        self.account_id = optional_id("account_id", self.account_id)
        if self.job_id is not None:
            return self._execute_next_run(context)
        self.run_id = require_id("run_id", self.run_id)
        if context.get("ti") is not None:
            run = make_call(get_run(self.run_id, self.account_id), self.hook)
            publish_run_links(context["ti"], run, lambda: self.hook.ui_base_url, self.account_id)
            emit_dbt_cloud_run_start(context["ti"], run, account_id=self.account_id)
        with self._failed_run_lineage(context):
            if not self.deferrable:
                super().execute(context)
                return self._succeeded(context)
            if self.poke(context):
                return self._succeeded(context)
        trigger = DbtCloudRunJobTrigger(
            **wait_arguments(
                conn_id=self.dbt_cloud_conn_id,
                run_id=self.run_id,
                account_id=self.account_id,
                poll_interval=self.poke_interval,
                timeout=self.timeout,
                execution_timeout=None,
                hook_params=self.hook_params,
                error_budget=self.error_budget,
                expected_duration=self.expected_duration,
            )
        )
        self.defer(timeout=self.execution_timeout, trigger=trigger, method_name="execute_complete")
        return None

    def _execute_next_run(self, context: Context) -> Any:
        """Wait for the job's next run: poke, or check once and defer to the watching trigger."""
        self.job_id = require_id("job_id", self.job_id)
        started_after = parse_time(self.started_after)
        self._next_run = NextRun(
            self.job_id, self.account_id, RunFilter(frozenset(self.statuses), started_after=started_after)
        )
        self._errors = PollErrors(self.poke_interval, self.error_budget)
        self.log.info(
            "Waiting for the next run of dbt Cloud job %s that ends %s%s.",
            self.job_id,
            " or ".join(status_name(status) for status in sorted(self._next_run.run_filter.statuses)),
            f", created from {started_after.isoformat()}" if started_after else "",
        )
        if not self.deferrable:
            return super().execute(context)
        if self._poke_next_run(context):
            return self.run_id
        trigger = DbtCloudJobRunEventTrigger(
            job_id=self.job_id,
            conn_id=self.dbt_cloud_conn_id,
            account_id=self.account_id,
            statuses=sorted(self._next_run.run_filter.statuses),
            started_after=started_after.isoformat() if started_after else None,
            poll_interval=self.poke_interval,
            error_budget=self.error_budget,
            hook_params=self.hook_params,
            marks=self._next_run.state(),
            fire_once=True,
        )
        self.defer(
            trigger=trigger, method_name="execute_complete_next_run", timeout=timedelta(seconds=self.timeout)
        )
        return None

    def _poke_next_run(self, context: Context) -> bool | PokeReturnValue:
        """Look once for the job's next run; on finding it, publish it and finish."""
        assert self._next_run is not None
        try:
            found = self._next_run.poll(self.hook)
        except DbtCloudError as exc:
            pause = self._errors.pause_after(exc)
            if pause is None:
                raise
            self.log.warning(
                "Transient error polling the runs of dbt Cloud job %s (%s/%s): %s",
                self.job_id,
                self._errors.in_a_row,
                self._errors.budget,
                exc,
            )
            return False
        self._errors.succeeded()
        if found is None:
            return False
        self._found(context, found)
        return PokeReturnValue(is_done=True, xcom_value=found.id)

    def _found(self, context: Context, run: RunState) -> None:
        """Take the run found as the sensor's run: its links, lineage and asset events."""
        self.run_id = run.id
        page = None
        if context.get("ti") is not None:
            page = publish_run_links(context["ti"], run, lambda: self.hook.ui_base_url, self.account_id)
            emit_dbt_cloud_run_start(context["ti"], run, account_id=self.account_id)
        self.log.info(
            "dbt Cloud run %s of job %s ended %s: %s", run.id, self.job_id, run.label, page or "no URL"
        )
        if run.status == DbtCloudJobRunStatus.SUCCESS.value:
            self._succeeded(context)
        else:
            emit_dbt_cloud_run_end(context.get("ti"), run, False, hook=self.hook, account_id=self.account_id)

    def execute_complete_next_run(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the watching trigger found the job's next run.

        :param context: The Airflow task context.
        :param event: The trigger's event: the run found (see ``run_event``).
        :return: The run's id.
        :raises DbtCloudTriggerEventException: When the event does not name a run.
        """
        if not isinstance(event, dict) or not isinstance(event.get("run_id"), int):
            raise DbtCloudTriggerEventException(f"The trigger did not name a dbt Cloud run: {event!r}")
        self.account_id = optional_id("account_id", self.account_id)
        run = make_call(get_run(event["run_id"], self.account_id), self.hook)
        self._found(context, run)
        return run.id

    def _failed_run_lineage(self, context: Context) -> Any:
        """Send the run's OpenLineage FAIL when the block raises for a run that failed."""
        return failed_run_lineage(context.get("ti"), self.hook, self.run_id, self.account_id)

    def _succeeded(self, context: Context) -> None:
        """Finish a task whose run succeeded: send its lineage and add the asset events it owes."""
        run = RunState(id=int(self.run_id))
        emit_dbt_cloud_run_end(context.get("ti"), run, True, hook=self.hook, account_id=self.account_id)
        if self.emit_assets:
            publish_assets(context, self.hook, int(self.run_id), self.account_id, self.asset_alias, self.log)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the trigger fired.

        :param context: The Airflow task context.
        :param event: The trigger's event.
        :return: The run id when the run succeeded.
        :raises DbtCloudJobRunSensorTimeout: When the sensor's timeout passed.
        :raises DbtCloudJobRunException: When the run failed or dbt Cloud could not be asked.
        """
        with self._failed_run_lineage(context):
            outcome = settle_event(
                self.hook, event, self.account_id, fail_fast_on_cancel=self.fail_fast_on_cancel, log=self.log
            )
        if outcome.end == "reached":
            self._succeeded(context)
            self.log.info(outcome.message)
            return int(outcome.run_id or 0)
        if outcome.end in ("timeout", "execution_timeout"):
            raise DbtCloudJobRunSensorTimeout(outcome.message)
        raise DbtCloudJobRunException(outcome.message)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Return no lineage for the listener: the sensor itself has sent the run's lineage.

        See :meth:`DbtCloudRunJobOperator.get_openlineage_facets_on_complete
        <airflow_dbtcloud.operators.dbt.DbtCloudRunJobOperator.get_openlineage_facets_on_complete>`.

        :param task_instance: The task instance.
        :return: An empty ``OperatorLineage``.
        """
        from airflow.providers.openlineage.extractors import OperatorLineage

        return OperatorLineage()
