"""The two drivers that run flows: the only loop written once per I/O style."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from airflow_dbtcloud._transport.errors import DbtCloudError
from airflow_dbtcloud._transport.request import Flow, Step

__all__ = ["adrive", "drive"]

T = TypeVar("T")


def drive(flow: Flow[T], send: Callable[[Step], Any]) -> T:
    """
    Run a flow synchronously.

    A client error raised by ``send`` is thrown into the flow, which may handle it (for example turn
    a 404 into None) or let it propagate.

    :param flow: The flow to run.
    :param send: Sends one step and returns its response (a list of responses for a batch).
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


async def adrive(flow: Flow[T], asend: Callable[[Step], Awaitable[Any]]) -> T:
    """
    Run a flow on the event loop; the twin of :func:`drive`.

    :param flow: The flow to run.
    :param asend: Sends one step and returns its response (a list of responses for a batch).
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
