"""The sensor that waits for a dbt Cloud run, by poking or in the triggerer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, conf
from airflow.sdk.exceptions import AirflowSensorTimeout

from airflow_dbtcloud.api.status import classify
from airflow_dbtcloud.hooks.dbt import (
    DbtCloudError,
    DbtCloudHook,
    DbtCloudJobRunException,
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
from airflow_dbtcloud.triggers.dbt import DbtCloudRunJobTrigger
from airflow_dbtcloud.utils.events import validate_event
from airflow_dbtcloud.utils.outcome import raise_for_failed_run
from airflow_dbtcloud.utils.polling import DEFAULT_ERROR_BUDGET, ErrorBudget

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DbtCloudJobRunSensor"]


class DbtCloudJobRunSensor(BaseSensorOperator):
    """Wait for a dbt Cloud run to end; fail with the failure output when it errors or is cancelled.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param run_id: The dbt Cloud run id.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param deferrable: Wait in the triggerer instead of poking on the worker.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param fail_fast_on_cancel: A run cancelled in dbt Cloud fails the task without further retries.
    :param error_budget: How many transient API errors in a row the wait survives.
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
        self._budget = ErrorBudget(limit=error_budget)
        self._published = False
        self._url: str | None = None

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return DbtCloudHook(self.dbt_cloud_conn_id, **self.hook_params)

    def _fail(self, outcome: str) -> None:
        raise_for_failed_run(
            self.hook,
            int(self.run_id),
            outcome,
            account_id=self.account_id,
            url=self._url,
            fail_fast_on_cancel=self.fail_fast_on_cancel,
            log=self.log,
        )

    def poke(self, context: Context) -> bool:
        """Check the run once.

        :param context: The Airflow task context.
        :return: ``True`` when the run succeeded, ``False`` while it is going (or dbt Cloud had a
            transient error within the budget).
        :raises DbtCloudJobRunException: When the run errored or was cancelled, with the failure output.
        """
        try:
            run = self.hook.get_run_data(int(self.run_id), self.account_id)
        except DbtCloudError as exc:
            if not is_transient_error(exc) or not self._budget.record_error():
                raise
            self.log.warning("Transient error checking run %s; will poke again: %s", self.run_id, exc)
            return False
        self._budget.record_success()
        if not self._published:
            ui = self.hook.ui_base_url
            self._url = run_page_url(ui, run, self.account_id)
            context["ti"].xcom_push(key=JOB_RUN_URL_KEY, value=self._url)
            context["ti"].xcom_push(key=JOB_URL_KEY, value=job_page_url(ui, run, self.account_id))
            self._published = True
        outcome = classify(int(run["status"]))
        self.log.info("dbt Cloud run %s is %s.", self.run_id, run.get("status_humanized") or outcome)
        if outcome in ("error", "cancelled"):
            self._fail(outcome)
        return outcome == "success"

    def execute(self, context: Context) -> Any:
        """Poke, or check once and defer to the trigger.

        :param context: The Airflow task context.
        """
        if not self.deferrable:
            return super().execute(context)
        now = time.time()
        if not self.poke(context):
            self.defer(
                trigger=DbtCloudRunJobTrigger(
                    conn_id=self.dbt_cloud_conn_id,
                    run_id=int(self.run_id),
                    end_time=now + self.timeout,
                    poll_interval=self.poke_interval,
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
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> int:
        """Resume after the trigger fired.

        :param context: The Airflow task context.
        :param event: The trigger's event.
        :return: The run id when the run succeeded.
        :raises AirflowSensorTimeout: When a deadline passed.
        :raises DbtCloudJobRunException: When the run failed or dbt Cloud could not be asked.
        """
        checked = validate_event(event)
        self._url = context["ti"].xcom_pull(task_ids=self.task_id, key=JOB_RUN_URL_KEY) or None
        status = checked["status"]
        if status == "success":
            self.log.info("%s", checked["message"])
            return checked["run_id"]
        if status in ("error", "cancelled"):
            self._fail(status)
        if status == "timeout":
            raise AirflowSensorTimeout(checked["message"])
        raise DbtCloudJobRunException(checked["message"])
