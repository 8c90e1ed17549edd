"""Answers the client must not trust: too big, compressed bombs, not JSON, leaking tokens.

Each behaviour is shown on both paths over real HTTP, against the hostile server of ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib

import pytest
from aiohttp import web
from fake_time import FakeTime

from airflow_dbtcloud._transport.aio import AiohttpExecutor
from airflow_dbtcloud._transport.body import ERROR_BODY_BYTES, BodyReader, decode_json
from airflow_dbtcloud._transport.budget import RateBudgets
from airflow_dbtcloud._transport.client import AsyncClient, SyncClient
from airflow_dbtcloud._transport.config import ClientConfig, RetryConfig
from airflow_dbtcloud._transport.errors import (
    DbtCloudAuthError,
    DbtCloudBadRequestError,
    DbtCloudPayloadError,
    DbtCloudRunMayExistError,
    DbtCloudServerError,
)
from airflow_dbtcloud._transport.request import ApiRequest, single
from airflow_dbtcloud._transport.sync import RequestsExecutor, new_session

TOKEN = "dbtc_hostile_SECRET_4242"
MIB = 1024 * 1024
RUN_PATH = "/api/v2/accounts/1/runs/5/"
GET = ApiRequest("GET", RUN_PATH)
START = ApiRequest("POST", "/api/v2/accounts/1/jobs/3/run/", json={"cause": "c"}, starts_run=True)
PATHS = ["sync", "async"]


def config_for(server, limit_mb=1):
    return ClientConfig(
        base_url=server.base_url,
        token=TOKEN,
        retry=RetryConfig(attempts=1),
        max_response_bytes=limit_mb * MIB,
        read_timeout=10,
    )


def run(path, config, flow):
    """Run a flow through the sync or the async client, closing it afterwards."""
    if path == "sync":
        client = SyncClient(RequestsExecutor(config, new_session(config)))
        try:
            return client.run(flow)
        finally:
            client.close()

    async def go():
        time = FakeTime()
        client = AsyncClient(AiohttpExecutor(config), None, RateBudgets(clock=time.clock, sleep=time.sleep))
        try:
            return await client.run(flow)
        finally:
            await client.close()

    return asyncio.run(go())


def call(path, config, request):
    """Send one request through the sync or the async client."""
    return run(path, config, single(request))


def call_flow(path, server, flow):
    """Run a flow against ``server`` with the default limits."""
    return run(path, config_for(server), flow)


def envelope(data):
    return {"status": {"code": 200, "is_success": True}, "data": data}


def compressed(encoding, payload_size):
    """A body of ``payload_size`` bytes of JSON whitespace, compressed as ``encoding`` says."""
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "raw-deflate": -zlib.MAX_WBITS}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [packer.compress(b"0")]
    parts.extend(packer.compress(b" " * MIB) for _ in range(payload_size // MIB))
    parts.append(packer.flush())
    return b"".join(parts)


async def endless(request):
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for _ in range(4096):  # 256 MiB at most: "endless" to a client limited to 1 MiB
            await response.write(b" " * (64 * 1024))
    except (ConnectionError, RuntimeError):
        pass  # the client hung up, as it should
    return response


@pytest.mark.parametrize("path", PATHS)
def test_endless_body_stops_at_the_limit_named_in_the_error(hostile, path):
    hostile.on(RUN_PATH, endless)
    with pytest.raises(DbtCloudPayloadError) as caught:
        call(path, config_for(hostile), GET)
    message = str(caught.value)
    assert "larger than 1 MiB" in message
    assert "'max_response_mb'" in message
    assert f"GET {RUN_PATH}" in message


@pytest.mark.parametrize("path", PATHS)
def test_announced_length_over_the_limit_fails_before_reading(hostile, path):
    async def big(request):
        return web.Response(body=b" " * (2 * MIB), content_type="application/json")

    hostile.on(RUN_PATH, big)
    with pytest.raises(DbtCloudPayloadError, match="larger than 1 MiB"):
        call(path, config_for(hostile), GET)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("wire", "encoding"), [("gzip", "gzip"), ("deflate", "deflate"), ("raw-deflate", "deflate")]
)
def test_compressed_bomb_is_never_inflated_past_the_limit(hostile, path, wire, encoding):
    bomb = compressed(wire, 48 * MIB)
    assert len(bomb) < MIB

    async def handler(request):
        return web.Response(
            body=bomb, headers={"Content-Encoding": encoding, "Content-Type": "application/json"}
        )

    hostile.on(RUN_PATH, handler)
    tracemalloc.start()
    try:
        with pytest.raises(DbtCloudPayloadError, match="larger than 1 MiB"):
            call(path, config_for(hostile), GET)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * MIB, f"{peak / MIB:.0f} MiB held while reading a 1 MiB-limited answer"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_honest_compressed_answer_reads_as_usual(hostile, path, encoding):
    raw = json.dumps(envelope({"id": 5, "name": "x" * 5000})).encode()
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)

    async def handler(request):
        assert "gzip" in request.headers["Accept-Encoding"]
        return web.Response(
            body=body, headers={"Content-Encoding": encoding, "Content-Type": "application/json"}
        )

    hostile.on(RUN_PATH, handler)
    answer = call(path, config_for(hostile), GET)
    assert answer.data == {"id": 5, "name": "x" * 5000}
    if path == "sync":  # the reference-compatible Response reads as if requests had read it
        assert answer.raw.json() == json.loads(raw)
        assert answer.raw.content == raw


@pytest.mark.parametrize("path", PATHS)
def test_brotli_nobody_asked_for_is_refused(hostile, path):
    async def handler(request):
        return web.Response(body=b"\x0b\x02\x80{}\x03", headers={"Content-Encoding": "br"})

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudPayloadError, match="encoded as 'br'"):
        call(path, config_for(hostile), GET)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        ("<html><body>Sign in to the corporate proxy</body></html>", "text/html", "is not valid JSON"),
        ('{"data": [{"id": 1}, {"id": 2', "application/json", "is not valid JSON"),
        ("[" * 200_000 + "]" * 200_000, "application/json", "nested too deeply"),
        (b'{"data": "\xff\xfe"}', "application/json", "is not valid JSON ('utf-8' codec can't decode"),
    ],
)
def test_success_that_is_not_json_is_a_payload_error(hostile, path, body, content_type, problem):
    async def handler(request):
        raw = body if isinstance(body, bytes) else body.encode()
        return web.Response(body=raw, content_type=content_type)

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudPayloadError) as caught:
        call(path, config_for(hostile), GET)
    message = str(caught.value)
    assert problem in message
    assert f"GET {RUN_PATH} (200)" in message
    assert len(message) < 600


@pytest.mark.parametrize("path", PATHS)
def test_html_page_quoted_in_a_payload_error_is_scrubbed(hostile, path):
    async def handler(request):
        echoed = request.headers["Authorization"]
        return web.Response(
            text=f"<html>you sent {echoed} and Token dbtc_other_7777</html>", content_type="text/html"
        )

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudPayloadError) as caught:
        call(path, config_for(hostile), GET)
    assert TOKEN not in str(caught.value)
    assert "dbtc_other_7777" not in str(caught.value)
    assert "you sent Token ***" in str(caught.value)


@pytest.mark.parametrize("path", PATHS)
def test_run_start_answered_with_html_may_have_started_the_run(hostile, path):
    async def handler(request):
        return web.Response(text="<html>ok</html>", content_type="text/html")

    hostile.on(START.path, handler)
    with pytest.raises(DbtCloudRunMayExistError, match="not valid JSON"):
        call(path, config_for(hostile), START)
    assert hostile.hits[START.path] == 1


@pytest.mark.parametrize("path", PATHS)
def test_artifact_file_may_be_any_text(hostile, path):
    artifact = "/api/v2/accounts/1/runs/5/artifacts/compiled/jaffle/orders.sql"

    async def handler(request):
        return web.Response(text="select 1", content_type="text/plain")

    hostile.on(artifact, handler)
    answer = call(path, config_for(hostile), ApiRequest("GET", artifact))
    assert (answer.body, answer.text) == (None, "select 1")


@pytest.mark.parametrize("path", PATHS)
def test_huge_error_answer_is_cut_and_still_mapped_by_status(hostile, path):
    async def handler(request):
        return web.Response(text="<html>" + "overloaded " * 500_000, status=503, content_type="text/html")

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudServerError) as caught:
        call(path, config_for(hostile), GET)
    assert caught.value.developer_message.startswith("<html>overloaded overloaded")
    assert len(str(caught.value)) < 600


@pytest.mark.parametrize("path", PATHS)
def test_json_error_body_is_shortened_and_scrubbed(hostile, path):
    async def handler(request):
        user = f"Bad request from {request.headers['Authorization']}; also saw dbtu_personal_99 " + "x" * 5000
        return web.json_response(
            {
                "status": {
                    "code": 400,
                    "user_message": user,
                    "developer_message": "proxy http://bob:hunter2@proxy:3128",
                }
            },
            status=400,
        )

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudBadRequestError) as caught:
        call(path, config_for(hostile), GET)
    text = str(caught.value)
    for secret in (TOKEN, "dbtu_personal_99", "hunter2"):
        assert secret not in text
    assert "Bad request from Token ***; also saw ***" in text
    assert len(text) < 900


# ---- the reader on its own ----------------------------------------------------------------------


def test_error_answer_is_read_only_up_to_its_excerpt_size():
    reader = BodyReader(GET, 500, 100 * MIB)
    chunks = [b"x" * 10_000] * 100
    taken = 0
    for chunk in chunks:
        taken += 1
        if not reader.feed(chunk):
            break
    assert len(reader.content) == ERROR_BODY_BYTES
    assert taken < len(chunks)


def test_concatenated_gzip_members_are_one_body():
    body = gzip.compress(b'{"data": ') + gzip.compress(b"[1, 2]}")
    reader = BodyReader(GET, 200, MIB, encoding="gzip")
    reader.feed(body)
    assert reader.answer({}, TOKEN).data == [1, 2]


def test_corrupt_gzip_is_a_payload_error():
    reader = BodyReader(GET, 200, MIB, encoding="gzip")
    with pytest.raises(DbtCloudPayloadError, match="could not be inflated"):
        reader.feed(b"\x1f\x8b\x08\x00garbage-garbage")


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", (None, None)), (b"  \n", (None, None)), (b'{"a": 1}', ({"a": 1}, None))],
)
def test_decode_json(content, expected):
    assert decode_json(content) == expected


@pytest.mark.parametrize("path", PATHS)
def test_own_token_of_any_shape_is_scrubbed_from_a_json_error_body(hostile, path):
    config = ClientConfig(base_url=hostile.base_url, token="opaque42", retry=RetryConfig(attempts=1))

    async def handler(request):
        token = request.headers["Authorization"].removeprefix("Token ")
        return web.json_response(
            {"status": {"code": 403, "user_message": f"key {token} may not"}}, status=403
        )

    hostile.on(RUN_PATH, handler)
    with pytest.raises(DbtCloudAuthError) as caught:
        call(path, config, GET)
    assert "opaque42" not in str(caught.value)
    assert "key *** may not" in str(caught.value)
