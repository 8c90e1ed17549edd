"""The sensor that waits for a dbt Cloud run, by poking or in the triggerer."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_dbtcloud.api.calls import get_run, make_call
from airflow_dbtcloud.api.ids import optional_id, require_id
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.waiting import DEFAULT_ERROR_BUDGET, Waiter
from airflow_dbtcloud.assets.dbt import asset_outlet, publish_assets
from airflow_dbtcloud.hooks.dbt import (
    DbtCloudError,
    DbtCloudHook,
    DbtCloudJobRunException,
    DbtCloudJobRunStatus,
    validate_execute_complete_event,
)
from airflow_dbtcloud.hooks.run_outcome import raise_for_failed_run, settle_event
from airflow_dbtcloud.links.dbt import DbtCloudJobLink, DbtCloudRunJobOperatorLink, publish_run_links
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger, wait_arguments
from airflow_dbtcloud.utils.openlineage import (
    emit_dbt_cloud_run_end,
    emit_dbt_cloud_run_start,
    failed_run_lineage,
    generate_openlineage_events_from_dbt_cloud_run,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

# The official module exposes the event check and the lineage function too; keep them importable here.
__all__ = [
    "DbtCloudJobRunSensor",
    "DbtCloudJobRunSensorTimeout",
    "generate_openlineage_events_from_dbt_cloud_run",
    "validate_execute_complete_event",
]


class DbtCloudJobRunSensorTimeout(DbtCloudJobRunException, AirflowSensorTimeout):
    """The deferred sensor's timeout passed before the run ended (``soft_fail`` applies, as when poking)."""


class DbtCloudJobRunSensor(BaseSensorOperator):
    """Wait for a dbt Cloud run to end; fail with the failure report when it errors or is cancelled.

    Poking survives transient API errors (a budget of them in a row); deferred, the wait runs in the
    triggerer with the same policy. The run's pages are pushed to XCom for the extra links.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param run_id: The dbt Cloud run id.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param deferrable: Wait in the triggerer instead of poking on the worker.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param fail_fast_on_cancel: A run cancelled in dbt Cloud fails the task without further retries.
    :param error_budget: How many transient API errors in a row the wait survives.
    :param emit_assets: After the run succeeds, add one asset event per model, seed and snapshot it
        built to the ``AssetAlias`` in ``outlets`` (required; an alias in ``outlets`` also turns this
        on). See ``docs/assets.md``.
    """

    template_fields: Sequence[str] = ("dbt_cloud_conn_id", "run_id", "account_id")
    operator_extra_links = (DbtCloudRunJobOperatorLink(), DbtCloudJobLink())

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DbtCloudHook.default_conn_name,
        run_id: int,
        account_id: int | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        hook_params: dict[str, Any] | None = None,
        fail_fast_on_cancel: bool = True,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        emit_assets: bool = False,
        **kwargs: Any,
    ) -> None:
        if deferrable:
            kwargs.setdefault("poke_interval", 5)
            kwargs.setdefault("timeout", 60 * 60 * 24 * 7)
        super().__init__(**kwargs)
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.run_id = run_id
        self.account_id = account_id
        self.deferrable = deferrable
        self.hook_params = hook_params or {}
        self.fail_fast_on_cancel = fail_fast_on_cancel
        self.error_budget = error_budget
        self._waiter: Waiter | None = None
        self.emit_assets, self.asset_alias = asset_outlet(self, emit_assets, None, parameter="sensor")

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return DbtCloudHook(self.dbt_cloud_conn_id, **self.hook_params)

    def poke(self, context: Context) -> bool:
        """Check the run once.

        :param context: The Airflow task context.
        :return: ``True`` when the run succeeded, ``False`` while it is going (or while dbt Cloud has
            transient errors, within the budget).
        :raises DbtCloudJobRunException: When the run errored or was cancelled, with the failure report.
        """
        if self._waiter is None:
            # Only the error budget of this waiter is used; BaseSensorOperator owns timing and deadlines.
            self._waiter = Waiter(
                int(self.run_id), self.poke_interval, float("inf"), error_budget=self.error_budget
            )
        try:
            status = self.hook.get_job_run_status(run_id=self.run_id, account_id=self.account_id)
        except DbtCloudError as exc:
            step = self._waiter.after_error(exc)
            if step.outcome is not None:
                raise
            self.log.warning("%s", step.warning)
            return False
        step = self._waiter.after_status(status)
        if step.outcome is None:
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
        self.run_id = require_id("run_id", self.run_id)
        self.account_id = optional_id("account_id", self.account_id)
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
            )
        )
        self.defer(timeout=self.execution_timeout, trigger=trigger, method_name="execute_complete")
        return None

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
