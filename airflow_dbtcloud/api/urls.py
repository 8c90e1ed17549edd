"""Links into the dbt Cloud UI, built without an API call, and the check that dbt Cloud's own are safe."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_dbtcloud.api.ids import optional_id

if TYPE_CHECKING:
    from airflow_dbtcloud.api.run_state import RunState

__all__ = ["job_url", "on_host", "page_base", "run_page", "run_url", "web_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


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


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of a plain http(s) URL; None for anything a browser might read otherwise."""
    # A backslash, a space or a control character is read differently by browsers and by urlsplit.
    if not isinstance(url, str) or any(c <= " " or c in "\\\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    return scheme, host.lower(), port or _DEFAULT_PORTS[scheme]


def web_url(url: str | None) -> str | None:
    """
    Return ``url`` when it is a plain http(s) address with a host, else None (``javascript:``, ``data:``...).

    For where the tenant's host is not known; prefer :func:`on_host`.

    :param url: An address from an API answer, or None.
    """
    return url if url is not None and _origin(url) is not None else None


def on_host(url: str | None, ui_base_url: str) -> bool:
    """
    Tell whether ``url`` is an http(s) address on the tenant's own host (same scheme, host and port).

    :param url: An address from an API answer (a run's ``href``), or None.
    :param ui_base_url: ``scheme://host[:port]`` of the tenant, from the connection.
    """
    if url is None:
        return False
    origin = _origin(url)
    return origin is not None and origin == _origin(ui_base_url)


def run_page(run: RunState, ui_base_url: str | None, account_id: int | None = None) -> str | None:
    """
    Return the UI page of a run: dbt Cloud's ``href`` when it is on the tenant's host, else one built
    from the host and the run's ids, so an answer cannot plant a foreign or ``javascript:`` link.

    :param run: The run.
    :param ui_base_url: ``scheme://host`` of the tenant; None when it cannot be read (a test double in
        place of the hook), and then only a plain http(s) ``href`` is kept.
    :param account_id: The account id, when the run lacks ``account_id``.
    :return: The URL, or None when there is no safe ``href`` and too little to build one.
    """
    if ui_base_url is None:
        return web_url(run.href)
    if on_host(run.href, ui_base_url):
        return run.href
    account = run.account_id or optional_id("account_id", account_id)
    if account is None:
        return None
    return run_url(ui_base_url, account, run.project_id, run.id)


def page_base(run: RunState, ui_base_url: str | None) -> str | None:
    """
    Return the ``scheme://host`` to build further pages of a run on (its job's page, for one).

    :param run: The run.
    :param ui_base_url: ``scheme://host`` of the tenant, or None when it cannot be read; then the origin
        of a plain http(s) ``href`` is used.
    :return: The base, or None when neither is known.
    """
    if ui_base_url is not None:
        return ui_base_url
    origin = _origin(run.href) if run.href is not None else None
    if origin is None:
        return None
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"
