"""The filters and orderings of GET ``/api/v2/accounts/{account_id}/runs/``, as the v2 spec names them.

Each filter is read from the query string, checked (a malformed value raises :class:`Invalid`, which the
API answers with 400), applied to the runs, and echoed in ``extra.filters``. Filters combine with AND.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow_dbtcloud.testing.errors import Invalid
from airflow_dbtcloud.testing.lifecycle import STATUS_NAMES, Run
from airflow_dbtcloud.testing.responses import as_int, as_list, ordered

if TYPE_CHECKING:
    from multidict import MultiMapping  # aiohttp's own dependency; only for annotations

# A run as one instant of the emulator clock shows it: the run, then Run.view()'s
# (status, dequeued_at, started_at, finished_at, steps).
Row = tuple[Run, tuple[Any, ...]]

# integer filters: query name -> the value of a row it compares with
_EQUALS: dict[str, Callable[[Row], int | None]] = {
    "pk": lambda row: row[0].id,
    "job_definition_id": lambda row: row[0].job_id,
    "environment_id": lambda row: row[0].environment_id,
    "project_id": lambda row: row[0].project_id,
    "deferring_run_id": lambda row: None,  # no emulated run defers to another run
}
_IN = {"pk__in": _EQUALS["pk"], "project_id__in": _EQUALS["project_id"]}
_RANGES: dict[str, Callable[[Row], float | None]] = {
    "created_at__range": lambda row: row[0].created,
    "finished_at__range": lambda row: row[1][3],
}
ORDERINGS: dict[str, Callable[[Row], Any]] = {
    "id": lambda row: row[0].id,
    "created_at": lambda row: (row[0].created, row[0].id),
    # a run not finished yet sorts after every finished one, as NULLs do in an ascending SQL order
    "finished_at": lambda row: (math.inf if row[1][3] is None else row[1][3], row[0].id),
}


def parse_instant(raw: str, name: str) -> datetime:
    """Parse one ISO 8601 timestamp of a range filter; one without an offset is taken as UTC.

    :param raw: e.g. ``2026-01-05T10:00:00Z`` or ``2026-01-05 10:00:00.123456+00:00`` (a run's own
        ``created_at``).
    :param name: The filter's name, for the error message.
    :return: An aware datetime.
    :raises Invalid: When ``raw`` is not a timestamp.
    """
    text = raw.strip()
    try:
        value = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        raise Invalid(f"{name}: {raw!r} is not a valid ISO 8601 date/time.") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _range(query: MultiMapping[str], name: str) -> tuple[list[str], datetime, datetime] | None:
    if name not in query:
        return None
    values = as_list(query, name)
    if len(values) != 2:
        example = '["2026-01-05T00:00:00Z","2026-01-06T00:00:00Z"]'
        raise Invalid(f"{name}: Expected a list of two date/times, e.g. {example}.")
    return values, parse_instant(values[0], name), parse_instant(values[1], name)


def _instant(epoch: float) -> datetime:
    # the microsecond instant a payload shows for ``epoch``, so a run's own created_at matches it exactly
    return datetime.fromtimestamp(epoch, UTC)


def _status_codes(values: list[str], name: str) -> set[int]:
    codes = set()
    for value in values:
        code = as_int(value, name)
        if code not in STATUS_NAMES:
            raise Invalid(f"{name}: Select a valid choice. {value} is not one of the available choices.")
        codes.add(code)
    return codes


def select(rows: list[Row], query: MultiMapping[str], filters: dict[str, Any]) -> tuple[list[Row], str]:
    """Apply the query's filters and ordering to ``rows``, recording each filter in ``filters``.

    Filters: ``id__gt``, ``pk``, ``pk__in``, ``job_definition_id``, ``environment_id``, ``project_id``,
    ``project_id__in``, ``deferring_run_id``, ``status``, ``status__in``, ``created_at__range`` and
    ``finished_at__range`` (both ends included; a run not finished yet never matches the latter).
    A list is sent as repeated keys, a JSON list literal or comma-separated values.

    :param rows: The account's runs as the clock shows them now.
    :param query: The query string.
    :param filters: The echo of ``extra.filters``; each filter applied is added to it.
    :return: The matching rows in order, and the ``order_by`` applied (``id`` unless asked otherwise).
    :raises Invalid: For a malformed value, naming the parameter.
    """
    gt = as_int(query.get("id__gt"), "id__gt")
    if gt is not None:
        filters["id__gt"] = gt
        rows = [row for row in rows if row[0].id > gt]
    for name, value_of in _EQUALS.items():
        wanted = as_int(query.get(name), name)
        if wanted is not None:
            filters[name] = wanted
            rows = [row for row in rows if value_of(row) == wanted]
    for name, value_of in _IN.items():
        if name in query:
            among = [as_int(v, name) for v in as_list(query, name)]
            filters[name] = among
            rows = [row for row in rows if value_of(row) in among]
    if "status" in query:
        code = _status_codes([query["status"]], "status").pop()
        filters["status"] = code
        rows = [row for row in rows if row[1][0] == code]
    if "status__in" in query:
        codes = _status_codes(as_list(query, "status__in"), "status__in")
        filters["status__in"] = sorted(codes)
        rows = [row for row in rows if row[1][0] in codes]
    for name, epoch_of in _RANGES.items():
        bounds = _range(query, name)
        if bounds is not None:
            shown, low, high = bounds
            filters[name] = shown
            rows = [row for row in rows if _within(epoch_of(row), low, high)]
    order_by = query.get("order_by") or "id"
    return ordered(rows, order_by, ORDERINGS), order_by


def _within(epoch: float | None, low: datetime, high: datetime) -> bool:
    return epoch is not None and low <= _instant(epoch) <= high
