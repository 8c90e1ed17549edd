"""Extra links to dbt Cloud's UI, computed on the worker from XCom: the UI never calls dbt Cloud."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_dbtcloud.api.urls import job_url, run_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = [
    "JOB_RUN_URL_KEY",
    "JOB_URL_KEY",
    "DbtCloudJobLink",
    "DbtCloudRunJobOperatorLink",
    "job_page_url",
    "run_page_url",
]

#: XCom key of the run's page, as the official provider names it.
JOB_RUN_URL_KEY = "job_run_url"
#: XCom key of the job definition's page.
JOB_URL_KEY = "job_url"


def run_page_url(ui_base_url: str, run: Mapping[str, Any], account_id: int | None = None) -> str:
    """Return the page of a run: dbt Cloud's own ``href`` when given, else built from the host.

    :param ui_base_url: The UI base URL from the connection's host (regional and cell hosts included).
    :param run: The run as dbt Cloud returned it.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL.
    """
    href = run.get("href")
    if href:
        return str(href)
    return run_url(ui_base_url, int(run.get("account_id") or account_id or 0), run["project_id"], run["id"])


def job_page_url(ui_base_url: str, run: Mapping[str, Any], account_id: int | None = None) -> str:
    """Return the page of the job definition a run belongs to.

    :param ui_base_url: The UI base URL from the connection's host.
    :param run: The run as dbt Cloud returned it.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL.
    """
    job_id = run.get("job_definition_id") or run.get("job_id")
    return job_url(
        ui_base_url, int(run.get("account_id") or account_id or 0), run["project_id"], int(job_id or 0)
    )


class _XComLink(BaseOperatorLink):
    key: str = ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Return the URL the task pushed to XCom, or an empty string before it exists.

        :param operator: The operator the link belongs to.
        :param ti_key: The task instance whose XCom holds the URL.
        """
        value = XCom.get_value(key=self.key, ti_key=ti_key)
        return str(value) if value else ""


class DbtCloudRunJobOperatorLink(_XComLink):
    """Link to the dbt Cloud run a task started or watched (XCom ``job_run_url``)."""

    name = "dbt Cloud Job Run"
    key = JOB_RUN_URL_KEY


class DbtCloudJobLink(_XComLink):
    """Link to the dbt Cloud job definition a task ran (XCom ``job_url``)."""

    name = "dbt Cloud Job"
    key = JOB_URL_KEY
