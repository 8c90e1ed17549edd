"""DbtCloudHook: the reference-compatible dbt Cloud hook, a thin facade over flows and one transport.

Every name of ``airflow.providers.dbt.cloud.hooks.dbt`` exists here with the same parameters, defaults
and return types, so switching is a change of imports. Reference methods return ``requests.Response``
objects (lists of them for lists) as the official hook does.

These public methods are also the seam of this provider: the operators, the sensor and the trigger reach
dbt Cloud only through them (see :mod:`airflow_dbtcloud.api.calls`), so a test that patches, say,
``DbtCloudHook.trigger_job_run`` controls what the operators do. The few methods without a reference
twin (``retry_run``, the ``a*`` async twins, ``download_job_run_artifact``, ``get_failure_report``,
``get_run_state``) are built the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from functools import cached_property, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast
from urllib.parse import urlsplit

import requests
from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowException
from airflow.sdk.log import amask_secret, mask_secret
from requests.auth import AuthBase

from airflow_dbtcloud import __version__
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
    DbtCloudPayloadError,
    DbtCloudRateLimitError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
    DbtCloudTransportError,
)
from airflow_dbtcloud._transport.request import ApiRequest, Flow, auth_value, default_headers
from airflow_dbtcloud._transport.retry import is_transient_error
from airflow_dbtcloud._transport.sync import RequestsExecutor, copy_body, new_session
from airflow_dbtcloud.api import accounts, calls, jobs, projects, runs
from airflow_dbtcloud.api import artifacts as artifact_files
from airflow_dbtcloud.api.asset_uris import Warehouse
from airflow_dbtcloud.api.failures import FailedNode, FailureReport, failed_nodes, failed_steps
from airflow_dbtcloud.api.ids import require_id
from airflow_dbtcloud.api.jobs import CAUSE_MAX_LENGTH, DbtCloudResourceLookupError, exactly_one
from airflow_dbtcloud.api.progress import RunProgress
from airflow_dbtcloud.api.run_artifacts import (
    DBT_STEP_PREFIX,
    ManifestFacts,
    RunBuild,
    RunResults,
    built_nodes,
    read_manifest,
    read_run_results,
)
from airflow_dbtcloud.api.run_state import RunState
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus, status_name
from airflow_dbtcloud.api.urls import run_page
from airflow_dbtcloud.api.waiting import (
    DEFAULT_ERROR_BUDGET,
    TRIGGER_EVENT_STATUSES,
    DbtCloudTriggerEventException,
    Waiter,
    validate_execute_complete_event,
)
from airflow_dbtcloud.hooks.errors import (
    DbtCloudJobRunCancelledError,
    DbtCloudJobRunException,
    DbtCloudJobRunFailedError,
    DbtCloudJobRunTimeoutError,
)
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME

if TYPE_CHECKING:
    from requests import PreparedRequest, Response, Session

__all__ = [
    "DBT_CAUSE_MAX_LENGTH",
    "TRIGGER_EVENT_STATUSES",
    "DbtCloudApiError",
    "DbtCloudAuthError",
    "DbtCloudBadRequestError",
    "DbtCloudConfigError",
    "DbtCloudError",
    "DbtCloudHook",
    "DbtCloudJobRunCancelledError",
    "DbtCloudJobRunException",
    "DbtCloudJobRunFailedError",
    "DbtCloudJobRunStatus",
    "DbtCloudJobRunTimeoutError",
    "DbtCloudNotFoundError",
    "DbtCloudPayloadError",
    "DbtCloudRateLimitError",
    "DbtCloudResourceLookupError",
    "DbtCloudRunMayExistError",
    "DbtCloudServerError",
    "DbtCloudTransportError",
    "DbtCloudTriggerEventException",
    "JobRunInfo",
    "T",
    "TokenAuth",
    "fallback_to_default_account",
    "get_async_connection",
    "is_transient_error",
    "provide_account_id",
    "validate_execute_complete_event",
]

#: The longest ``cause`` dbt Cloud accepts.
DBT_CAUSE_MAX_LENGTH = CAUSE_MAX_LENGTH

T = TypeVar("T", bound=Any)


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


class _AccountArgument:
    """Where a hook method takes ``account_id``, read from its signature on the first call.

    Reading signatures when the hook module is imported would add to every DAG file's parse time,
    and binding the whole signature on each call would add to every poll of a deferred wait.

    :param func: The hook method.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        self._func = func
        self._position: int | None = None
        self._resolved = False

    def _index(self) -> int | None:
        if not self._resolved:
            for index, parameter in enumerate(inspect.signature(self._func).parameters.values()):
                if parameter.name == "account_id" and parameter.kind is parameter.POSITIONAL_OR_KEYWORD:
                    self._position = index
            self._resolved = True
        return self._position

    def missing(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Tell whether a call left ``account_id`` out or passed None.

        :param args: The call's positional arguments, ``self`` first.
        :param kwargs: The call's keyword arguments.
        """
        index = self._index()
        given = args[index] if index is not None and len(args) > index else kwargs.get("account_id")
        return given is None

    def filled(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], account_id: int
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Return the call's arguments with ``account_id`` set where the caller put it (or left it).

        :param args: The call's positional arguments.
        :param kwargs: The call's keyword arguments.
        :param account_id: The account to fill in.
        """
        index = self._index()
        if index is not None and len(args) > index:
            return (*args[:index], account_id, *args[index + 1 :]), kwargs
        return args, {**kwargs, "account_id": account_id}


def fallback_to_default_account(func: T) -> T:
    """
    Fill in ``account_id`` from the connection's login when the caller left it out or passed None.

    Works on sync and async hook methods.

    :param func: The hook method to decorate.
    """
    if inspect.iscoroutinefunction(func):
        return provide_account_id(func)

    account = _AccountArgument(func)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not account.missing(args, kwargs):
            return func(*args, **kwargs)
        args, kwargs = account.filled(args, kwargs, args[0].default_account_id())
        return func(*args, **kwargs)

    return cast("T", wrapper)


def provide_account_id(func: T) -> T:
    """
    Fill in ``account_id`` of an async hook method from the connection, resolved without blocking.

    :param func: The async hook method to decorate.
    """

    account = _AccountArgument(func)

    @wraps(func)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not account.missing(args, kwargs):
            return await func(*args, **kwargs)
        args, kwargs = account.filled(args, kwargs, await args[0].adefault_account_id())
        return await func(*args, **kwargs)

    return cast("T", wrapper)


def _response(answer: Any) -> Response:
    return cast("Response", answer.raw)


def _as_dict(value: Any) -> dict[str, Any]:
    """A JSON object as a new dict; anything else (a missing or malformed field) as an empty one."""
    return dict(value) if isinstance(value, dict) else {}


def _raw(pages: list[Any]) -> list[Response]:
    return [_response(page) for page in pages]


def _write_like_reference(response: Any, path: str, destination: Any) -> None:
    """Write an artifact answer that is not a ``requests.Response`` (a test's stand-in) as 4.11.1 did."""
    text = json.dumps(response.json()) if path.endswith(".json") else str(response.text)
    with open(destination, "w") if not hasattr(destination, "fs") else destination.open("w") as handle:
        handle.write(text)


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
    default_conn_name = DEFAULT_CONN_NAME
    conn_type = "dbt_cloud"
    hook_name = "dbt Cloud"

    def __init__(
        self,
        dbt_cloud_conn_id: str = default_conn_name,
        timeout_seconds: float | None = None,
        retry_limit: int | None = None,
        retry_delay: float | None = None,
        retry_args: dict[str, Any] | None = None,
        log_progress: bool = True,
    ) -> None:
        # HttpHook's keep-alive adapter serves its own get_conn, which this hook replaces; building it
        # anyway cost a tenth of a millisecond per hook, and a triggerer builds one per deferred wait.
        super().__init__(auth_type=TokenAuth, tcp_keep_alive=False)
        if retry_limit is not None and retry_limit < 1:
            raise ValueError("Retry limit must be greater than or equal to 1")
        self.log_progress = log_progress
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
        """Describe how the Airflow UI shows the dbt Cloud connection form (labels, hidden fields)."""
        from airflow_dbtcloud._provider_info import provider_info

        behaviour = provider_info()["connection-types"][0]["ui-field-behaviour"]
        return {key.replace("-", "_"): value for key, value in behaviour.items()}

    # -- configuration: resolved once, shared by both paths --------------------------------------

    def _configure(self, conn: Any, extra: dict[str, Any]) -> ClientConfig:
        self._config = config_from_connection(
            conn_id=self.dbt_cloud_conn_id,
            host=conn.host,
            login=conn.login,
            password=conn.password,
            port=conn.port,
            extra=extra,
            timeout_seconds=self.timeout_seconds,
            retry_limit=self.retry_limit,
            retry_delay=self.retry_delay,
            user_agent=f"airflow-dbtcloud/{__version__}",
        )
        return self._config

    @cached_property
    def connection(self) -> Any:
        """The dbt Cloud connection (resolved once per hook, shared with the async path)."""
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
                self.__dict__["connection"] = await get_async_connection(self.dbt_cloud_conn_id, self)
            conn = self.__dict__["connection"]
            # The sync masker may block on the supervisor channel inside the triggerer's event loop.
            await amask_secret(self._configure(conn, await get_async_extra_dejson(conn)).token)
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
        Return a requests session set up for the connection's tenant, token, proxies and CA bundle.

        :param headers: Further headers for the session, as a dictionary.
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
        Build the URL of an account-scoped endpoint and its ``include_related`` parameter.

        :param tenant: The tenant's host (``cloud.getdbt.com``) or base URL.
        :param endpoint: The path after ``/api/<version>/accounts/``.
        :param include_related: Related objects to request with the resource.
        :param api_version: The API version, ``v2`` or ``v3``.
        """
        base = tenant.rstrip("/") if "://" in tenant else f"https://{tenant}"
        params: dict[str, Any] = {"include_related": include_related} if include_related else {}
        return f"{base}/api/{api_version}/accounts/{endpoint or ''}", params

    async def get_headers_tenants_from_connection(self) -> tuple[dict[str, Any], str]:
        """Return the request headers (token included) and the tenant's host, resolved without blocking."""
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
        Fetch one run, without blocking the event loop.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param include_related: Optional. Related objects to include, e.g. ``["trigger", "run_steps"]``.
        :return: The decoded response body (``{"status": ..., "data": <run>}``).
        """
        response = await self._arun(runs.get_run(cast("int", account_id), run_id, include_related))
        return response.body

    async def get_job_status(
        self, run_id: int, account_id: int | None = None, include_related: list[str] | None = None
    ) -> int:
        """
        Fetch one run's status code, without blocking the event loop.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param include_related: Optional. Related objects to include with the run.
        :return: The run's status value.
        """
        body = await self.get_job_details(run_id, account_id=account_id, include_related=include_related)
        return _status_of(calls.run_from_body(body))

    @fallback_to_default_account
    async def get_job_run_artifacts_concurrently(
        self, run_id: int, artifacts: list[str], account_id: int | None = None, step: int | None = None
    ) -> dict[str, Any]:
        """
        Fetch several artifact files of a run at once, over one HTTP session.

        :param run_id: The run.
        :param artifacts: The file paths, rooted at the target/ directory.
        :param account_id: The account; None uses the connection's login.
        :param step: The step index, from 1; None for the last step.
        :return: The decoded JSON (or the text) of each file, by path.
        """
        if getattr(self.get_job_run_artifact, "__func__", None) is not _OWN_GET_JOB_RUN_ARTIFACT:
            # A test double or a subclass stands in for the reference method; 4.11.1 fetches through it,
            # so tests written for it keep controlling what is fetched.
            answers = await asyncio.gather(
                *(
                    asyncio.to_thread(
                        self.get_job_run_artifact, run_id, path=path, account_id=account_id, step=step
                    )
                    for path in artifacts
                )
            )
            return {path: answer.json() for path, answer in zip(artifacts, answers, strict=True)}
        flow = artifact_files.get_artifacts(cast("int", account_id), run_id, list(artifacts), step)
        responses = await self._arun(flow)
        return {path: (r.body if r.body is not None else r.text) for path, r in responses.items()}

    @provide_account_id
    async def aget_run_step(self, step_id: int, account_id: int | None = None) -> Any:
        """
        Fetch one run step with its log as it stands; the async twin of :meth:`get_run_step`.

        :param step_id: The step's id (from a run's ``run_steps``).
        :param account_id: The account; None uses the connection's login.
        :return: The decoded response body (``{"status": ..., "data": <step>}``).
        """
        return (await self._arun(runs.get_step(cast("int", account_id), step_id))).body

    @provide_account_id
    async def aget_job(self, job_id: int, account_id: int | None = None) -> Any:
        """
        Fetch one job definition; the async twin of :meth:`get_job`.

        :param job_id: The job.
        :param account_id: The account; None uses the connection's login.
        :return: The decoded response body (``{"status": ..., "data": <job>}``).
        """
        return (await self._arun(jobs.get_job(cast("int", account_id), job_id))).body

    @provide_account_id
    async def aget_job_runs(
        self, account_id: int | None = None, payload: dict[str, Any] | None = None
    ) -> Any:
        """
        Fetch one page of runs with raw query parameters; the async twin of :meth:`get_job_runs`.

        :param account_id: The account; None uses the connection's login.
        :param payload: The query parameters.
        :return: The decoded response body.
        """
        return (await self._arun(runs.get_runs(cast("int", account_id), payload))).body

    @provide_account_id
    async def atrigger_job_run(
        self,
        job_id: int,
        cause: str,
        account_id: int | None = None,
        steps_override: list[str] | None = None,
        schema_override: str | None = None,
        retry_from_failure: bool = False,
        additional_run_config: dict[str, Any] | None = None,
    ) -> Any:
        """
        Start a run of a job; the async twin of :meth:`trigger_job_run` (without its rerun shortcut).

        :param job_id: The job.
        :param cause: Why the run is started (1 to 255 characters).
        :param account_id: The account; None uses the connection's login.
        :param steps_override: dbt commands to run instead of the job's.
        :param schema_override: The schema to build into.
        :param retry_from_failure: Not supported on the async path; must be False.
        :param additional_run_config: Further trigger fields.
        :return: The decoded response body, with the new run in ``data``.
        :raises DbtCloudRunMayExistError: When the run may have started but no answer came.
        """
        if retry_from_failure:
            raise DbtCloudConfigError("atrigger_job_run does not rerun; call aretry_run with the failed run")
        body = jobs.trigger_body(cause, steps_override, schema_override, additional_run_config)
        return (await self._arun(jobs.trigger_run(cast("int", account_id), job_id, body))).body

    @provide_account_id
    async def aretry_run(self, run_id: int, account_id: int | None = None) -> Any:
        """
        Retry a failed run from its point of failure; the async twin of :meth:`retry_run`.

        :param run_id: The failed run.
        :param account_id: The account; None uses the connection's login.
        :return: The decoded response body, with the new run in ``data``.
        """
        return (await self._arun(runs.retry_run(cast("int", account_id), run_id))).body

    # -- reference API: sync ------------------------------------------------------------------------

    def list_accounts(self) -> list[Response]:
        """
        List the dbt Cloud accounts the API token may access.

        :return: The response, in a list.
        """
        return [_response(self._run(accounts.list_accounts()))]

    @fallback_to_default_account
    def get_account(self, account_id: int | None = None) -> Response:
        """
        Fetch one account.

        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        return _response(self._run(accounts.get_account(cast("int", account_id))))

    @fallback_to_default_account
    def list_projects(
        self, account_id: int | None = None, name_contains: str | None = None
    ) -> list[Response]:
        """
        List the account's projects, every page.

        :param account_id: The account; None uses the connection's login.
        :param name_contains: Optional. Case-insensitive substring of the project name.
        :return: One response per page.
        """
        return _raw(self._run(projects.list_projects(cast("int", account_id), name_contains)))

    @fallback_to_default_account
    def get_project(self, project_id: int, account_id: int | None = None) -> Response:
        """
        Fetch one project.

        :param project_id: The project.
        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        return _response(self._run(projects.get_project(cast("int", account_id), project_id)))

    @fallback_to_default_account
    def list_environments(
        self, project_id: int, *, name_contains: str | None = None, account_id: int | None = None
    ) -> list[Response]:
        """
        List a project's environments, every page.

        :param project_id: The project.
        :param name_contains: Optional. Case-insensitive substring of the environment name.
        :param account_id: The account; None uses the connection's login.
        :return: One response per page.
        """
        flow = projects.list_environments(cast("int", account_id), project_id, name_contains)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_environment(
        self, project_id: int, environment_id: int, *, account_id: int | None = None
    ) -> Response:
        """
        Fetch one environment of a project.

        :param project_id: The project.
        :param environment_id: The environment.
        :param account_id: The account; None uses the connection's login.
        :return: The response.
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
        List the account's jobs, every page, optionally of one project or environment.

        :param account_id: The account; None uses the connection's login.
        :param order_by: Optional. The field to order by; prefix ``-`` for descending, e.g. ``-id``.
        :param project_id: Optional. Only jobs of this project.
        :param environment_id: Optional. Only jobs of this environment.
        :param name_contains: Optional. Case-insensitive substring of the job name.
        :return: One response per page.
        """
        flow = jobs.list_jobs(cast("int", account_id), order_by, project_id, environment_id, name_contains)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_job(self, job_id: int, account_id: int | None = None) -> Response:
        """
        Fetch one job definition.

        :param job_id: The job.
        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        return _response(self._run(jobs.get_job(cast("int", account_id), job_id)))

    @fallback_to_default_account
    def get_job_by_name(
        self, *, project_name: str, environment_name: str, job_name: str, account_id: int | None = None
    ) -> dict[str, Any]:
        """
        Find a job by the exact names of its project, its environment and itself.

        :param project_name: The project's exact name.
        :param environment_name: The environment's exact name.
        :param job_name: The job's exact name.
        :param account_id: The account; None uses the connection's login.
        :return: The job.
        :raises DbtCloudResourceLookupError: When no or several projects, environments or jobs match.
        """
        pages = self.list_projects(name_contains=project_name, account_id=account_id)
        project = exactly_one(
            (page.json()["data"] for page in pages),
            project_name,
            f"Found {{count}} projects with name `{project_name}`.",
        )
        pages = self.list_environments(
            project_id=project["id"], name_contains=environment_name, account_id=account_id
        )
        environment = exactly_one(
            (page.json()["data"] for page in pages),
            environment_name,
            f"Found {{count}} environments with name `{environment_name}` in project `{project_name}`.",
        )
        pages = self.list_jobs(
            project_id=project["id"],
            environment_id=environment["id"],
            name_contains=job_name,
            account_id=account_id,
        )
        return exactly_one(
            (page.json()["data"] for page in pages),
            job_name,
            f"Found {{count}} jobs with name `{job_name}` in environment `{environment_name}` in project "
            f"`{project_name}`.",
        )

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
        Start a run of a job.

        :param job_id: The job.
        :param cause: Why the job runs; longer than 255 characters is cut short, with a warning.
        :param account_id: The account; None uses the connection's login.
        :param steps_override: Optional. dbt commands to run instead of the job's own.
        :param schema_override: Optional. The schema to build into instead of the job's target schema.
        :param retry_from_failure: Optional. If the job's latest run (whoever started it) failed, rerun
            it from its point of failure instead; the overrides are then ignored.
        :param additional_run_config: Optional. Further trigger fields, sent as given.
        :return: The response, with the new run in ``data``.
        :raises DbtCloudConfigError: When a field is invalid (before any request).
        :raises DbtCloudRunMayExistError: When the request may have started a run but no answer came.
        """
        job_id = require_id("job_id", job_id)
        if not isinstance(cause, str):
            kind = type(cause).__name__
            raise DbtCloudConfigError(f"cause must be a non-empty string, got {kind}: {cause!r}")
        if len(cause) > DBT_CAUSE_MAX_LENGTH:
            warnings.warn(
                f"Cause `{cause}` exceeds limit of {DBT_CAUSE_MAX_LENGTH} characters and will be truncated.",
                UserWarning,
                stacklevel=2,
            )
            cause = cause[:DBT_CAUSE_MAX_LENGTH]
        body = jobs.trigger_body(cause, steps_override, schema_override, additional_run_config)
        if retry_from_failure:
            latest = self.get_job_runs(
                account_id=account_id,
                payload={"job_definition_id": job_id, "order_by": "-created_at", "limit": 1},
            ).json()["data"]
            if latest and latest[0].get("status") == DbtCloudJobRunStatus.ERROR.value:
                if len(body) > 1:
                    warnings.warn(
                        "steps_override, schema_override, or additional_run_config will be ignored when"
                        " retry_from_failure is True and previous job run has failed.",
                        UserWarning,
                        stacklevel=2,
                    )
                return self.retry_failed_job_run(job_id, account_id)
        return _response(self._run(jobs.trigger_run(cast("int", account_id), job_id, body)))

    @fallback_to_default_account
    def retry_failed_job_run(self, job_id: int, account_id: int | None = None) -> Response:
        """
        Rerun the job's latest run from its point of failure if it failed; else start a new run.

        :param job_id: The job.
        :param account_id: The account; None uses the connection's login.
        :return: The response, with the run in ``data``.
        """
        return _response(self._run(jobs.rerun_job(cast("int", account_id), job_id)))

    @fallback_to_default_account
    def retry_run(self, run_id: int, account_id: int | None = None) -> Response:
        """
        Retry this failed run from its point of failure (``POST /runs/{run_id}/retry/``).

        Unlike :meth:`retry_failed_job_run`, which reruns whatever run of the job came last, this
        retries the one run given.

        :param run_id: The failed run.
        :param account_id: The account; None uses the connection's login.
        :return: The response, with the new run in ``data``.
        :raises DbtCloudRunMayExistError: When the retry may have started but no answer came.
        """
        return _response(self._run(runs.retry_run(cast("int", account_id), run_id)))

    @fallback_to_default_account
    def list_job_runs(
        self,
        account_id: int | None = None,
        include_related: list[str] | None = None,
        job_definition_id: int | None = None,
        order_by: str | None = None,
    ) -> list[Response]:
        """
        List the account's runs, every page, optionally of one job.

        :param account_id: The account; None uses the connection's login.
        :param include_related: Optional. Related objects to include: "trigger", "job", "audit" and
            "debug_logs".
        :param job_definition_id: Optional. Only runs of this job.
        :param order_by: Optional. The field to order by; prefix ``-`` for descending, e.g. ``-id``.
        :return: One response per page.
        """
        flow = runs.list_runs(cast("int", account_id), include_related, job_definition_id, order_by)
        return _raw(self._run(flow))

    @fallback_to_default_account
    def get_job_runs(self, account_id: int | None = None, payload: dict[str, Any] | None = None) -> Response:
        """
        Fetch one page of runs with the given query parameters.

        :param account_id: The account; None uses the connection's login.
        :param payload: Optional. The query parameters, e.g. ``{"job_definition_id": 5, "limit": 1}``.
        :return: The response.
        """
        return _response(self._run(runs.get_runs(cast("int", account_id), payload)))

    @fallback_to_default_account
    def get_run_step(self, step_id: int, account_id: int | None = None) -> Response:
        """
        Fetch one step of a run with its log as it stands (``/steps/{id}/``), for progress while it runs.

        :param step_id: The step's id (from a run's ``run_steps``).
        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        return _response(self._run(runs.get_step(cast("int", account_id), step_id)))

    @fallback_to_default_account
    def get_job_run(
        self, run_id: int, account_id: int | None = None, include_related: list[str] | None = None
    ) -> Response:
        """
        Fetch one run.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param include_related: Optional. Related objects to include: "trigger", "job", "repository",
            "environment" and "run_steps".
        :return: The response.
        """
        return _response(self._run(runs.get_run(cast("int", account_id), run_id, include_related)))

    def get_run_state(
        self, run_id: int, account_id: int | None = None, include_related: Sequence[str] = ()
    ) -> RunState:
        """
        Fetch one run (through :meth:`get_job_run`) as a :class:`~airflow_dbtcloud.api.run_state.RunState`.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param include_related: Related objects to include, e.g. ``["run_steps"]``.
        """
        return calls.make_call(calls.get_run(run_id, account_id, include_related), self)

    def get_job_run_status(self, run_id: int, account_id: int | None = None) -> int:
        """
        Fetch one run's status code.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :return: The status of a dbt Cloud job run.
        """
        status = _status_of(self.get_run_state(run_id, account_id))
        self.log.debug("Job run %s is %s.", run_id, status_name(status))
        return status

    def get_failure_report(
        self, run_id: int, account_id: int | None = None, job_run: RunState | None = None
    ) -> FailureReport:
        """
        Gather why a run failed: its failed steps (with the end of their logs) and failed nodes.

        API errors while gathering are noted in the report rather than raised, because the run's own
        failure is what the caller must report.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param job_run: The run with its steps, when the caller has it; else it is fetched.
        :raises DbtCloudConfigError: When ``run_id`` is not a positive integer (nothing is fetched).
        """
        run_id = require_id("run_id", run_id)
        try:
            run = job_run or self.get_run_state(run_id, account_id, ["run_steps"])
        except DbtCloudError as exc:
            return FailureReport(run_id, "unknown", notes=(f"Could not fetch the run: {exc}",))
        steps = failed_steps(run)
        nodes: list[FailedNode] = []
        notes: list[str] = []
        if not run.artifacts_saved:
            notes.append("The run saved no artifacts, so there is no run_results.json to list failed nodes.")
        else:
            try:
                results = self._run_results(run_id, account_id, steps[-1].index if steps else None)
            except DbtCloudError as exc:
                notes.append(f"Could not fetch run_results.json: {exc}")
            else:
                nodes = failed_nodes(results)
                if results is None:
                    notes.append("No run_results.json was saved for this run.")
        return FailureReport(
            run_id=run_id,
            status=run.label,
            url=self._run_page(run, account_id),
            status_message=run.status_message,
            steps=tuple(steps),
            nodes=tuple(nodes),
            notes=tuple(notes),
        )

    def get_run_build(self, run_id: int, account_id: int | None = None) -> RunBuild:
        """
        Find what a run built: the models, seeds and snapshots each dbt step ran successfully.

        The run (with its steps), each dbt step's ``run_results.json``, the last step's
        ``manifest.json`` and the project's connection are fetched once each, through the reference
        methods; the artifacts are streamed to a temporary folder and read as streams, so memory stays
        small however large the manifest is.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :return: What the run built; no nodes when the run saved no artifacts.
        """
        run = self.get_run_state(run_id, account_id, ["run_steps"])
        steps: list[int | None] = [s.index for s in run.steps if s.name.startswith(DBT_STEP_PREFIX)] or [None]
        results, facts = RunResults(), ManifestFacts(None, None)
        with tempfile.TemporaryDirectory(prefix="dbt-cloud-artifacts-") as folder:
            for step in steps:
                if found := self._fetch_artifact(run_id, "run_results.json", folder, account_id, step):
                    with found.open("rb") as stream:
                        read_run_results(stream, results)
            if results.built and (
                found := self._fetch_artifact(run_id, "manifest.json", folder, account_id, steps[-1])
            ):
                with found.open("rb") as stream:
                    facts = read_manifest(stream, results.built, results.tests)
        nodes = built_nodes(results, facts)
        account = run.account_id or account_id
        return RunBuild(
            account_id=account,
            project_id=run.project_id,
            job_id=run.job_id,
            run_id=run.id,
            run_url=self._run_page(run, account),
            adapter_type=facts.adapter_type,
            connection=self._warehouse_connection(run.project_id, account, facts.adapter_type)
            if nodes
            else {},
            nodes=nodes,
        )

    def _run_page(self, run: RunState, account_id: int | None) -> str | None:
        """The run's UI page: its ``href`` only when on the connection's host (see :func:`run_page`)."""
        try:
            config = self.client_config
        except AirflowException:
            # A test double stands in for the hook's methods and there is no usable connection: the
            # report keeps a plain http(s) href, or goes without a page, rather than failing.
            return run_page(run, None)
        if account_id is None and run.account_id is None:
            with contextlib.suppress(DbtCloudConfigError):
                account_id = config.default_account_id
        return run_page(run, config.base_url, account_id)

    def _fetch_artifact(
        self, run_id: int, path: str, folder: str, account_id: int | None, step: int | None
    ) -> Path | None:
        """Stream one artifact into ``folder``; None when the step saved no such file."""
        target = Path(folder) / f"{step or 'last'}-{path}"
        try:
            self.download_job_run_artifact(run_id, path, target, account_id, step)
        except DbtCloudNotFoundError:
            return None
        return target

    def _warehouse_connection(
        self, project_id: int | None, account_id: int | None, adapter_type: str | None
    ) -> dict[str, Any]:
        """The connection that names the project's warehouse: the project's, else the account's by id.

        Empty when neither can be read (the assets then get ``dbt://`` URIs).
        """
        if project_id is None:
            return {}
        try:
            project = _as_dict(
                self.get_project(project_id=project_id, account_id=account_id).json().get("data")
            )
            connection = _as_dict(project.get("connection"))
            connection_id = project.get("connection_id") or connection.get("id")
            if connection_id and not Warehouse.from_connection(adapter_type, connection).identified:
                answer = self.get_warehouse_connection(int(connection_id), account_id=account_id)
                connection = _as_dict(answer.json().get("data")) or connection
        except DbtCloudApiError as exc:
            self.log.warning("Could not read the warehouse of dbt Cloud project %s: %s", project_id, exc)
            return {}
        return connection

    @fallback_to_default_account
    def get_warehouse_connection(self, connection_id: int, account_id: int | None = None) -> Response:
        """
        Fetch one of the account's warehouse connections (``/api/v3/accounts/{a}/connections/{id}/``).

        Its ``config`` names the warehouse (host, port, Snowflake account, ...), never its secrets.

        :param connection_id: The connection, e.g. a project's ``connection_id``.
        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        return _response(self._run(projects.get_account_connection(cast("int", account_id), connection_id)))

    def _run_results(self, run_id: int, account_id: int | None, step: int | None) -> Any:
        """The failing step's ``run_results.json``, else the last step's, else None."""
        for candidate in dict.fromkeys((step, None)):
            try:
                return self.get_job_run_artifact(
                    run_id=run_id, path="run_results.json", account_id=account_id, step=candidate
                ).json()
            except DbtCloudNotFoundError:
                continue
        return None

    def log_job_run_failure_details(
        self, run_id: int, account_id: int | None = None, job_run: dict[str, Any] | None = None
    ) -> FailureReport:
        """
        Log why a run failed: status message, failed steps with their log tails, failed nodes, URL.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param job_run: The run with ``run_steps``, when the caller has it; else it is fetched.
        :return: The report that was logged (the official method returns None).
        """
        known = RunState.from_payload({"id": run_id, **job_run}) if job_run is not None else None
        report = self.get_failure_report(run_id, account_id, known)
        self.log.error("%s", report.render())
        return report

    def live_progress(
        self, run_id: int, account_id: int | None = None, *, asynchronous: bool = False
    ) -> RunProgress | None:
        """Start following a run's live progress, for a wait that logs it (see ``api/progress.py``).

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param asynchronous: Whether the wait runs on an event loop (it then calls the async twins).
        :return: A tracker, or None when progress is off (``log_progress=False``) or a test double or a
            subclass stands in for a method it would call (the double controls the wait, so progress
            must not call past it).
        """
        methods = _ASYNC_PROGRESS_METHODS if asynchronous else _SYNC_PROGRESS_METHODS
        if not self.log_progress or any(_replaced(self, name) for name in methods):
            return None
        return RunProgress(run_id, account_id)

    def poll_run_status(
        self, run_id: int, account_id: int | None, progress: RunProgress | None
    ) -> tuple[int, RunProgress | None]:
        """One poll of a wait: the run's status, and its live progress logged on the way.

        With progress, the one request that reads the progress also tells the status (see
        :meth:`RunProgress.run_status`), so the poll costs what a bare status poll costs; a second
        request follows only when the followed step has just ended. Without, the poll is
        :meth:`get_job_run_status`.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param progress: What :meth:`live_progress` returned, or None.
        :return: The status, and the tracker for the next poll (None once progress stopped).
        :raises DbtCloudError: When dbt Cloud could not be asked (the wait's policy decides what next).
        """
        if progress is not None:
            try:
                return calls.drive_calls(progress.poll(), self), progress
            except DbtCloudError as exc:
                self._progress_failed(progress, exc)
            finally:
                self._log_progress_lines(progress)
        return self.get_job_run_status(run_id=run_id, account_id=account_id), None

    async def apoll_run_status(
        self, run_id: int, account_id: int | None, progress: RunProgress | None
    ) -> tuple[int, RunProgress | None]:
        """Like :meth:`poll_run_status`, through the async twins, for a wait on an event loop.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param progress: What :meth:`live_progress` returned (with ``asynchronous=True``), or None.
        :return: The status, and the tracker for the next poll (None once progress stopped).
        :raises DbtCloudError: When dbt Cloud could not be asked.
        """
        if progress is not None:
            try:
                return await calls.adrive_calls(progress.poll(), self), progress
            except DbtCloudError as exc:
                self._progress_failed(progress, exc)
            finally:
                self._log_progress_lines(progress)
        return await self.get_job_status(run_id, account_id), None

    def _log_progress_lines(self, progress: RunProgress) -> None:
        # One record per poll, a line per node: on a triggerer with a thousand waits, a record per
        # line cost more CPU than the poll's request.
        lines = progress.take_lines()
        if lines:
            self.log.info("%s", "\n".join(lines))

    def _progress_failed(self, progress: RunProgress, exc: DbtCloudError) -> None:
        """Raise a transient error again (the wait's policy handles it); else turn progress off."""
        if progress.survives(exc):
            raise exc
        self.log.info("No live progress for job run %s from here on: %s", progress.run_id, exc)

    def wait_for_job_run_status(
        self,
        run_id: int,
        account_id: int | None = None,
        expected_statuses: int | Sequence[int] | set[int] = DbtCloudJobRunStatus.SUCCESS.value,
        check_interval: int = 60,
        timeout: int = 60 * 60 * 24 * 7,
        *,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        expected_duration: float | None = None,
    ) -> bool:
        """
        Poll a run until it reaches one of the expected statuses.

        Status changes, and a line every ten minutes, go to the log at INFO, and so does the run's live
        progress (the step it is in, each node as dbt reports it done), read by the poll's one request
        (:meth:`poll_run_status`; off with ``log_progress=False``). Transient API errors are waited out
        (backing off) until ``error_budget`` of them came in a row.

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param expected_statuses: The status value(s) to wait for. Defaults to success.
        :param check_interval: The pause between polls, in seconds.
        :param timeout: How long to wait, in seconds.
        :param error_budget: How many transient API errors in a row the wait survives.
        :param expected_duration: Seconds the run is expected to take at most; a warning is logged once
            when the wait lasts longer.
        :return: ``True`` once the run reaches one of ``expected_statuses``.
        :raises DbtCloudJobRunFailedError: When the run ends in another status; the failure report is
            logged and included in the message.
        :raises DbtCloudJobRunTimeoutError: When ``timeout`` passes first.
        :raises DbtCloudError: When dbt Cloud cannot be asked (a non-transient error, or the budget ran out).
        """
        run_id = require_id("run_id", run_id)
        expected = (expected_statuses,) if isinstance(expected_statuses, int) else expected_statuses
        DbtCloudJobRunStatus.check_is_valid(expected)
        end = time.monotonic() + timeout
        waiter = Waiter(
            run_id,
            check_interval,
            end,
            expected=expected,
            error_budget=error_budget,
            clock=time.monotonic,
            expected_duration=expected_duration,
        )
        progress = self.live_progress(run_id, account_id)
        while True:
            try:
                status, progress = self.poll_run_status(run_id, account_id, progress)
                step = waiter.after_status(status)
            except DbtCloudError as exc:
                step = waiter.after_error(exc)
                if step.outcome is not None:
                    raise
            if step.outcome is not None:
                break
            if step.note:
                self.log.info("%s", step.note)
            if step.warning:
                self.log.warning("%s", step.warning)
            time.sleep(step.pause)
        if step.outcome.end == "reached":
            return True
        if step.outcome.end == "timeout":
            raise DbtCloudJobRunTimeoutError(
                f"Job run {run_id} has not reached a terminal status after {timeout} seconds."
            )
        report = self.log_job_run_failure_details(run_id=run_id, account_id=account_id)
        message = (
            f"Job run {run_id} reached terminal status {status_name(step.outcome.status)} "
            f"before reaching expected statuses {expected}"
        )
        if isinstance(report, FailureReport):
            message += "\n" + report.render()
        raise DbtCloudJobRunFailedError(message, step.outcome.status)

    @fallback_to_default_account
    def cancel_job_run(self, run_id: int, account_id: int | None = None) -> None:
        """
        Ask dbt Cloud to cancel a run (a run that has ended stays as it is).

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        """
        self._run(runs.cancel_run(cast("int", account_id), run_id))

    @fallback_to_default_account
    def list_job_run_artifacts(
        self, run_id: int, account_id: int | None = None, step: int | None = None
    ) -> list[Response]:
        """
        List the artifact files a run saved (of its last step unless ``step`` is given).

        :param run_id: The run.
        :param account_id: The account; None uses the connection's login.
        :param step: Optional. The step index, from 1; None for the last step.
        :return: The response, in a list.
        """
        return [_response(self._run(artifact_files.list_artifacts(cast("int", account_id), run_id, step)))]

    @fallback_to_default_account
    def get_job_run_artifact(
        self, run_id: int, path: str, account_id: int | None = None, step: int | None = None
    ) -> Response:
        """
        Fetch one artifact file of a run.

        The body is not read until the caller reads it (``json()``, ``text``, ``iter_content``), so a
        large file can be streamed; :meth:`download_job_run_artifact` does that.

        :param run_id: The run.
        :param path: The file's path under ``target/``, e.g. ``manifest.json``, ``run_results.json``
            or ``compiled/<project>/models/orders.sql``.
        :param account_id: The account; None uses the connection's login.
        :param step: Optional. The step index, from 1; None for the last step.
        :return: The response.
        """
        flow = artifact_files.get_artifact(cast("int", account_id), run_id, path, step, stream=True)
        return _response(self._run(flow))

    def download_job_run_artifact(
        self, run_id: int, path: str, destination: Any, account_id: int | None = None, step: int | None = None
    ) -> Any:
        """
        Stream a run artifact (fetched through :meth:`get_job_run_artifact`) to a file or object storage.

        Memory stays bounded by the chunk size, the destination appears whole or not at all, and a
        body cut short is fetched again under the retry policy.

        :param run_id: The run.
        :param path: Path under ``target/``, e.g. ``manifest.json``.
        :param destination: A local path or an ``ObjectStoragePath``.
        :param account_id: The account; None uses the connection's login.
        :param step: The step index (from 1); None for the last step.
        :return: ``destination``.
        """
        # Describes the download for the retry policy and its messages; the account is passed on as given.
        account = account_id if account_id is not None else self.default_account_id()
        return self._stream_to(
            artifact_files.artifact_request(account, run_id, path, step),
            lambda: self.get_job_run_artifact(run_id=run_id, path=path, account_id=account_id, step=step),
            path,
            destination,
        )

    @fallback_to_default_account
    def get_job_latest_artifact(self, job_id: int, path: str, account_id: int | None = None) -> Response:
        """
        Fetch one artifact file of a job's latest run that saved it (``/jobs/{id}/artifacts/{path}``).

        For when the run id is not known, such as a job dbt Cloud's own scheduler runs. The body is not
        read until the caller reads it, as with :meth:`get_job_run_artifact`.

        :param job_id: The job.
        :param path: The file's path under ``target/``, e.g. ``manifest.json``.
        :param account_id: The account; None uses the connection's login.
        :return: The response.
        """
        flow = artifact_files.get_job_artifact(cast("int", account_id), job_id, path, stream=True)
        return _response(self._run(flow))

    def download_job_latest_artifact(
        self, job_id: int, path: str, destination: Any, account_id: int | None = None
    ) -> Any:
        """
        Stream an artifact of a job's latest run (through :meth:`get_job_latest_artifact`) to storage.

        As :meth:`download_job_run_artifact`: bounded memory, whole or nothing, a body cut short fetched
        again.

        :param job_id: The job.
        :param path: Path under ``target/``, e.g. ``manifest.json``.
        :param destination: A local path or an ``ObjectStoragePath``.
        :param account_id: The account; None uses the connection's login.
        :return: ``destination``.
        """
        account = account_id if account_id is not None else self.default_account_id()
        return self._stream_to(
            artifact_files.job_artifact_request(account, job_id, path),
            lambda: self.get_job_latest_artifact(job_id=job_id, path=path, account_id=account_id),
            path,
            destination,
        )

    def _stream_to(self, request: ApiRequest, fetch: Callable[[], Any], path: str, destination: Any) -> Any:
        """Write what ``fetch`` answers to ``destination``, fetching again when the body is cut short."""
        client = self._sync_client()

        def attempt() -> None:
            response = fetch()
            if isinstance(response, requests.Response):
                copy_body(request, response, destination, client.config.chunk_size)
            else:
                _write_like_reference(response, path, destination)

        client.retrying(request, attempt, only=_body_cut_short)
        return destination

    @provide_account_id
    async def adownload_job_run_artifact(
        self, run_id: int, path: str, destination: Any, account_id: int | None = None, step: int | None = None
    ) -> Any:
        """
        Stream a run artifact to storage; the async twin of :meth:`download_job_run_artifact`.

        :param run_id: The run.
        :param path: Path under ``target/``.
        :param destination: A local path or an ``ObjectStoragePath``.
        :param account_id: The account; None uses the connection's login.
        :param step: The step index (from 1); None for the last step.
        :return: ``destination``.
        """
        flow = artifact_files.download_artifact(cast("int", account_id), run_id, path, destination, step)
        return await self._arun(flow)

    def test_connection(self) -> tuple[bool, str]:
        """Check the connection by listing the accounts the token may access (this proves the token)."""
        try:
            self.list_accounts()
        # The UI shows whatever went wrong, a bad connection definition included.
        except Exception as exc:
            return False, str(exc)
        return True, "Successfully connected to dbt Cloud."


#: The hook's own ``get_job_run_artifact``, to tell when a test double or a subclass replaced it.
_OWN_GET_JOB_RUN_ARTIFACT = DbtCloudHook.get_job_run_artifact
#: The hook's own methods a wait's live progress uses (sync wait, then trigger), kept at import time:
#: a test double that replaces one of them controls the wait, so progress must not call past it.
_SYNC_PROGRESS_METHODS = ("get_job_run_status", "get_job_run", "get_run_step")
_ASYNC_PROGRESS_METHODS = ("get_job_status", "get_job_details", "aget_run_step")
_OWN_METHODS = {
    name: DbtCloudHook.__dict__[name] for name in (*_SYNC_PROGRESS_METHODS, *_ASYNC_PROGRESS_METHODS)
}


def _replaced(hook: DbtCloudHook, name: str) -> bool:
    """Whether a public method of ``hook`` is not this module's own (a test double, or a subclass's)."""
    return getattr(getattr(hook, name), "__func__", None) is not _OWN_METHODS[name]


def _body_cut_short(exc: BaseException) -> bool:
    # Fetching the answer's head is already retried inside get_job_run_artifact; only a body that
    # broke off while streaming is worth fetching again here.
    return isinstance(exc, DbtCloudTransportError) and exc.kind == "truncated"


def _status_of(run: RunState) -> int:
    if run.status is None:
        raise DbtCloudPayloadError(f"run {run.id} came back without a status")
    return run.status
