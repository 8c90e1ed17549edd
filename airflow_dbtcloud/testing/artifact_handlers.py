"""Handlers of the artifact routes: list a step's artifacts, serve a file (streaming large manifests)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import artifacts
from airflow_dbtcloud.testing.lifecycle import SUCCESS, Run
from airflow_dbtcloud.testing.request_helpers import job_of, run_of, state_of
from airflow_dbtcloud.testing.responses import TRUNCATE, as_int, envelope, error
from airflow_dbtcloud.testing.state import State


def _artifact_step(state: State, run: Run, request: web.Request) -> Any:
    steps = state.finished_steps(run)
    step_no = as_int(request.query.get("step"), "step")
    if step_no is None:
        return steps[-1] if steps else None
    return next((s for s in steps if s.index == step_no), None)


def _compiled(run: Run, step: Any) -> dict[str, str]:
    built = [r for r in run.results(step) if r.status != "skipped" and r.node.resource_type in _COMPILED]
    return {artifacts.compiled_path(r.unique_id, run.project): r.unique_id for r in built}


_COMPILED = ("model", "snapshot")
_FILES = ["manifest.json", "run_results.json", "catalog.json"]


async def _stream(request: web.Request, chunks: Iterator[bytes]) -> web.StreamResponse:
    """Send ``chunks`` with chunked encoding; a ``truncate`` fault cuts the body after the first chunk."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for chunk in chunks:
        await resp.write(chunk)
        if request.get(TRUNCATE):
            if request.transport is not None:
                request.transport.close()
            return resp
    await resp.write_eof()
    return resp


async def list_artifacts(request: web.Request) -> web.StreamResponse:
    """GET .../runs/{run_id}/artifacts/: artifact paths of a step (default: the last one).

    :param request: The request; the query's ``step`` picks a step by its 1-based index.
    """
    state, run = state_of(request), run_of(request)
    step = _artifact_step(state, run, request)
    return envelope([*_FILES, *_compiled(run, step)] if step is not None else [])


async def _serve(request: web.Request, state: State, run: Run | None) -> web.StreamResponse:
    path = request.match_info["path"].removeprefix("target/")
    step = _artifact_step(state, run, request) if run is not None else None
    compiled = _compiled(run, step) if run is not None and step is not None else {}
    if run is None or step is None or (path not in _FILES and path not in compiled):
        return error(404, "The requested artifact was not found.")
    inv = f"{run.id:08d}-0000-4000-8000-{step.index:012d}"
    assert step.end is not None
    # A padded manifest, and both big files of a project with generated models, are streamed.
    large = run.project.synthetic_models > 0
    if path == "manifest.json":
        size = state.manifest_size_mb
        chunks = artifacts.manifest_chunks(inv, step.end, size, project=run.project, adapter=run.adapter)
        if size > 0 or large:
            return await _stream(request, chunks)
        return web.Response(body=b"".join(chunks), content_type="application/json")
    if path == "run_results.json":
        results = run.results(step)
        chunks = artifacts.run_results_chunks(results, step.command, inv, step.end, step.end - step.start)
        if large:
            return await _stream(request, chunks)
        return web.Response(body=b"".join(chunks), content_type="application/json")
    if path == "catalog.json":
        body = artifacts.catalog(inv, step.end, project=run.project, adapter=run.adapter)
        return web.Response(body=body, content_type="application/json")
    sql = artifacts.compiled_sql(compiled[path], run.project, run.adapter)
    return web.Response(body=sql, content_type="text/plain")


async def get_artifact(request: web.Request) -> web.StreamResponse:
    """GET .../runs/{run_id}/artifacts/{path}: the raw file (not enveloped).

    :param request: The request; the path names the run and the file, the query's ``step`` may pick the step.
    """
    return await _serve(request, state_of(request), run_of(request))


async def get_job_artifact(request: web.Request) -> web.StreamResponse:
    """GET .../jobs/{job_id}/artifacts/{path}: the file from the job's most recent successful run.

    :param request: The request; the path names the job and the file.
    """
    state = state_of(request)
    with state.lock:
        job = job_of(request)
        now = state.clock.now()
        runs = sorted(
            (r for r in state.runs.values() if r.job_id == job.id), key=lambda r: r.id, reverse=True
        )
        run = next((r for r in runs if r.view(now)[0] == SUCCESS), None)
    return await _serve(request, state, run)
