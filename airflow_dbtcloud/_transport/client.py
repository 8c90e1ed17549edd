"""Clients: an executor plus the shared retry policy and error mapping, able to run flows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from tenacity import AsyncRetrying, Retrying, retry_if_exception

from airflow_dbtcloud._transport import budget as budget_module
from airflow_dbtcloud._transport.aio import AiohttpExecutor
from airflow_dbtcloud._transport.budget import RateBudgets
from airflow_dbtcloud._transport.config import ClientConfig
from airflow_dbtcloud._transport.errors import DbtCloudError, DbtCloudRateLimitError
from airflow_dbtcloud._transport.flow import adrive, drive
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Batch, Flow, Step, raise_for_status
from airflow_dbtcloud._transport.retry import final_error, retry_arguments, should_retry
from airflow_dbtcloud._transport.sync import RequestsExecutor

__all__ = ["AsyncClient", "SyncClient"]

T = TypeVar("T")


class SyncClient:
    """
    Run flows over requests, with retries and error mapping.

    :param executor: The requests executor.
    :param retry_overrides: ``stop``/``wait`` from a user's ``retry_args``.
    """

    def __init__(self, executor: RequestsExecutor, retry_overrides: Mapping[str, Any] | None = None) -> None:
        self.executor = executor
        self.config: ClientConfig = executor.config
        self.retry_overrides = retry_overrides

    def request(self, request: ApiRequest) -> ApiResponse:
        """
        Send one request under the retry policy.

        :param request: The request.
        :return: The successful answer.
        :raises DbtCloudError: The mapped error once retrying is over.
        """
        return self.retrying(request, lambda: raise_for_status(request, self.executor.exchange(request)))

    def retrying(
        self,
        request: ApiRequest,
        attempt: Callable[[], T],
        only: Callable[[BaseException], bool] | None = None,
    ) -> T:
        """
        Run ``attempt`` under the retry policy of ``request``.

        :param request: What ``attempt`` sends; its kind decides what may be retried.
        :param attempt: Makes one attempt and returns its result.
        :param only: Retry only errors this predicate accepts (others are raised at once), for an
            attempt whose own steps already retry the rest.
        :return: The first successful attempt's result.
        :raises DbtCloudError: The mapped error once retrying is over.
        """
        arguments = retry_arguments(self.config.retry, request, self.retry_overrides)
        if only is not None:
            arguments["retry"] = retry_if_exception(lambda exc: only(exc) and should_retry(request, exc))
        try:
            for tried in Retrying(**arguments):
                with tried:
                    return attempt()
        except DbtCloudError as exc:
            error = final_error(request, exc)
            if error is exc:
                raise
            raise error from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def send(self, step: Step) -> ApiResponse | list[ApiResponse]:
        """
        Send a request, or a batch on up to ``max_concurrency`` threads (answers in request order).

        :param step: What the flow yielded.
        """
        if not isinstance(step, Batch):
            return self.request(step)
        workers = min(self.config.max_concurrency, len(step.requests))
        if workers <= 1:
            return [self.request(request) for request in step.requests]
        # Pages and files of one batch are independent; requests' connection pool is thread-safe.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbt-cloud-batch") as pool:
            return list(pool.map(self.request, step.requests))

    def run(self, flow: Flow[T]) -> T:
        """
        Run a flow to its result.

        :param flow: The flow.
        """
        return drive(flow, self.send)

    def close(self) -> None:
        """Release pooled connections."""
        self.executor.close()


class AsyncClient:
    """
    Run flows over aiohttp, with the same retries and error mapping as :class:`SyncClient`.

    :param executor: The aiohttp executor.
    :param retry_overrides: ``stop``/``wait`` from a user's ``retry_args``.
    :param budgets: Where requests take their place in their account's budget (the process's
        ``budget.shared_budgets``, looked up at each request, unless given).
    """

    def __init__(
        self,
        executor: AiohttpExecutor,
        retry_overrides: Mapping[str, Any] | None = None,
        budgets: RateBudgets | None = None,
    ) -> None:
        self.executor = executor
        self.config: ClientConfig = executor.config
        self.retry_overrides = retry_overrides
        self._budgets = budgets

    async def request(self, request: ApiRequest) -> ApiResponse:
        """
        Send one request under the retry policy, each attempt within the account's request budget.

        :param request: The request.
        :return: The successful answer.
        :raises DbtCloudError: The mapped error once retrying is over.
        """
        budget = (self._budgets or budget_module.shared_budgets).for_request(self.config, request.path)
        try:
            async for attempt in AsyncRetrying(
                **retry_arguments(self.config.retry, request, self.retry_overrides)
            ):
                with attempt:
                    async with self.executor.slot():
                        await budget.take()
                        answer = await self.executor.exchange(request)
                    try:
                        return raise_for_status(request, answer)
                    except DbtCloudRateLimitError as exc:
                        if exc.retry_after:
                            budget.pause(exc.retry_after)  # dbt Cloud means the account, not this request
                        raise
        except DbtCloudError as exc:
            error = final_error(request, exc)
            if error is exc:
                raise
            raise error from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def send(self, step: Step) -> ApiResponse | list[ApiResponse]:
        """
        Send a request, or a batch concurrently with bounded concurrency.

        :param step: What the flow yielded.
        """
        if not isinstance(step, Batch):
            return await self.request(step)
        gate = asyncio.Semaphore(self.config.max_concurrency)

        async def bounded(request: ApiRequest) -> ApiResponse:
            async with gate:
                return await self.request(request)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(bounded(request)) for request in step.requests]
        except* DbtCloudError as failures:
            raise failures.exceptions[0] from None
        return [task.result() for task in tasks]

    async def run(self, flow: Flow[T]) -> T:
        """
        Run a flow to its result.

        :param flow: The flow.
        """
        return await adrive(flow, self.send)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.executor.close()
