"""Make every kind of JSON request the emulator answers, in every state that changes a payload's shape.

:func:`walk` drives an emulator through runs that are queued, running, succeeded, errored, cancelled,
retried and started outside the API (scheduler, CI, a person), then requests every JSON route with every
``include_related`` value; the schema tests validate each answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

from airflow_dbtcloud.testing import Emulator, run_emulator

Exchange = tuple[str, str, Any]  # (method, path, parsed body)
RUN_RELATED = ("trigger", "job", "environment", "repository", "run_steps", "debug_logs", "audit")
LIST_RUN_RELATED = ("trigger", "job", "audit", "debug_logs")
# routes answering a file rather than a JSON envelope
NOT_JSON = {"get_artifact", "get_job_artifact"}


class _Walker:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {emu.token}"
        self.seen: list[Exchange] = []

    def call(self, method: str, path: str, params: Any = None, body: Any = None) -> Any:
        resp = self.session.request(method, self.emu.base_url + path, params=params, json=body)
        assert resp.status_code == 200, (method, path, params, resp.text[:500])
        body = resp.json()
        self.seen.append((method, path, body))
        return body["data"]


def _runs(w: _Walker) -> dict[str, int]:
    """Create one run in each state the payloads differ in; return their ids by name."""
    emu, v2 = w.emu, "/api/v2/accounts/1"
    emu.set_job_script(301, outcome="hang", queued_seconds=0, starting_seconds=0, running_seconds=1)
    emu.set_job_script(302, queued_seconds=3600)
    runs: dict[str, int] = {"running": _trigger(w, 301)}
    runs["queued"] = _trigger(w, 302)
    runs["success"] = _trigger(w, 300)
    emu.complete_run(runs["success"], "success")
    emu.fail_next_run(300, ["model.jaffle_shop.orders"])
    runs["error"] = _trigger(w, 300)
    emu.complete_run(runs["error"], "error")
    runs["rerun"] = w.call("POST", f"{v2}/jobs/300/rerun/")["id"]
    emu.set_job_script(303, outcome="error", queued_seconds=0, starting_seconds=0, running_seconds=0)
    runs["failed_docs"] = _trigger(w, 303)
    w.call("GET", f"{v2}/runs/{runs['failed_docs']}/retry/")
    runs["retry"] = w.call("POST", f"{v2}/runs/{runs['failed_docs']}/retry/")["id"]
    runs["scheduled"] = emu.start_run(300, "scheduler")
    runs["ci"] = emu.start_run(300, "ci", pull_request_id=42)
    runs["person"] = emu.start_run(301, "person")
    runs["other_client"] = emu.start_run(302, "api", cause="Nightly from another orchestrator")
    emu.complete_run(runs["scheduled"], "success")
    return runs


def _trigger(w: _Walker, job_id: int) -> int:
    run_id: int = w.call("POST", f"/api/v2/accounts/1/jobs/{job_id}/run/", body={"cause": "walk"})["id"]
    return run_id


def walk(emu: Emulator) -> list[Exchange]:
    """Request every JSON route of ``emu`` (reset first) and return each exchange.

    :param emu: A started emulator with the default configuration; it is reset.
    :return: ``(method, path, body)`` per request, in order.
    """
    emu.reset()
    w = _Walker(emu)
    v2, v3 = "/api/v2/accounts/1", "/api/v3/accounts/1"
    for path in (
        "/api/v2/accounts/",
        "/api/v3/accounts/",
        f"{v2}/",
        f"{v3}/projects/",
        f"{v3}/projects/100/",
    ):
        w.call("GET", path)
    w.call("GET", f"{v3}/projects/100/environments/")
    w.call("GET", f"{v3}/projects/100/environments/200/")
    w.call("GET", f"{v3}/connections/4100/")
    runs = _runs(w)
    w.call("GET", f"{v2}/jobs/")
    for job_id in (300, 301):
        w.call(
            "GET",
            f"{v2}/jobs/{job_id}/",
            {"include_related": '["most_recent_run","most_recent_completed_run"]'},
        )
    running = w.call("GET", f"{v2}/runs/{runs['running']}/", {"include_related": '["run_steps"]'})
    for step in running["run_steps"]:
        w.call("GET", f"{v2}/steps/{step['id']}/")
        w.call("GET", f"{v2}/steps/{step['id']}/", {"include_related": '["debug_logs"]'})
    for run_id in runs.values():
        w.call("GET", f"{v2}/runs/{run_id}/")
        w.call("GET", f"{v2}/runs/{run_id}/", {"include_related": _literal(RUN_RELATED)})
        for name in RUN_RELATED:
            w.call("GET", f"{v2}/runs/{run_id}/", {"include_related": _literal((name,))})
    done = w.call("GET", f"{v2}/runs/{runs['error']}/", {"include_related": '["run_steps"]'})
    for step in done["run_steps"]:
        w.call("GET", f"{v2}/steps/{step['id']}/", {"include_related": '["debug_logs"]'})
    w.call("GET", f"{v2}/runs/{runs['success']}/artifacts/")
    w.call("POST", f"{v2}/runs/{runs['running']}/cancel/")
    w.call("GET", f"{v2}/runs/{runs['running']}/", {"include_related": '["run_steps"]'})
    w.call("GET", f"{v2}/runs/")
    w.call("GET", f"{v2}/runs/", {"include_related": _literal(LIST_RUN_RELATED), "order_by": "-finished_at"})
    for name in LIST_RUN_RELATED:
        w.call("GET", f"{v2}/runs/", {"include_related": _literal((name,)), "status__in": "[10,20,30]"})
    return w.seen


def _literal(names: tuple[str, ...]) -> str:
    return "[" + ",".join(f'"{n}"' for n in names) + "]"


def walk_requests() -> Iterator[Exchange]:
    """Walk a fresh emulator of its own (for the maintenance command that rewrites the reduced schemas).

    :return: The exchanges, as :func:`walk` returns them.
    """
    with run_emulator() as emu:
        yield from walk(emu)
