"""List dbt Cloud jobs and runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_dbtcloud.hooks.dbt import DbtCloudHook

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DbtCloudListJobRunsOperator", "DbtCloudListJobsOperator"]


class DbtCloudListJobsOperator(BaseOperator):
    """List the jobs of a dbt Cloud account, optionally of one project.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param project_id: Only list this project's jobs.
    :param order_by: The field to order by; prefix ``-`` for descending, e.g. ``-id``.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :return: The job ids.
    """

    template_fields: Sequence[str] = ("account_id", "project_id", "dbt_cloud_conn_id")

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DbtCloudHook.default_conn_name,
        account_id: int | None = None,
        project_id: int | None = None,
        order_by: str | None = None,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.account_id = account_id
        self.project_id = project_id
        self.order_by = order_by
        self.hook_params = hook_params or {}

    def execute(self, context: Context) -> list[int]:
        """Return the ids of the matching jobs.

        :param context: The Airflow task context.
        """
        hook = DbtCloudHook(self.dbt_cloud_conn_id, **self.hook_params)
        jobs = hook.list_jobs_data(self.account_id, project_id=self.project_id, order_by=self.order_by)
        ids = [int(job["id"]) for job in jobs]
        self.log.info("Jobs in the dbt Cloud account: %s", ", ".join(map(str, ids)))
        return ids


class DbtCloudListJobRunsOperator(BaseOperator):
    """List the runs of a dbt Cloud account, optionally of one job.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param job_id: Only list this job's runs.
    :param order_by: The field to order by, e.g. ``-id``; ``None`` keeps dbt Cloud's order (by id), or
        ``-created_at`` with ``latest_only``.
    :param include_related: Related objects to include (on lists: ``trigger``, ``job``, ``audit``,
        ``debug_logs``).
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param latest_only: Return only the first run after ordering, or ``None`` when there is none.
    :param status_filter: Only runs with this status code, or one of these codes.
    :return: The runs (dicts), or one run / ``None`` with ``latest_only``.
    """

    template_fields: Sequence[str] = (
        "account_id",
        "job_id",
        "order_by",
        "include_related",
        "dbt_cloud_conn_id",
    )

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DbtCloudHook.default_conn_name,
        account_id: int | None = None,
        job_id: int | None = None,
        order_by: str | None = None,
        include_related: list[str] | None = None,
        hook_params: dict[str, Any] | None = None,
        latest_only: bool = False,
        status_filter: int | list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.account_id = account_id
        self.job_id = job_id
        self.order_by = order_by
        self.include_related = include_related
        self.hook_params = hook_params or {}
        self.latest_only = latest_only
        self.status_filter = status_filter

    def execute(self, context: Context) -> list[dict[str, Any]] | dict[str, Any] | None:
        """Return the matching runs.

        :param context: The Airflow task context.
        """
        hook = DbtCloudHook(self.dbt_cloud_conn_id, **self.hook_params)
        order_by = self.order_by or ("-created_at" if self.latest_only else "id")
        statuses = None
        if self.status_filter is not None:
            statuses = (
                [self.status_filter] if isinstance(self.status_filter, int) else list(self.status_filter)
            )
        runs = hook.list_runs_data(
            self.account_id,
            job_definition_id=self.job_id,
            statuses=statuses,
            order_by=order_by,
            include_related=tuple(self.include_related or ()),
            max_results=1 if self.latest_only else None,
        )
        if self.latest_only:
            latest = runs[0] if runs else None
            self.log.info("Latest job run: %s", latest["id"] if latest else "none found")
            return latest
        self.log.info("Retrieved %s job runs.", len(runs))
        return runs
