"""DbtCloudHook: the reference-compatible dbt Cloud hook, a thin facade over flows and one transport.

Every name of ``airflow.providers.dbt.cloud.hooks.dbt`` exists here with the same parameters, defaults
and return types, so switching is a change of imports. Reference methods return ``requests.Response``
objects (lists of them for lists) as the official hook does; the ``*_data`` methods and the other new
methods return plain dicts and are what this provider's operators, sensor and trigger use.
"""

from __future__ import annotations

import inspect
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property, wraps
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast
from urllib.parse import urlsplit

from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.log import amask_secret, mask_secret
from requests.auth import AuthBase

from airflow_dbtcloud._transport.aio import AiohttpExecutor
from airflow_dbtcloud._transport.client import AsyncClient, SyncClient
from airflow_dbtcloud._transport.config import ClientConfig, config_from_connection
from airflow_dbtcloud._transport.errors import (
    DbtCloudApiError,
    DbtCloudAuthError,
    DbtCloudBadRequestError,
    DbtCloudConfigError,
    DbtCloudError,
    DbtCloudNotFoundError,
    DbtCloudRateLimitError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud._transport.request import Flow, auth_value, default_headers
from airflow_dbtcloud._transport.retry import is_transient_error
from airflow_dbtcloud._transport.sync import RequestsExecutor, new_session
from airflow_dbtcloud.api import accounts, jobs, projects, runs
from airflow_dbtcloud.api import artifacts as artifact_files
from airflow_dbtcloud.api.failures import FailedNode, FailureReport, failed_nodes, failed_steps
from airflow_dbtcloud.api.jobs import CAUSE_MAX_LENGTH, DbtCloudResourceLookupError
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, classify, status_name

if TYPE_CHECKING:
    from requests import PreparedRequest, Response, Session

__all__ = [
    "DBT_CAUSE_MAX_LENGTH",
    "DbtCloudApiError",
    "DbtCloudAuthError",
    "DbtCloudBadRequestError",
    "DbtCloudConfigError",
    "DbtCloudError",
    "DbtCloudHook",
    "DbtCloudJobRunException",
    "DbtCloudJobRunStatus",
    "DbtCloudNotFoundError",
    "DbtCloudRateLimitError",
    "DbtCloudResourceLookupError",
    "DbtCloudRunMayExistError",
    "DbtCloudServerError",
    "DbtCloudTransportError",
    "JobRunInfo",
    "T",
    "TokenAuth",
    "classify",
    "fallback_to_default_account",
    "is_transient_error",
    "provide_account_id",
]

#: The longest ``cause`` dbt Cloud accepts.
DBT_CAUSE_MAX_LENGTH = CAUSE_MAX_LENGTH

T = TypeVar("T", bound=Any)


class DbtCloudJobRunException(DbtCloudError):
    """A dbt Cloud job run ended in a status other than the one expected, or did not end in time."""


class JobRunInfo(TypedDict):
    """Type class for the ``job_run_info`` dictionary."""

    account_id: int | None
    run_id: int


class TokenAuth(AuthBase):
    """
    Authenticate requests to dbt Cloud with an API token.

    :param token: The dbt Cloud API token.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        """
        Add the ``Authorization`` header to a request.

        :param request: The prepared request.
        """
        request.headers["Authorization"] = auth_value(self.token)
        return request

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


def _account_binder(func: Callable[..., Any]) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """Return a function that binds a call's arguments when ``account_id`` was not given, else None."""
    signature = inspect.signature(func)

    def missing(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if kwargs.get("account_id") is not None:
            return None
        bound = signature.bind(*args, **kwargs)
        return bound if bound.arguments.get("account_id") is None else None

    return missing


def fallback_to_default_account(func: T) -> T:
    """
    Provide a fallback value for ``account_id``.

    If the ``account_id`` is None or not passed to the decorated function,
    the value will be taken from the configured dbt Cloud Airflow Connection.

    :param func: The hook method to decorate (sync or async).
    """
    if inspect.iscoroutinefunction(func):
        return provide_account_id(func)

    missing = _account_binder(func)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = missing(args, kwargs)
        if bound is None:
            return func(*args, **kwargs)
        bound.arguments["account_id"] = args[0].default_account_id()
        return func(*bound.args, **bound.kwargs)

    return cast("T", wrapper)


def provide_account_id(func: T) -> T:
    """
    Provide a fallback value for ``account_id``.

    If the ``account_id`` is None or not passed to the decorated function,
    the value will be taken from the configured dbt Cloud Airflow Connection.

    :param func: The async hook method to decorate.
    """

    missing = _account_binder(func)

    @wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = missing(args, kwargs)
        if bound is None:
            return await func(*args, **kwargs)
        bound.arguments["account_id"] = await args[0].adefault_account_id()
        return await func(*bound.args, **bound.kwargs)

    return cast("T", wrapper)


def _response(response: Any) -> Response:
    return cast("Response", response.raw)


def _raw(pages: list[Any]) -> list[Response]:
    return [_response(page) for page in pages]


def _items(pages: list[Any]) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    items: list[dict[str, Any]] = []
    for page in pages:
        for item in page.data or []:
            # Offset pages shift when runs are added while paging; keep the first copy of each.
            key = item.get("id") if isinstance(item, dict) else None
            if key is None or key not in seen:
                seen.add(key)
                items.append(item)
    return items


class DbtCloudHook(HttpHook):
    """
    Interact with dbt Cloud using the V2 (V3 if supported) API.

    Requests are retried by default (bounded attempts and time, exponential backoff with jitter,
    ``Retry-After`` honoured); a request that starts a run is retried only when it provably never
    reached dbt Cloud. Timeouts are never infinite.

    :param dbt_cloud_conn_id: The ID of the dbt Cloud connection.
    :param timeout_seconds: Read timeout in seconds; defaults to the connection's ``read_timeout``
        extra, else 60.
    :param retry_limit: Total attempts per request; defaults to the connection's ``retry_limit``
        extra, else 5.
    :param retry_delay: Base of the exponential backoff in seconds; defaults to 1.
    :param retry_args: Optional ``tenacity`` ``stop``/``wait`` to use instead of ours. The retry
        predicate stays this hook's, so a run is never started twice by a retry.
    """

    conn_name_attr = "dbt_cloud_conn_id"
    default_conn_name = "dbt_cloud_default"
    conn_type = "dbt_cloud"
    hook_name = "dbt Cloud"

    def __init__(
        self,
        dbt_cloud_conn_id: str = default_conn_name,
        timeout_seconds: float | None = None,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        retry_args: dict[str, Any] | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(auth_type=TokenAuth)
        if retry_limit is not None and retry_limit < 1:
            raise ValueError("Retry limit must be greater than or equal to 1")
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.timeout_seconds = timeout_seconds
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.retry_args = dict(retry_args or {})
        self._config: ClientConfig | None = None
        self._sync: SyncClient | None = None
        self._async: AsyncClient | None = None

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Build custom field behavior for the dbt Cloud connection form in the Airflow UI."""
        from airflow_dbtcloud._provider_info import provider_info

        behaviour = provider_info()["connection-types"][0]["ui-field-behaviour"]
        return {key.replace("-", "_"): value for key, value in behaviour.items()}

    # -- configuration: resolved once, shared by both paths --------------------------------------

    def _configure(self, conn: Any, extra: dict[str, Any]) -> ClientConfig:
        config = config_from_connection(
            conn_id=self.dbt_cloud_conn_id,
            host=conn.host,
            login=conn.login,
            password=conn.password,
            port=conn.port,
            extra=extra,
            timeout_seconds=self.timeout_seconds,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
        )
        self._config = config
        return config

    @cached_property
    def connection(self) -> Any:
        """The dbt Cloud connection (resolved once per hook)."""
        return self.get_connection(self.dbt_cloud_conn_id)

    @property
    def client_config(self) -> ClientConfig:
        """The client configuration built from the connection (sync resolution)."""
        if self._config is None:
            mask_secret(self._configure(self.connection, self.connection.extra_dejson).token)
        assert self._config is not None
        return self._config

    async def aclient_config(self) -> ClientConfig:
        """Return the client configuration, resolving the connection without blocking the loop."""
        if self._config is None:
            if "connection" not in self.__dict__:
                self.__dict__["connection"] = await self.aget_connection(self.dbt_cloud_conn_id)
            conn = self.__dict__["connection"]
            extra = await conn.aextra_dejson() if hasattr(conn, "aextra_dejson") else conn.extra_dejson
            # The sync masker may block on the supervisor channel inside the triggerer's event loop.
            await amask_secret(self._configure(conn, extra).token)
        assert self._config is not None
        return self._config

    def default_account_id(self) -> int:
        """
        Return the account id configured as the connection's login.

        :raises DbtCloudConfigError: When the login is missing or not an integer.
        """
        return self.client_config.default_account_id

    async def adefault_account_id(self) -> int:
        """Return the connection's account id; the async twin of :meth:`default_account_id`."""
        return (await self.aclient_config()).default_account_id

    @property
    def ui_base_url(self) -> str:
        """The tenant's base URL, e.g. ``https://cloud.getdbt.com`` (no API call)."""
        return self.client_config.base_url

    # -- running flows ---------------------------------------------------------------------------

    def get_conn(self, *args: Any, **kwargs: Any) -> Session:
        """
        Create a Requests HTTP session for dbt Cloud.

        :param headers: additional headers to be passed through as a dictionary
        """
        config = self.client_config
        self.base_url = config.base_url + "/"
        session = new_session(config)
        session.auth = TokenAuth(config.token)
        session.headers.update(kwargs.get("headers") or {})
        return session

    def _sync_client(self) -> SyncClient:
        if self._sync is None:
            self._sync = SyncClient(RequestsExecutor(self.client_config, self.get_conn()), self.retry_args)
        return self._sync

    async def _async_client(self) -> AsyncClient:
        if self._async is None:
            self._async = AsyncClient(AiohttpExecutor(await self.aclient_config()), self.retry_args)
        return self._async

    def _run(self, flow: Flow[T]) -> T:
        return self._sync_client().run(flow)

    async def _arun(self, flow: Flow[T]) -> T:
        return await (await self._async_client()).run(flow)

    def close(self) -> None:
        """Close the sync session's pooled connections."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the async HTTP session."""
        if self._async is not None:
            await self._async.close()

    async def __aenter__(self) -> DbtCloudHook:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- reference API: helpers --------------------------------------------------------------------

    @staticmethod
    def get_request_url_params(
        tenant: str, endpoint: str, include_related: list[str] | None = None, *, api_version: str = "v2"
    ) -> tuple[str, dict[str, Any]]:
        """
        Form URL from base url and endpoint url.

        :param tenant: The tenant domain name which is need to be replaced in base url.
        :param endpoint: Endpoint url to be requested.
        :param include_related: Optional. List of related fields to pull with the run.
            Valid values are "trigger", "job", "repository", and "environment".
        :param api_version: The API version, ``v2`` or ``v3``.
        """
        base = tenant.rstrip("/") if "://" in tenant else f"https://{tenant}"
        params: dict[str, Any] = {"include_related": include_related} if include_related else {}
        return f"{base}/api/{api_version}/accounts/{endpoint or ''}", params

    async def get_headers_tenants_from_connection(self) -> tuple[dict[str, Any], str]:
        """Get Headers, tenants from the connection details."""
        config = await self.aclient_config()
        return {**default_headers(config), "Content-Type": "application/json"}, urlsplit(
            config.base_url
        ).netloc

    # -- reference API: async ----------------------------------------------------------------------

    @provide_account_id
    async def get_job_details(
        self, run_id: int, account_id: int | None = None, include_related: list[str] | None = None
    ) -> Any:
        """
        Use Http async call to retrieve metadata for a specific run of a dbt Cloud job.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param include_related: Optional. List of related fields to pull with the run.
            Valid values are "trigger", "job", "repository", and "environment".
        :return: The decoded response body.
        """
        response = await self._arun(runs.get_run(cast("int", account_id), run_id, include_related))
        return response.body

    async def get_job_status(
        self, run_id: int, account_id: int | None = None, include_related: list[str] | None = None
    ) -> int:
        """
        Retrieve the status for a specific run of a dbt Cloud job.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param include_related: Optional. List of related fields to pull with the run.
            Valid values are "trigger", "job", "repository", and "environment".
        :return: The run's status value.
        """
        body = await self.get_job_details(run_id, account_id=account_id, include_related=include_related)
        return int(body["data"]["status"])

    @fallback_to_default_account
    async def get_job_run_artifacts_concurrently(
        self, run_id: int, artifacts: list[str], account_id: int | None = None, step: int | None = None
    ) -> dict[str, Any]:
        """
        Retrieve a list of chosen artifact files generated for a step in completed run of a dbt Cloud job.

        By default, this returns artifacts from the last step in the run. The files are fetched
        concurrently over one HTTP session.

        :param run_id: The ID of a dbt Cloud job run.
        :param artifacts: The file paths, rooted at the target/ directory.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param step: The index of the Step in the Run to query for artifacts. The first step in the
            run has the index 1. If the step parameter is omitted, artifacts for the last step in the run will
            be returned.
        :return: The decoded JSON (or the text) of each file, by path.
        """
        flow = artifact_files.get_artifacts(cast("int", account_id), run_id, list(artifacts), step)
        responses = await self._arun(flow)
        return {path: (r.body if r.body is not None else r.text) for path, r in responses.items()}

    # -- reference API: sync ------------------------------------------------------------------------

    def list_accounts(self) -> list[Response]:
        """
        Retrieve all of the dbt Cloud accounts the configured API token is authorized to access.

        :return: List of request responses.
        """
        return [self._run(accounts.list_accounts()).raw]

    @fallback_to_default_account
    def get_account(self, account_id: int | None = None) -> Response:
        """
        Retrieve metadata for a specific dbt Cloud account.

        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The request response.
        """
        return _response(self._run(accounts.get_account(cast("int", account_id))))

    @fallback_to_default_account
    def list_projects(
        self, account_id: int | None = None, name_contains: str | None = None
    ) -> list[Response]:
        """
        Retrieve metadata for all projects tied to a specified dbt Cloud account.

        :param account_id: Optional. The ID of a dbt Cloud account.
        :param name_contains: Optional. Case-insensitive substring of the project name.
        :return: List of request responses.
        """
        return _raw(self._run(projects.list_projects(cast("int", account_id), name_contains)))

    @fallback_to_default_account
    def get_project(self, project_id: int, account_id: int | None = None) -> Response:
        """
        Retrieve metadata for a specific project.

        :param project_id: The ID of a dbt Cloud project.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The request response.
        """
        return _response(self._run(projects.get_project(cast("int", account_id), project_id)))

    @fallback_to_default_account
    def list_environments(
        self, project_id: int, *, name_contains: str | None = None, account_id: int | None = None
    ) -> list[Response]:
        """
        Retrieve metadata for all environments tied to a specified dbt Cloud project.

        :param project_id: The ID of a dbt Cloud project.
        :param name_contains: Optional. Case-insensitive substring of the environment name.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: List of request responses.
        """
        flow = projects.list_environments(cast("int", account_id), project_id, name_contains)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_environment(
        self, project_id: int, environment_id: int, *, account_id: int | None = None
    ) -> Response:
        """
        Retrieve metadata for a specific project's environment.

        :param project_id: The ID of a dbt Cloud project.
        :param environment_id: The ID of a dbt Cloud environment.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The request response.
        """
        return _response(
            self._run(projects.get_environment(cast("int", account_id), project_id, environment_id))
        )

    @fallback_to_default_account
    def list_jobs(
        self,
        account_id: int | None = None,
        order_by: str | None = None,
        project_id: int | None = None,
        environment_id: int | None = None,
        name_contains: str | None = None,
    ) -> list[Response]:
        """
        Retrieve metadata for all jobs tied to a specified dbt Cloud account.

        If a ``project_id`` is supplied, only jobs pertaining to this project will be retrieved.

        :param account_id: Optional. The ID of a dbt Cloud account.
        :param order_by: Optional. Field to order the result by. Use '-' to indicate reverse order.
            For example, to use reverse order by the run ID use ``order_by=-id``.
        :param project_id: The ID of a dbt Cloud project.
        :param environment_id: Optional. The ID of a dbt Cloud environment.
        :param name_contains: Optional. Case-insensitive substring of the job name.
        :return: List of request responses.
        """
        flow = jobs.list_jobs(cast("int", account_id), order_by, project_id, environment_id, name_contains)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_job(self, job_id: int, account_id: int | None = None) -> Response:
        """
        Retrieve metadata for a specific job.

        :param job_id: The ID of a dbt Cloud job.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The request response.
        """
        return _response(self._run(jobs.get_job(cast("int", account_id), job_id)))

    @fallback_to_default_account
    def get_job_by_name(
        self, *, project_name: str, environment_name: str, job_name: str, account_id: int | None = None
    ) -> dict[str, Any]:
        """
        Retrieve a job by the exact names of its project, environment and itself.

        :param project_name: The name of a dbt Cloud project.
        :param environment_name: The name of a dbt Cloud environment.
        :param job_name: The name of a dbt Cloud job.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The details of a job.
        :raises DbtCloudResourceLookupError: When no or several projects, environments or jobs match.
        """
        flow = jobs.job_by_name(cast("int", account_id), project_name, environment_name, job_name)
        return self._run(flow)

    @fallback_to_default_account
    def trigger_job_run(
        self,
        job_id: int,
        cause: str,
        account_id: int | None = None,
        steps_override: list[str] | None = None,
        schema_override: str | None = None,
        retry_from_failure: bool = False,
        additional_run_config: dict[str, Any] | None = None,
    ) -> Response:
        """
        Triggers a run of a dbt Cloud job.

        :param job_id: The ID of a dbt Cloud job.
        :param cause: Description of the reason to trigger the job (longer than 255 characters is
            truncated with a warning).
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param steps_override: Optional. List of dbt commands to execute when triggering the job
            instead of those configured in dbt Cloud.
        :param schema_override: Optional. Override the destination schema in the configured target for this
            job.
        :param retry_from_failure: Optional. If the job's latest run failed, rerun it from the point of
            failure instead (the overrides are then ignored).
        :param additional_run_config: Optional. Any additional parameters that should be included in the API
            request when triggering the job.
        :return: The request response.
        :raises DbtCloudRunMayExistError: When the request may have started a run but no answer came.
        """
        if len(cause) > DBT_CAUSE_MAX_LENGTH:
            warnings.warn(
                f"Cause `{cause}` exceeds limit of {DBT_CAUSE_MAX_LENGTH} characters and will be truncated.",
                UserWarning,
                stacklevel=2,
            )
            cause = cause[:DBT_CAUSE_MAX_LENGTH]
        body = jobs.trigger_body(cause, steps_override, schema_override, additional_run_config)
        if retry_from_failure:
            latest = self.list_runs_data(account_id, job_definition_id=job_id, order_by="-id", max_results=1)
            if latest and latest[0].get("status") == DbtCloudJobRunStatus.ERROR.value:
                if len(body) > 1:
                    warnings.warn(
                        "steps_override, schema_override and additional_run_config are ignored when "
                        "retry_from_failure reruns a failed run.",
                        UserWarning,
                        stacklevel=2,
                    )
                return self.retry_failed_job_run(job_id, account_id)
        return _response(self._run(jobs.trigger_run(cast("int", account_id), job_id, body)))

    @fallback_to_default_account
    def retry_failed_job_run(self, job_id: int, account_id: int | None = None) -> Response:
        """
        Rerun the job's latest run from the point of failure if it failed; otherwise trigger a new run.

        :param job_id: The ID of a dbt Cloud job.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The request response.
        """
        return _response(self._run(jobs.rerun_job(cast("int", account_id), job_id)))

    @fallback_to_default_account
    def list_job_runs(
        self,
        account_id: int | None = None,
        include_related: list[str] | None = None,
        job_definition_id: int | None = None,
        order_by: str | None = None,
    ) -> list[Response]:
        """
        Retrieve metadata for all dbt Cloud job runs for an account.

        If a ``job_definition_id`` is supplied, only metadata for runs of that specific job are pulled.

        :param account_id: Optional. The ID of a dbt Cloud account.
        :param include_related: Optional. List of related fields to pull with the run.
            Valid values are "trigger", "job", "audit" and "debug_logs".
        :param job_definition_id: Optional. The dbt Cloud job ID to retrieve run metadata.
        :param order_by: Optional. Field to order the result by. Use '-' to indicate reverse order.
            For example, to use reverse order by the run ID use ``order_by=-id``.
        :return: List of request responses.
        """
        flow = runs.list_runs(cast("int", account_id), include_related, job_definition_id, order_by)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_job_runs(self, account_id: int | None = None, payload: dict[str, Any] | None = None) -> Response:
        """
        Retrieve one page of runs with the given query parameters.

        :param account_id: Optional. The ID of a dbt Cloud account.
        :param payload: Optional. Query Parameters
        :return: The request response.
        """
        return _response(self._run(runs.get_runs(cast("int", account_id), payload)))

    @fallback_to_default_account
    def get_job_run(
        self, run_id: int, account_id: int | None = None, include_related: list[str] | None = None
    ) -> Response:
        """
        Retrieve metadata for a specific run of a dbt Cloud job.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param include_related: Optional. List of related fields to pull with the run.
            Valid values are "trigger", "job", "repository", "environment" and "run_steps".
        :return: The request response.
        """
        return _response(self._run(runs.get_run(cast("int", account_id), run_id, include_related)))

    def get_job_run_status(self, run_id: int, account_id: int | None = None) -> int:
        """
        Retrieve the status for a specific run of a dbt Cloud job.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :return: The status of a dbt Cloud job run.
        """
        status = int(self.get_run_data(run_id, account_id)["status"])
        self.log.info("Current status of job run %s: %s", run_id, status_name(status))
        return status

    def get_failure_report(
        self, run_id: int, account_id: int | None = None, url: str | None = None
    ) -> FailureReport:
        """
        Gather why a run failed: its failed steps (with the end of their logs) and failed nodes.

        API errors while gathering are noted in the report rather than raised, because the run's own
        failure is what the caller must report.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param url: The run's page, shown when the run itself cannot be fetched.
        """
        try:
            run = self.get_run_data(run_id, account_id, include_related=("run_steps",))
        except DbtCloudError as exc:
            return FailureReport(run_id, "unknown", url, notes=(f"Could not fetch the run: {exc}",))
        steps = failed_steps(run)
        nodes: list[FailedNode] = []
        notes: list[str] = []
        step = steps[-1].index if steps else None
        try:
            results = self.get_artifact_json(run_id, "run_results.json", account_id, step=step)
            if results is None and step is not None:
                results = self.get_artifact_json(run_id, "run_results.json", account_id)
            nodes = failed_nodes(results)
            if results is None:
                notes.append("No run_results.json was saved for this run.")
        except DbtCloudError as exc:
            notes.append(f"Could not fetch run_results.json: {exc}")
        return FailureReport(
            run_id=run_id,
            status=str(run.get("status_humanized") or run.get("status")),
            url=run.get("href") or url,
            status_message=run.get("status_message") or None,
            steps=tuple(steps),
            nodes=tuple(nodes),
            notes=tuple(notes),
        )

    def log_job_run_failure_details(
        self, run_id: int, account_id: int | None = None, job_run: dict[str, Any] | None = None
    ) -> None:
        """
        Log why a run failed: status message, failed steps with their log tails, failed nodes, URL.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param job_run: Accepted for compatibility; the run is fetched with its steps either way.
        """
        self.log.error("%s", self.get_failure_report(run_id, account_id).render())

    def wait_for_job_run_status(
        self,
        run_id: int,
        account_id: int | None = None,
        expected_statuses: int | Sequence[int] | set[int] = DbtCloudJobRunStatus.SUCCESS.value,
        check_interval: int = 60,
        timeout: int = 60 * 60 * 24 * 7,
    ) -> bool:
        """
        Wait for a dbt Cloud job run to match an expected status.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param expected_statuses: Optional. The desired status(es) to check against a job run's current
            status. Defaults to the success status value.
        :param check_interval: Time in seconds to check on a pipeline run's status.
        :param timeout: Time in seconds to wait for a pipeline to reach a terminal status or the expected
            status.
        :return: ``True`` once the run reaches one of ``expected_statuses``.
        :raises DbtCloudJobRunException: When the run ends in another status or the timeout passes.
        """
        expected = (expected_statuses,) if isinstance(expected_statuses, int) else tuple(expected_statuses)
        DbtCloudJobRunStatus.check_is_valid(expected)
        started = time.monotonic()
        last: int | None = None
        while True:
            status = int(self.get_run_data(run_id, account_id)["status"])
            if status != last:
                self.log.info(
                    "dbt Cloud job run %s is %s (%.0f s elapsed)",
                    run_id,
                    status_name(status),
                    time.monotonic() - started,
                )
                last = status
            if status in expected:
                return True
            if classify(status) != "pending":
                self.log_job_run_failure_details(run_id, account_id)
                raise DbtCloudJobRunException(
                    f"Job run {run_id} reached terminal status {status_name(status)} "
                    f"before reaching expected statuses {list(expected)}"
                )
            if time.monotonic() - started > timeout:
                raise DbtCloudJobRunException(
                    f"Job run {run_id} has not reached a terminal status after {timeout} seconds."
                )
            time.sleep(check_interval)

    @fallback_to_default_account
    def cancel_job_run(self, run_id: int, account_id: int | None = None) -> None:
        """
        Cancel a specific dbt Cloud job run.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        """
        self._run(runs.cancel_run(cast("int", account_id), run_id))

    @fallback_to_default_account
    def list_job_run_artifacts(
        self, run_id: int, account_id: int | None = None, step: int | None = None
    ) -> list[Response]:
        """
        Retrieve a list of the available artifact files generated for a completed run of a dbt Cloud job.

        By default, this returns artifacts from the last step in the run. To
        list artifacts from other steps in the run, use the ``step`` parameter.

        :param run_id: The ID of a dbt Cloud job run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param step: Optional. The index of the Step in the Run to query for artifacts. The first step in the
            run has the index 1. If the step parameter is omitted, artifacts for the last step in the run will
            be returned.
        :return: List of request responses.
        """
        return [self._run(artifact_files.list_artifacts(cast("int", account_id), run_id, step)).raw]

    @fallback_to_default_account
    def get_job_run_artifact(
        self, run_id: int, path: str, account_id: int | None = None, step: int | None = None
    ) -> Response:
        """
        Retrieve one artifact file generated for a completed run of a dbt Cloud job.

        The whole file is read into memory; use :meth:`download_job_run_artifact` for large files.

        :param run_id: The ID of a dbt Cloud job run.
        :param path: The file path related to the artifact file. Paths are rooted at the target/ directory.
            Use "manifest.json", "catalog.json", or "run_results.json" to download dbt-generated artifacts
            for the run.
        :param account_id: Optional. The ID of a dbt Cloud account.
        :param step: Optional. The index of the Step in the Run to query for artifacts. The first step in the
            run has the index 1. If the step parameter is omitted, artifacts for the last step in the run will
            be returned.
        :return: The request response.
        """
        return _response(self._run(artifact_files.get_artifact(cast("int", account_id), run_id, path, step)))

    def test_connection(self) -> tuple[bool, str]:
        """Test the dbt Cloud connection by listing the accounts the token may access."""
        try:
            self._run(accounts.list_accounts())
        except DbtCloudError as exc:
            return False, str(exc)
        return True, "Successfully connected to dbt Cloud."

    # -- typed API: plain dicts, used by this provider's operators, sensor and trigger ------------

    @fallback_to_default_account
    def get_run_data(
        self, run_id: int, account_id: int | None = None, include_related: Iterable[str] = ()
    ) -> dict[str, Any]:
        """
        Return a run.

        :param run_id: The run.
        :param account_id: The account; defaults to the connection's.
        :param include_related: Related objects, e.g. ``trigger``, ``job``, ``run_steps``.
        """
        return dict(self._run(runs.get_run(cast("int", account_id), run_id, include_related)).data)

    @provide_account_id
    async def aget_run_data(
        self, run_id: int, account_id: int | None = None, include_related: Iterable[str] = ()
    ) -> dict[str, Any]:
        """
        Return a run; the async twin of :meth:`get_run_data`.

        :param run_id: The run.
        :param account_id: The account; defaults to the connection's.
        :param include_related: Related objects, e.g. ``trigger``, ``job``, ``run_steps``.
        """
        return dict((await self._arun(runs.get_run(cast("int", account_id), run_id, include_related))).data)

    @fallback_to_default_account
    def start_job_run(
        self,
        job_id: int,
        cause: str,
        account_id: int | None = None,
        *,
        steps_override: Sequence[str] | None = None,
        schema_override: str | None = None,
        additional_run_config: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """
        Start a run of a job and return it.

        :param job_id: The job.
        :param cause: Why the run is started (1 to 255 characters).
        :param account_id: The account; defaults to the connection's.
        :param steps_override: dbt commands to run instead of the job's own.
        :param schema_override: Schema to build into instead of the target's.
        :param additional_run_config: Further documented trigger fields.
        :raises DbtCloudConfigError: When the body is invalid (before any request).
        :raises DbtCloudRunMayExistError: When the run may have been started but no answer came.
        """
        body = jobs.trigger_body(cause, steps_override, schema_override, additional_run_config)
        return dict(self._run(jobs.trigger_run(cast("int", account_id), job_id, body)).data)

    @fallback_to_default_account
    def retry_job_run(self, run_id: int, account_id: int | None = None) -> dict[str, Any]:
        """
        Retry this failed run from its point of failure and return the new run.

        :param run_id: The failed run.
        :param account_id: The account; defaults to the connection's.
        :raises DbtCloudRunMayExistError: When the retry may have started but no answer came.
        """
        return dict(self._run(runs.retry_run(cast("int", account_id), run_id)).data)

    @fallback_to_default_account
    def list_runs_data(
        self,
        account_id: int | None = None,
        *,
        job_definition_id: int | None = None,
        statuses: Sequence[int] | None = None,
        order_by: str | None = "-id",
        include_related: Iterable[str] = (),
        max_results: int | None = None,
    ) -> list[dict[str, Any]]:
        """
        Return runs of the account, newest first by default.

        :param account_id: The account; defaults to the connection's.
        :param job_definition_id: Only runs of this job.
        :param statuses: Only runs in one of these statuses.
        :param order_by: ``id``, ``created_at`` or ``finished_at``; prefix ``-`` for descending.
        :param include_related: Related objects: ``trigger``, ``job``, ``audit``, ``debug_logs``.
        :param max_results: Stop after this many runs; None fetches every page.
        """
        flow = runs.list_runs(
            cast("int", account_id),
            include_related,
            job_definition_id,
            order_by,
            statuses=statuses,
            max_results=max_results,
        )
        return _items(self._run(flow))[:max_results]

    @fallback_to_default_account
    def cancel_run(self, run_id: int, account_id: int | None = None) -> dict[str, Any]:
        """
        Cancel a run and return it (a finished run is returned unchanged).

        :param run_id: The run.
        :param account_id: The account; defaults to the connection's.
        """
        return dict(self._run(runs.cancel_run(cast("int", account_id), run_id)).data)

    @provide_account_id
    async def acancel_run(self, run_id: int, account_id: int | None = None) -> dict[str, Any]:
        """
        Cancel a run; the async twin of :meth:`cancel_run`.

        :param run_id: The run.
        :param account_id: The account; defaults to the connection's.
        """
        return dict((await self._arun(runs.cancel_run(cast("int", account_id), run_id))).data)

    @fallback_to_default_account
    def get_job_data(self, job_id: int, account_id: int | None = None) -> dict[str, Any]:
        """
        Return a job definition.

        :param job_id: The job.
        :param account_id: The account; defaults to the connection's.
        """
        return dict(self._run(jobs.get_job(cast("int", account_id), job_id)).data)

    @fallback_to_default_account
    def list_jobs_data(
        self,
        account_id: int | None = None,
        *,
        project_id: int | None = None,
        environment_id: int | None = None,
        name_contains: str | None = None,
        order_by: str | None = None,
    ) -> list[dict[str, Any]]:
        """
        Return the account's job definitions.

        :param account_id: The account; defaults to the connection's.
        :param project_id: Only jobs of this project.
        :param environment_id: Only jobs of this environment.
        :param name_contains: Case-insensitive substring of the job name.
        :param order_by: Field to order by; prefix ``-`` for descending.
        """
        flow = jobs.list_jobs(cast("int", account_id), order_by, project_id, environment_id, name_contains)
        return _items(self._run(flow))

    @fallback_to_default_account
    def get_artifact_json(
        self, run_id: int, path: str, account_id: int | None = None, step: int | None = None
    ) -> Any:
        """
        Return a decoded JSON artifact of a run, or None when the run has no such file.

        :param run_id: The run.
        :param path: Path under ``target/``, e.g. ``run_results.json``.
        :param account_id: The account; defaults to the connection's.
        :param step: The step index (from 1); None for the last step.
        """
        return self._run(artifact_files.get_artifact_json(cast("int", account_id), run_id, path, step))

    @fallback_to_default_account
    def download_job_run_artifact(
        self, run_id: int, path: str, destination: Any, account_id: int | None = None, step: int | None = None
    ) -> Any:
        """
        Stream a run artifact to a local path or an ``ObjectStoragePath`` without parsing it.

        Memory stays bounded by the chunk size; the destination appears whole or not at all.

        :param run_id: The run.
        :param path: Path under ``target/``, e.g. ``manifest.json``.
        :param destination: A local path or an ``ObjectStoragePath``.
        :param account_id: The account; defaults to the connection's.
        :param step: The step index (from 1); None for the last step.
        :return: ``destination``.
        """
        return self._run(
            artifact_files.download_artifact(cast("int", account_id), run_id, path, destination, step)
        )

    @provide_account_id
    async def adownload_job_run_artifact(
        self, run_id: int, path: str, destination: Any, account_id: int | None = None, step: int | None = None
    ) -> Any:
        """
        Stream a run artifact to storage; the async twin of :meth:`download_job_run_artifact`.

        :param run_id: The run.
        :param path: Path under ``target/``.
        :param destination: A local path or an ``ObjectStoragePath``.
        :param account_id: The account; defaults to the connection's.
        :param step: The step index (from 1); None for the last step.
        :return: ``destination``.
        """
        flow = artifact_files.download_artifact(cast("int", account_id), run_id, path, destination, step)
        return await self._arun(flow)
