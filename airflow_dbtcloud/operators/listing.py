"""List dbt Cloud jobs and runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DbtCloudListJobRunsOperator", "DbtCloudListJobsOperator"]

# Imported on first use, so that a DAG file using this operator does not import the hook.
__getattr__ = hook_names(__name__, "DbtCloudHook")


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
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
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
        hook = hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)
        pages = hook.list_jobs(account_id=self.account_id, order_by=self.order_by, project_id=self.project_id)
        ids = [job["id"] for job in _items(pages)]
        self.log.info("Jobs in the specified dbt Cloud account are: %s", ", ".join(map(str, ids)))
        return ids


class DbtCloudListJobRunsOperator(BaseOperator):
    """List the runs of a dbt Cloud account, optionally of one job.

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param job_id: Only list this job's runs.
    :param order_by: The field to order by, e.g. ``-id``; ``None`` keeps dbt Cloud's order, or means
        ``-created_at`` with ``latest_only``.
    :param include_related: Related objects to include (on lists: ``trigger``, ``job``, ``audit``,
        ``debug_logs``).
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param latest_only: Return only the first run after ordering and filtering, or ``None``.
    :param status_filter: Only runs with this status code, or one of these codes (filtered after
        listing, as the official operator does).
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
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
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
        hook = hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)
        pages = hook.list_job_runs(
            account_id=self.account_id,
            include_related=self.include_related,
            job_definition_id=self.job_id,
            order_by=self.order_by or ("-created_at" if self.latest_only else None),
        )
        runs = _items(pages)
        if self.status_filter is not None:
            wanted = {self.status_filter} if isinstance(self.status_filter, int) else set(self.status_filter)
            runs = [run for run in runs if run.get("status") is not None and int(run["status"]) in wanted]
        if not self.latest_only:
            self.log.info("Retrieved %s job runs.", len(runs))
            return runs
        latest = runs[0] if runs else None
        if latest:
            self.log.info("Returning latest job run (id=%s, status=%s)", latest["id"], latest.get("status"))
        else:
            self.log.info("No job runs found for the given filters.")
        return latest


def _items(pages: list[Any]) -> list[dict[str, Any]]:
    """The items of every page of a list answer, in order, each once.

    Offset pages shift when items are added while paging, so the same item can come on two pages.
    """
    seen: set[Any] = set()
    items = []
    for page in pages:
        for item in page.json()["data"]:
            key = item.get("id")
            if key is None or key not in seen:
                seen.add(key)
                items.append(item)
    return items
