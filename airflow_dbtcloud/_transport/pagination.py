"""Offset pagination written once as a flow: the first page, then the rest as one batch."""

from __future__ import annotations

from collections.abc import Sequence

from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Batch, Flow

__all__ = ["paginate"]


def _items(response: ApiResponse) -> Sequence[object]:
    data = response.data
    return data if isinstance(data, list) else []


def paginate(
    request: ApiRequest, page_size: int = 100, max_items: int | None = None
) -> Flow[list[ApiResponse]]:
    """
    Fetch every page of a list endpoint.

    The first page tells the total; the remaining pages go out together as one :class:`Batch`
    (concurrently on the async path). When the total grew while paging, further pages are fetched
    until one comes back short, so nothing is missed; no page is fetched twice.

    :param request: The list request, without ``limit`` and ``offset``.
    :param page_size: Items per page (dbt Cloud caps it at 100).
    :param max_items: Stop after this many items; None fetches everything.
    :return: The responses, one per page, in order.
    """
    limit = page_size if max_items is None else max(1, min(page_size, max_items))
    first: ApiResponse = yield request.with_params(limit=limit, offset=0)
    pages = [first]
    fetched = len(_items(first))
    _, total = first.pagination
    if total is None or fetched == 0 or fetched >= total:
        return pages
    if max_items is not None and fetched >= max_items:
        return pages
    # A server that caps pages below our limit still tells us its page size by the first page.
    step = fetched
    wanted = total if max_items is None else min(total, max_items)
    offsets = list(range(step, wanted, step))
    if offsets:
        rest: list[ApiResponse] = yield Batch.of(request.with_params(limit=limit, offset=o) for o in offsets)
        pages.extend(rest)
        fetched += sum(len(_items(page)) for page in rest)
    offset = step * (len(offsets) + 1)
    while len(_items(pages[-1])) >= step and (max_items is None or fetched < max_items):
        _, latest_total = pages[-1].pagination
        if latest_total is None or latest_total <= offset:
            break
        page: ApiResponse = yield request.with_params(limit=limit, offset=offset)
        pages.append(page)
        fetched += len(_items(page))
        offset += step
    return pages
