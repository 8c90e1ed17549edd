"""The :class:`Hub`: the server state every handler and the middleware share, and how to reach it."""

from __future__ import annotations

from aiohttp import web

from airflow_dbtcloud.testing.faults import FaultSet
from airflow_dbtcloud.testing.journal import Journal
from airflow_dbtcloud.testing.state import State


class Hub:
    """Everything the handlers share: state, faults, journal and counters.

    :param state: The emulator state (configuration, runs, clock).
    :param faults: The injected faults the middleware consults.
    :param journal_limit: How many journal entries to keep; the oldest go first.
    :param bind_host: The interface the server is bound to, a name requests may carry in ``Host``.
    """

    def __init__(
        self, state: State, faults: FaultSet, journal_limit: int = 20000, bind_host: str = "127.0.0.1"
    ) -> None:
        self.state = state
        self.faults = faults
        self.journal = Journal(journal_limit)
        self.bind_host = bind_host
        self.requests = 0
        self.connections = 0

    def reset(self) -> None:
        """Clear runs, faults, journal and counters."""
        self.state.reset()
        self.faults.clear()
        self.journal.clear()
        self.requests = 0
        self.connections = 0


HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)


def hub_of(request: web.Request) -> Hub:
    """Return the hub of the application answering ``request``.

    :param request: A request to an application made by ``app.build_app``.
    """
    return request.app[HUB]
