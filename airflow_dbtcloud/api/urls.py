"""Links into the dbt Cloud UI, built without an API call."""

from __future__ import annotations

__all__ = ["job_url", "run_url"]


def run_url(ui_base_url: str, account_id: int, project_id: int | None, run_id: int) -> str:
    """
    Return the UI address of a run.

    :param ui_base_url: ``scheme://host`` of the tenant (e.g. ``https://emea.dbt.com``).
    :param account_id: The account.
    :param project_id: The run's project; None gives the account-level form.
    :param run_id: The run.
    """
    base = ui_base_url.rstrip("/")
    if project_id is None:
        return f"{base}/deploy/{account_id}/runs/{run_id}/"
    return f"{base}/deploy/{account_id}/projects/{project_id}/runs/{run_id}/"


def job_url(ui_base_url: str, account_id: int, project_id: int, job_id: int) -> str:
    """
    Return the UI address of a job definition.

    :param ui_base_url: ``scheme://host`` of the tenant.
    :param account_id: The account.
    :param project_id: The job's project.
    :param job_id: The job.
    """
    return f"{ui_base_url.rstrip('/')}/deploy/{account_id}/projects/{project_id}/jobs/{job_id}/"
