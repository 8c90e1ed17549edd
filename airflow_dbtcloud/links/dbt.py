"""Extra links to dbt Cloud's UI, and the XCom values they read: the UI never calls dbt Cloud.

A task that starts or watches a run calls :func:`publish_run_links` once the run is known; the links
read the URLs back from XCom on the API server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk import BaseOperatorLink
from airflow.sdk.execution_time.xcom import XCom

from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.urls import job_url, run_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

__all__ = [
    "JOB_RUN_ID_KEY",
    "JOB_RUN_URL_KEY",
    "JOB_URL_KEY",
    "DbtCloudJobLink",
    "DbtCloudRunJobOperatorLink",
    "job_page_url",
    "publish_run_links",
    "run_page_url",
]

#: XCom key of the run's page, as the official provider names it.
JOB_RUN_URL_KEY = "job_run_url"
#: XCom key of the run id, as the official provider names it.
JOB_RUN_ID_KEY = "job_run_id"
#: XCom key of the job definition's page.
JOB_URL_KEY = "job_url"


def _base_of(href: str) -> str:
    parts = urlsplit(href)
    return f"{parts.scheme}://{parts.netloc}"


def run_page_url(run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None) -> str | None:
    """Return the page of a run: dbt Cloud's own ``href`` when given, else built from the host.

    :param run: The run.
    :param ui_base_url: Returns the tenant's UI base URL; called only when the run has no ``href``.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL, or None when the run carries too little to build one.
    """
    if run.href:
        return run.href
    account = run.account_id or account_id
    if account is None:
        return None
    return run_url(ui_base_url(), account, run.project_id, run.id)


def job_page_url(run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None) -> str | None:
    """Return the page of the job definition a run belongs to.

    :param run: The run.
    :param ui_base_url: Returns the tenant's UI base URL; called only when the run has no ``href``.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL, or None when the run does not say its job, project or account.
    """
    account = run.account_id or account_id
    if run.job_id is None or run.project_id is None or account is None:
        return None
    base = _base_of(run.href) if run.href else ui_base_url()
    return job_url(base, account, run.project_id, run.job_id)


def publish_run_links(
    ti: Any, run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None
) -> str | None:
    """Push the run's id and pages to XCom, where the extra links and users' tasks read them.

    :param ti: The running task instance.
    :param run: The run the task started or watches.
    :param ui_base_url: Returns the tenant's UI base URL (used only when dbt Cloud gave no ``href``).
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The run's page, or None.
    """
    page = run_page_url(run, ui_base_url, account_id)
    ti.xcom_push(key=JOB_RUN_URL_KEY, value=page)
    ti.xcom_push(key=JOB_RUN_ID_KEY, value=run.id)
    job_page = job_page_url(run, ui_base_url, account_id)
    if job_page is not None:
        ti.xcom_push(key=JOB_URL_KEY, value=job_page)
    return page


class _XComLink(BaseOperatorLink):
    key: str = ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey | None = None) -> str:
        """Return the URL the task pushed to XCom, or an empty string before it exists.

        :param operator: The operator the link belongs to.
        :param ti_key: The task instance whose XCom holds the URL; without one there is no URL.
        """
        if ti_key is None:
            return ""
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
