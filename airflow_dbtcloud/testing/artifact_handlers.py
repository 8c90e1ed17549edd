"""Handlers of the artifact routes: list a step's artifacts, serve a file (streaming large manifests)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from airflow_dbtcloud.testing import artifacts
from airflow_dbtcloud.testing.lifecycle import SUCCESS, Run
from airflow_dbtcloud.testing.project import BY_ID
from airflow_dbtcloud.testing.request_helpers import job_of, run_of, state_of
from airflow_dbtcloud.testing.responses import TRUNCATE, as_int, envelope, error
from airflow_dbtcloud.testing.state import State


def _artifact_step(state: State, run: Run, request: web.Request) -> Any:
    steps = state.finished_steps(run)
    step_no = as_int(request.query.get("step"), "step")
    if step_no is None:
        return steps[-1] if steps else None
    return next((s for s in steps if s.index == step_no), None)


def _paths(run: Run, step: Any, state: State) -> list[str]:
    ran = [r.unique_id for r in run.results(step) if r.status != "skipped"]
    compiled = [artifacts.compiled_path(u) for u in ran if BY_ID[u].resource_type == "model"]
    return ["manifest.json", "run_results.json", "catalog.json", *compiled]


async def list_artifacts(request: web.Request) -> web.StreamResponse:
    """GET .../runs/{run_id}/artifacts/: artifact paths of a step (default: the last one).

    :param request: The request; the query's ``step`` picks a step by its 1-based index.
    """
    state, run = state_of(request), run_of(request)
    step = _artifact_step(state, run, request)
    return envelope(_paths(run, step, state) if step is not None else [])


async def _serve(request: web.Request, state: State, run: Run | None) -> web.StreamResponse:
    path = request.match_info["path"].removeprefix("target/")
    step = _artifact_step(state, run, request) if run is not None else None
    if run is None or step is None or path not in _paths(run, step, state):
        return error(404, "The requested artifact was not found.")
    inv = f"{run.id:08d}-0000-4000-8000-{step.index:012d}"
    assert step.end is not None
    if path == "manifest.json":
        size = state.manifest_size_mb
        if size <= 0:
            return web.Response(
                body=b"".join(artifacts.manifest_chunks(inv, step.end)), content_type="application/json"
            )
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for chunk in artifacts.manifest_chunks(inv, step.end, size):
            await resp.write(chunk)
            if request.get(TRUNCATE):
                if request.transport is not None:
                    request.transport.close()
                return resp
        await resp.write_eof()
        return resp
    if path == "run_results.json":
        body = artifacts.run_results(run.results(step), step.command, inv, step.end, step.end - step.start)
        return web.Response(body=body, content_type="application/json")
    if path == "catalog.json":
        return web.Response(body=artifacts.catalog(inv, step.end), content_type="application/json")
    uid = next(u for u in BY_ID if artifacts.compiled_path(u) == path)
    return web.Response(body=artifacts.compiled_sql(uid), content_type="text/plain")


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
