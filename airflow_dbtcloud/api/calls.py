"""Calls of the hook's public methods, described as data, and the two drivers that make them.

Multi-step logic above the hook (the run lifecycle) is written once as a generator that yields
:class:`Call` values and receives their parsed results. :func:`drive_calls` makes each call through the
hook's public, reference-compatible sync method (``get_job_run``, ``get_job_runs``,
``trigger_job_run``, ...), :func:`adrive_calls` through its async twin. Because the calls go through
those methods by name, a test that patches ``DbtCloudHook.trigger_job_run`` controls what the
operators do, exactly as with the official provider.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from airflow_dbtcloud._transport.errors import DbtCloudPayloadError
from airflow_dbtcloud._transport.flow import adrive, drive
from airflow_dbtcloud.api.run_state import RunState, StepState

__all__ = [
    "Call",
    "CallFlow",
    "Pause",
    "adrive_calls",
    "amake_call",
    "drive_calls",
    "get_run",
    "get_step",
    "list_runs",
    "make_call",
    "retry_run",
    "run_from_body",
    "runs_from_body",
    "trigger_run",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One call of a public hook method, not yet made.

    :param method: The sync method's name on ``DbtCloudHook``.
    :param kwargs: Its keyword arguments (the ones the official operators pass).
    :param parse: Turns the sync method's return value (a ``requests.Response``, or a test double
        standing in for one, read leniently as the official operators read it) into data.
    :param amethod: The async twin's name.
    :param aparse: Turns the async twin's return value (a decoded body) into data.
    """

    method: str
    kwargs: Mapping[str, Any]
    parse: Callable[[Any], T]
    amethod: str
    aparse: Callable[[Any], T] = field(repr=False)


@dataclass(frozen=True)
class Pause:
    """A wait between two calls of a flow: the driver sleeps and calls no hook method.

    :param seconds: How long.
    """

    seconds: float


#: A generator that yields calls (and pauses) and returns ``T``.
CallFlow = Generator[Call[Any] | Pause, Any, T]


def _data(body: Any) -> Any:
    if not isinstance(body, Mapping) or "data" not in body:
        raise DbtCloudPayloadError(f"expected an object with 'data', got {str(body)[:200]!r}")
    return body["data"]


def run_from_body(body: Any) -> RunState:
    """Read the run in a decoded answer's ``data``.

    :param body: The decoded body of a run answer.
    :raises DbtCloudPayloadError: When the body holds no run.
    """
    return RunState.from_payload(_data(body))


def runs_from_body(body: Any) -> list[RunState]:
    """Read the runs in a decoded list answer's ``data``.

    :param body: The decoded body of a list answer.
    :raises DbtCloudPayloadError: When the body holds no list of runs.
    """
    items = _data(body)
    if not isinstance(items, list):
        raise DbtCloudPayloadError(f"expected a list of runs, got {type(items).__name__}")
    return [RunState.from_payload(item) for item in items]


def _is_response(value: Any) -> bool:
    """Whether ``value`` is a real ``requests.Response``, not a test's stand-in for one."""
    # Imported here: the operator modules import this one while a DAG file is parsed, and only the hook,
    # imported when a task runs, needs requests.
    from requests import Response

    return isinstance(value, Response)


def _response_run(response: Any) -> RunState:
    if _is_response(response):
        return run_from_body(response.json())
    return RunState.from_stand_in(response.json()["data"])


def _response_runs(response: Any) -> list[RunState]:
    if _is_response(response):
        return runs_from_body(response.json())
    return [RunState.from_stand_in(item) for item in response.json()["data"]]


def get_run(run_id: int, account_id: int | None, include_related: Sequence[str] = ()) -> Call[RunState]:
    """Describe fetching one run (``get_job_run``; async ``get_job_details``).

    :param run_id: The run.
    :param account_id: The account; None uses the connection's.
    :param include_related: Related objects to include, e.g. ``["trigger"]``.
    """
    kwargs = {"run_id": run_id, "account_id": account_id, "include_related": list(include_related) or None}
    return Call("get_job_run", kwargs, _response_run, "get_job_details", run_from_body)


def _step_from_body(body: Any) -> StepState:
    data = _data(body)
    if not isinstance(data, Mapping):
        raise DbtCloudPayloadError(f"expected a run step object, got {str(data)[:200]!r}")
    return StepState.from_payload(data)  # type: ignore[arg-type]


def _response_step(response: Any) -> StepState:
    return _step_from_body(response.json())


def get_step(step_id: int, account_id: int | None) -> Call[StepState]:
    """Describe fetching one run step with its log (``get_run_step``; async ``aget_run_step``).

    :param step_id: The step's id.
    :param account_id: The account; None uses the connection's.
    """
    kwargs = {"step_id": step_id, "account_id": account_id}
    return Call(
        "get_run_step",
        kwargs,
        lambda response: _step_from_body(response.json()),
        "aget_run_step",
        _step_from_body,
    )


def list_runs(account_id: int | None, payload: Mapping[str, Any]) -> Call[list[RunState]]:
    """Describe fetching one page of runs with raw query parameters (``get_job_runs``).

    :param account_id: The account; None uses the connection's.
    :param payload: The query parameters, e.g. ``{"job_definition_id": 5, "order_by": "-id"}``.
    """
    kwargs = {"account_id": account_id, "payload": dict(payload)}
    return Call("get_job_runs", kwargs, _response_runs, "aget_job_runs", runs_from_body)


def trigger_run(
    account_id: int | None,
    job_id: int,
    cause: str,
    steps_override: list[str] | None = None,
    schema_override: str | None = None,
    retry_from_failure: bool = False,
    additional_run_config: dict[str, Any] | None = None,
) -> Call[RunState]:
    """Describe starting a run of a job (``trigger_job_run``), with the official operator's arguments.

    :param account_id: The account; None uses the connection's.
    :param job_id: The job.
    :param cause: Why the run is started.
    :param steps_override: dbt commands to run instead of the job's.
    :param schema_override: The schema to build into.
    :param retry_from_failure: Let dbt Cloud rerun the job's latest run if it failed.
    :param additional_run_config: Further trigger fields.
    """
    kwargs = {
        "account_id": account_id,
        "job_id": job_id,
        "cause": cause,
        "steps_override": steps_override,
        "schema_override": schema_override,
        "retry_from_failure": retry_from_failure,
        "additional_run_config": additional_run_config,
    }
    return Call("trigger_job_run", kwargs, _response_run, "atrigger_job_run", run_from_body)


def retry_run(run_id: int, account_id: int | None) -> Call[RunState]:
    """Describe retrying one failed run from its point of failure (``retry_run``).

    :param run_id: The failed run.
    :param account_id: The account; None uses the connection's.
    """
    return Call(
        "retry_run", {"run_id": run_id, "account_id": account_id}, _response_run, "aretry_run", run_from_body
    )


def make_call(call: Call[T], hook: Any) -> T:
    """Make one call through a hook's sync public method and parse its result.

    :param call: The call.
    :param hook: The hook.
    """
    return call.parse(getattr(hook, call.method)(**call.kwargs))


async def amake_call(call: Call[T], hook: Any) -> T:
    """Make one call through a hook's async public method and parse its result.

    :param call: The call.
    :param hook: The hook.
    """
    return call.aparse(await getattr(hook, call.amethod)(**call.kwargs))


def drive_calls(flow: CallFlow[T], hook: Any) -> T:
    """Run a call flow through a hook's sync public methods.

    A :class:`~airflow_dbtcloud._transport.errors.DbtCloudError` raised by a call is thrown into the
    flow, which may handle it.

    :param flow: The flow.
    :param hook: The hook (or anything with the same methods, such as a test double).
    :return: The flow's result.
    """

    def step_through(step: Call[Any] | Pause) -> Any:
        if isinstance(step, Pause):
            return time.sleep(step.seconds)
        return make_call(step, hook)

    return drive(flow, step_through)


async def adrive_calls(flow: CallFlow[T], hook: Any) -> T:
    """Run a call flow through a hook's async public methods; the twin of :func:`drive_calls`.

    :param flow: The flow.
    :param hook: The hook.
    :return: The flow's result.
    """

    async def step_through(step: Call[Any] | Pause) -> Any:
        if isinstance(step, Pause):
            return await asyncio.sleep(step.seconds)
        return await amake_call(step, hook)

    return await adrive(flow, step_through)
