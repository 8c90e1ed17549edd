"""Extra links to dbt Cloud's UI, and the XCom values they read: the UI never calls dbt Cloud.

A task that starts or watches a run calls :func:`publish_run_links` once the run is known; the links
read the URLs back from XCom on the API server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperatorLink
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.execution_time.xcom import XCom

from airflow_dbtcloud.api.ids import optional_id
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.urls import job_url, page_base, run_page, web_url

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


def _base_or_none(ui_base_url: Callable[[], str]) -> str | None:
    """The tenant's UI base URL, or None when it cannot be read (a test without a connection, or with a
    double in place of the hook)."""
    try:
        base = ui_base_url()
    except AirflowException:
        return None
    return base if isinstance(base, str) else None


def run_page_url(run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None) -> str | None:
    """Return the page of a run: dbt Cloud's own ``href`` when it is on the connection's host, else
    one built from the host and the run's ids.

    An ``href`` that is not http(s) on that host (a ``javascript:`` address, another site) is never
    used: the link is shown in the Airflow UI.

    :param run: The run.
    :param ui_base_url: Returns the tenant's UI base URL (the connection's host).
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL, or None when there is no safe ``href`` and too little to build one.
    """
    return run_page(run, _base_or_none(ui_base_url), account_id)


def job_page_url(run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None) -> str | None:
    """Return the page of the job definition a run belongs to, on the connection's host.

    :param run: The run.
    :param ui_base_url: Returns the tenant's UI base URL.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL, or None when the run does not say its job, project or account, or no host is
        known (neither the connection's nor a plain http(s) ``href``).
    """
    account = run.account_id or optional_id("account_id", account_id)
    if run.job_id is None or run.project_id is None or account is None:
        return None
    base = page_base(run, _base_or_none(ui_base_url))
    return None if base is None else job_url(base, account, run.project_id, run.job_id)


def publish_run_links(
    ti: Any, run: RunState, ui_base_url: Callable[[], str], account_id: int | None = None
) -> str | None:
    """Push the run's id and pages to XCom, where the extra links and users' tasks read them.

    :param ti: The running task instance.
    :param run: The run the task started or watches.
    :param ui_base_url: Returns the tenant's UI base URL (the connection's host).
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

        Anything but a plain http(s) address (a value written to XCom by other means) gives no link.

        :param operator: The operator the link belongs to.
        :param ti_key: The task instance whose XCom holds the URL; without one there is no URL.
        """
        if ti_key is None:
            return ""
        value = XCom.get_value(key=self.key, ti_key=ti_key)
        return (web_url(value) or "") if isinstance(value, str) else ""


class DbtCloudRunJobOperatorLink(_XComLink):
    """Link to the dbt Cloud run a task started or watched (XCom ``job_run_url``)."""

    name = "dbt Cloud Job Run"
    key = JOB_RUN_URL_KEY


class DbtCloudJobLink(_XComLink):
    """Link to the dbt Cloud job definition a task ran (XCom ``job_url``)."""

    name = "dbt Cloud Job"
    key = JOB_URL_KEY
