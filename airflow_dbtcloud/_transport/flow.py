"""The two drivers that run flows: the only loop written once per I/O style.

A flow is a generator that yields steps and receives their results. The HTTP flows of
:mod:`airflow_dbtcloud.api` yield requests; the run lifecycle yields calls of the hook's public methods.
Both run through these two drivers, each with its own ``send``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

from airflow_dbtcloud._transport.errors import DbtCloudError

__all__ = ["adrive", "drive"]

S = TypeVar("S")
T = TypeVar("T")


def drive(flow: Generator[S, Any, T], send: Callable[[S], Any]) -> T:
    """
    Run a flow synchronously.

    A client error raised by ``send`` is thrown into the flow, which may handle it (for example turn
    a 404 into None) or let it propagate.

    :param flow: The flow to run.
    :param send: Carries out one step and returns its result.
    :return: The flow's result.
    """
    reply: Any = None
    error: DbtCloudError | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(reply)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
        try:
            reply, error = send(step), None
        except DbtCloudError as exc:
            reply, error = None, exc


async def adrive(flow: Generator[S, Any, T], asend: Callable[[S], Awaitable[Any]]) -> T:
    """
    Run a flow on the event loop; the twin of :func:`drive`.

    :param flow: The flow to run.
    :param asend: Carries out one step and returns its result.
    :return: The flow's result.
    """
    reply: Any = None
    error: DbtCloudError | None = None
    while True:
        try:
            step = flow.throw(error) if error is not None else flow.send(reply)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]
        try:
            reply, error = await asend(step), None
        except DbtCloudError as exc:
            reply, error = None, exc
