"""Record the assets a dbt Cloud run built when the task that ran it could not: after it failed."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airflow_dbtcloud.api.ids import optional_id, require_id
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus
from airflow_dbtcloud.assets.dbt import asset_outlet, publish_assets
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = ["DbtCloudRunAssetsOperator"]

# Imported on first use, so that a DAG file using this operator does not import the hook.
__getattr__ = hook_names(__name__, "DbtCloudHook")


class DbtCloudRunAssetsOperator(BaseOperator):
    """Add one asset event per model, seed and snapshot a finished dbt Cloud run built, whatever its outcome.

    Airflow records a task's asset events only when the task succeeds, so when a run errors, the task
    that ran it fails and emits nothing, even for the tables the run did build before the error. Put
    this operator after that task with ``trigger_rule="all_failed"``; it reads the same run and succeeds
    with the events of the nodes that were built (those that errored or were skipped have none)::

        build = DbtCloudRunJobOperator(task_id="build", job_id=300, emit_assets=True)
        after_failure = DbtCloudRunAssetsOperator(
            task_id="assets_of_failed_build",
            run_id="{{ ti.xcom_pull(task_ids='build', key='job_run_id') }}",
            job_id=300,
            trigger_rule="all_failed",
        )
        build >> after_failure

    The task skips when there is no run (the task before it failed before starting one) and when the
    run has not ended (that task gave up waiting): what a run built is known when it ends. See
    ``docs/assets.md``.

    :param run_id: The dbt Cloud run id, usually the ``job_run_id`` XCom of the task that ran it.
    :param job_id: The run's job id, to name the default alias ``dbt_cloud__job_<job_id>``; not needed
        when ``outlets`` has an ``AssetAlias`` (use the same alias as the run's task).
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :return: How many asset events were added.
    """

    template_fields: Sequence[str] = ("dbt_cloud_conn_id", "run_id", "account_id")

    def __init__(
        self,
        *,
        run_id: int | str,
        job_id: int | None = None,
        account_id: int | None = None,
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.job_id = job_id
        self.account_id = account_id
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.hook_params = hook_params or {}
        _, self.asset_alias = asset_outlet(self, True, job_id)

    @cached_property
    def hook(self) -> DbtCloudHook:
        """The dbt Cloud hook built from ``dbt_cloud_conn_id`` and ``hook_params``."""
        return hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)

    def execute(self, context: Context) -> int:
        """Add the events of what the run built, or skip while it is still going.

        :param context: The Airflow task context.
        :raises AirflowSkipException: When there is no run, or it has not ended.
        """
        # An XCom pulled from a task that never started a run renders as "None".
        if self.run_id is None or str(self.run_id).strip() in ("", "None"):
            raise AirflowSkipException("No dbt Cloud run to read: run_id is empty.")
        run_id = require_id("run_id", self.run_id)
        account_id = optional_id("account_id", self.account_id)
        status = self.hook.get_job_run_status(run_id=run_id, account_id=account_id)
        if not DbtCloudJobRunStatus.is_terminal(status):
            raise AirflowSkipException(
                f"dbt Cloud run {run_id} is still {DbtCloudJobRunStatus(status).name}; "
                "what it built is known only when it ends."
            )
        return len(publish_assets(context, self.hook, run_id, account_id, self.asset_alias, self.log))
