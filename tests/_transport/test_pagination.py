from __future__ import annotations

import pytest
from aiohttp import web
from test_body import call_flow

from airflow_dbtcloud._transport.errors import DbtCloudNotFoundError, DbtCloudPayloadError
from airflow_dbtcloud._transport.flow import adrive, drive
from airflow_dbtcloud._transport.pagination import FIRST_BATCH_PAGES, MAX_BATCH_PAGES, paginate
from airflow_dbtcloud._transport.request import ApiRequest, ApiResponse, Batch

LIST = ApiRequest("GET", "/api/v2/accounts/1/runs/", (("job_definition_id", "3"),))


class FakeServer:
    """Answers list requests from a list of ids, which a test may change between pages."""

    def __init__(self, total, cap=100):
        self.items = list(range(1, total + 1))
        self.cap = cap
        self.seen = []
        self.batches = []

    def page(self, request):
        params = dict(request.params)
        self.seen.append((int(params["offset"]), int(params["limit"])))
        assert params["job_definition_id"] == "3"
        offset, limit = int(params["offset"]), min(int(params["limit"]), self.cap)
        data = [{"id": i} for i in self.items[offset : offset + limit]]
        body = {"data": data, "extra": {"pagination": {"count": len(data), "total_count": len(self.items)}}}
        return ApiResponse(200, {}, body)

    def send(self, step):
        if isinstance(step, Batch):
            self.batches.append(len(step.requests))
            return [self.page(r) for r in step.requests]
        return self.page(step)


def ids(pages):
    return [item["id"] for page in pages for item in page.data]


@pytest.mark.parametrize("total", [0, 1, 99, 100, 101, 250, 1000])
def test_every_item_once(total):
    server = FakeServer(total)
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, total + 1))
    offsets = [offset for offset, _ in server.seen]
    assert len(offsets) == len(set(offsets)), "no page fetched twice"


def test_rest_of_pages_go_out_as_one_batch():
    server = FakeServer(350)
    drive(paginate(LIST), server.send)
    assert server.batches == [3]
    assert server.seen == [(0, 100), (100, 100), (200, 100), (300, 100)]


def test_server_cap_below_limit_is_followed():
    server = FakeServer(95, cap=30)
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, 96))


def test_total_growing_between_pages_is_followed():
    server = FakeServer(200)
    original = server.page

    def growing(request):
        response = original(request)
        if dict(request.params)["offset"] == "0":
            server.items.extend(range(201, 251))
        return response

    server.page = growing
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, 251))


def test_total_shrinking_between_pages_stops_cleanly():
    server = FakeServer(300)
    original = server.page

    def shrinking(request):
        response = original(request)
        if dict(request.params)["offset"] == "0":
            del server.items[150:]
        return response

    server.page = shrinking
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, 151))


def test_max_items_limits_requests():
    server = FakeServer(1000)
    pages = drive(paginate(LIST, max_items=1), server.send)
    assert ids(pages) == [1]
    assert server.seen == [(0, 1)]


def test_missing_pagination_means_single_page():
    def send(step):
        return ApiResponse(200, {}, {"data": [{"id": 1}]})

    assert ids(drive(paginate(LIST), send)) == [1]


async def test_async_driver_runs_the_same_flow():
    server = FakeServer(230)

    async def asend(step):
        return server.send(step)

    pages = await adrive(paginate(LIST), asend)
    assert ids(pages) == list(range(1, 231))


def test_errors_are_thrown_into_the_flow():
    def flow():
        try:
            yield LIST
        except DbtCloudNotFoundError:
            return "handled"
        return "not reached"

    def send(step):
        raise DbtCloudNotFoundError(404, "GET", step.path)

    assert drive(flow(), send) == "handled"


async def test_async_errors_are_thrown_into_the_flow():
    def flow():
        try:
            yield LIST
        except DbtCloudNotFoundError:
            return "handled"
        return "not reached"

    async def asend(step):
        raise DbtCloudNotFoundError(404, "GET", step.path)

    assert await adrive(flow(), asend) == "handled"


def test_unhandled_errors_propagate():
    def send(step):
        raise DbtCloudNotFoundError(404, "GET", step.path)

    with pytest.raises(DbtCloudNotFoundError):
        drive(paginate(LIST), send)


# ---- servers that overstate, never stop, or send the wrong shape ----------------------------------


class LyingServer(FakeServer):
    """Holds ``total`` items but claims ``claimed`` in every page's ``total_count``."""

    def __init__(self, total, claimed):
        super().__init__(total)
        self.claimed = claimed

    def page(self, request):
        response = super().page(request)
        response.body["extra"]["pagination"]["total_count"] = self.claimed
        return response


def test_overstated_total_beyond_the_cap_fails_before_a_second_request():
    server = LyingServer(150, claimed=1_000_000)
    with pytest.raises(DbtCloudPayloadError, match="has 1000000 items, more than the 1000 pages of 100"):
        drive(paginate(LIST), server.send)
    assert server.seen == [(0, 100)]


def test_overstated_total_within_the_cap_costs_one_batch_at_most():
    server = LyingServer(150, claimed=90_000)
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, 151))
    assert server.batches == [FIRST_BATCH_PAGES]


@pytest.mark.parametrize(("total", "batches"), [(10_000, [32, 67]), (20_000, [32, 64, 64, 39])])
def test_honest_long_listing_goes_out_in_growing_bounded_batches(total, batches):
    server = FakeServer(total)
    pages = drive(paginate(LIST), server.send)
    assert ids(pages) == list(range(1, total + 1))
    assert server.batches == batches
    assert max(server.batches) <= MAX_BATCH_PAGES * 3 // 2


def test_listing_that_never_ends_stops_at_the_page_cap():
    class Endless(FakeServer):
        def page(self, request):
            offset = int(dict(request.params)["offset"])
            data = [{"id": offset + i} for i in range(100)]
            total = offset + 1_000  # always a little more to come
            return ApiResponse(200, {}, {"data": data, "extra": {"pagination": {"total_count": total}}})

    server = Endless(0)
    with pytest.raises(DbtCloudPayloadError, match="more than the 20 pages"):
        drive(paginate(LIST, max_pages=20), server.send)
    assert 1 + sum(server.batches) <= 20


def test_max_items_within_the_cap_is_not_refused():
    server = FakeServer(150_000)
    pages = drive(paginate(LIST, max_items=250), server.send)
    assert ids(pages)[:250] == list(range(1, 251))
    assert len(server.seen) == 3


@pytest.mark.parametrize("data", [None, {"id": 1}, "runs", 7])
@pytest.mark.parametrize("where", ["first page", "later page"])
def test_data_that_is_not_a_list_is_a_payload_error(data, where):
    server = FakeServer(250)
    original = server.page

    def page(request):
        response = original(request)
        if (where == "first page") == (dict(request.params)["offset"] == "0"):
            response.body["data"] = data
        return response

    server.page = page
    with pytest.raises(DbtCloudPayloadError, match=f"'data' of type {type(data).__name__}, where a list"):
        drive(paginate(LIST), server.send)


@pytest.mark.parametrize("path", ["sync", "async"])
def test_overstated_total_over_real_http_stops_where_the_pages_run_out(hostile, path):
    items = [{"id": i} for i in range(1, 251)]

    async def listing(request):
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        data = items[offset : offset + limit]
        extra = {"pagination": {"count": len(data), "total_count": 50_000}}
        return web.json_response({"status": {"code": 200}, "data": data, "extra": extra})

    hostile.on(LIST.path, listing)
    pages = call_flow(path, hostile, paginate(ApiRequest("GET", LIST.path)))
    assert ids(pages) == list(range(1, 251))
    assert hostile.hits[LIST.path] == 1 + FIRST_BATCH_PAGES
