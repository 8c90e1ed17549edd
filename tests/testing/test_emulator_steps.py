"""Run steps while a run is going: GET .../steps/{id}/ and a console log that grows as dbt prints it."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from airflow_dbtcloud.testing import Emulator, EmulatorConfig
from airflow_dbtcloud.testing.lifecycle import RUNNING
from airflow_dbtcloud.testing.logs import console_log
from airflow_dbtcloud.testing.state import State

PROGRESS = re.compile(r"(\d+) of (\d+) (START|OK|ERROR|SKIP|PASS|WARN|FAIL)")
DONE = ("OK", "ERROR", "SKIP", "PASS", "WARN", "FAIL")


def _progress(log: str) -> list[tuple[int, int, str]]:
    return [(int(m[1]), int(m[2]), m[3]) for m in PROGRESS.finditer(log)]


def _completed(log: str) -> int:
    return sum(1 for _, _, word in _progress(log) if word in DONE)


def _session(emu: Emulator) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Token {emu.token}"
    return s


def _get(emu: Emulator, path: str, params: Any = None) -> Any:
    resp = _session(emu).get(f"{emu.base_url}/api/v2/accounts/1/{path}", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def _trigger(emu: Emulator, job_id: int = 300, **body: Any) -> int:
    resp = _session(emu).post(
        f"{emu.base_url}/api/v2/accounts/1/jobs/{job_id}/run/", json={"cause": "s", **body}
    )
    assert resp.status_code == 200, resp.text
    return int(resp.json()["data"]["id"])


def _steps_over_time(failing: list[str] | None = None, *, points: int = 40) -> list[tuple[float, str, int]]:
    """Render a ``dbt build`` step's log at evenly spaced instants of its run: ``(now, log, status)``."""
    state = State(EmulatorConfig.default())
    if failing:
        state.script_next_run(300, failing, None)
    run = state.create_run(state.jobs[300], {"cause": "pure"})
    end = run.ending()[0]
    started = run.created + run.durations[0] + run.durations[1]
    out = []
    for k in range(points + 1):
        now = started + (end - started) * k / points
        steps = run.view(now)[4]
        out.append((now, console_log(run, steps[0], now), steps[0].status))
    return out


def test_a_running_steps_log_grows_node_by_node_on_the_emulator_clock() -> None:
    frames = _steps_over_time()
    counts = [_completed(log) for _, log, _ in frames]
    assert counts == sorted(counts)
    assert counts[0] == 0
    assert counts[-1] == 18
    assert len(set(counts)) > 10  # the nodes are spread over the step's running time
    for _, log, status in frames[:-1]:
        assert status == RUNNING
        assert "Finished running" not in log
        assert "Done. PASS=" not in log
    assert "Done. PASS=18 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=18" in frames[-1][1]


def test_a_node_in_progress_shows_only_its_start_line() -> None:
    for _, log, status in _steps_over_time():
        lines = _progress(log)
        if status != RUNNING or not lines:
            continue
        done = {n for n, _, word in lines if word in DONE}
        started = [n for n, _, word in lines if word == "START"]
        assert set(started) - done <= {started[-1]}  # at most the last node is still going
        assert [n for n, _, _ in lines] == sorted(n for n, _, _ in lines)


def test_the_running_log_is_a_prefix_of_the_final_one() -> None:
    frames = _steps_over_time(["model.jaffle_shop.orders"])
    final = frames[-1][1].splitlines()
    for _, log, _ in frames[:-1]:
        lines = log.splitlines()
        assert lines == final[: len(lines)]
    assert "9 of 18 ERROR creating sql table model dbt_prod.orders" in frames[-1][1]


def test_progress_lines_are_in_dbts_format() -> None:
    log = _steps_over_time()[-1][1] + _steps_over_time(["not_null_orders_order_id"])[-1][1]
    state = State(EmulatorConfig.default())
    state.script_next_run(300, ["order_status_counts"], ["unique_customers_customer_id"])
    run = state.create_run(state.jobs[300], {"cause": "pure"})
    errored = run.view(run.ending()[0])[4][0]
    log += console_log(run, errored, run.ending()[0])
    bodies = {line[10:] for line in log.splitlines()}  # without the "HH:MM:SS  " prefix
    expected = [
        ("1 of 18 START seed file dbt_prod.raw_customers", "[RUN]"),
        ("1 of 18 OK loaded seed file dbt_prod.raw_customers", "[INSERT 100 in 0."),
        ("4 of 18 START snapshot snapshots.orders_snapshot", "[RUN]"),
        ("4 of 18 OK snapshotted snapshots.orders_snapshot", "[INSERT 0 100 in 0."),
        ("5 of 18 START sql view model dbt_prod.stg_customers", "[RUN]"),
        ("5 of 18 OK created sql view model dbt_prod.stg_customers", "[CREATE VIEW in 0."),
        ("11 of 18 START sql table model dbt_prod.revenue_by_day", "[RUN]"),
        ("11 of 18 OK created sql table model dbt_prod.revenue_by_day", "[SELECT 100 in 0."),
        ("13 of 18 START test unique_customers_customer_id", "[RUN]"),
        ("13 of 18 PASS unique_customers_customer_id", "[PASS in 0."),
        ("13 of 18 WARN 3 unique_customers_customer_id", "[WARN 3 in 0."),
        ("16 of 18 FAIL 3 not_null_orders_order_id", "[FAIL 3 in 0."),
        ("12 of 18 ERROR creating sql view model dbt_prod.order_status_counts", "[ERROR in 0."),
        ("10 of 18 SKIP relation dbt_prod.customer_lifetime_value", "[SKIP]"),
        ("18 of 18 SKIP test not_null_daily_revenue_order_date", "[SKIP]"),
    ]
    for message, status in expected:
        line = next((b for b in bodies if b.startswith(message + " .")), None)
        assert line is not None, message
        dots, bracket = line.split(" [", 1)
        assert len(dots) == 80  # dbt pads to its 80-column printer width
        assert set(dots[len(message) + 1 :]) == {"."}
        assert f"[{bracket}".startswith(status)
        assert re.fullmatch(r"\[[^\]]+\]", f"[{bracket}")


def test_step_route_returns_one_step_as_the_spec_describes(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    run_id = _trigger(emu, steps_override=["dbt seed", "dbt run"])
    emu.complete_run(run_id, "success")
    run = _get(emu, f"runs/{run_id}/", {"include_related": '["run_steps"]'})
    first, second = run["run_steps"]
    step = _get(emu, f"steps/{second['id']}/")
    assert step == {**second}
    assert step["run_id"] == run_id
    assert step["index"] == 2
    assert step["name"] == "Invoke dbt with `dbt run`"
    assert (step["status"], step["status_humanized"]) == (10, "Success")
    assert re.fullmatch(r"#[0-9A-F]{6}", step["status_color"])
    assert step["run_step_command"] == {"run_step_id": step["id"], "dbt_command": "dbt run"}
    assert step["run_step_invocation"] == {"run_step_id": step["id"], "run_id": run_id}
    assert step["truncated_debug_logs"] == step["logs"][-5000:]
    assert "debug_logs" not in step
    assert (
        _get(emu, f"steps/{first['id']}/", {"include_related": '["debug_logs"]'})["debug_logs"]
        == first["logs"]
    )


def test_step_ids_are_unique_across_runs(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    ids = []
    for _ in range(3):
        run_id = _trigger(emu, steps_override=["dbt seed", "dbt run", "dbt test"])
        emu.complete_run(run_id, "success")
        ids += [
            s["id"] for s in _get(emu, f"runs/{run_id}/", {"include_related": '["run_steps"]'})["run_steps"]
        ]
    assert len(ids) == len(set(ids)) == 9


def test_unknown_or_not_started_steps_answer_404(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.set_job_script(300, queued_seconds=3600)
    queued = _trigger(emu)
    s = _session(emu)
    base = f"{emu.base_url}/api/v2/accounts/1/steps"
    assert s.get(f"{base}/{queued * 100 + 1}/").status_code == 404  # the run has not started
    assert s.get(f"{base}/{queued * 100 + 7}/").status_code == 404
    assert s.get(f"{base}/12/").status_code == 404
    assert s.get(f"{base}/abc/").status_code == 404
    refused = s.get(f"{base}/{queued * 100 + 1}/", params={"include_related": '["run_steps"]'})
    assert refused.status_code == 400


def test_a_job_cannot_have_more_steps_than_step_ids_allow(dbt_cloud_emulator: Emulator) -> None:
    resp = _session(dbt_cloud_emulator).post(
        f"{dbt_cloud_emulator.base_url}/api/v2/accounts/1/jobs/300/run/",
        json={"cause": "many", "steps_override": ["dbt seed"] * 100},
    )
    assert resp.status_code == 400
    assert resp.json()["status"]["user_message"].startswith("steps_override: ")


def test_polling_the_step_route_sees_the_count_grow(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    # Six seconds of running step for polls 0.15 s apart: a slow machine still sees it grow.
    emu.set_job_script(300, queued_seconds=0, starting_seconds=0, running_seconds=6.0)
    run_id = _trigger(emu)
    step_id = run_id * 100 + 1
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        resp = _session(emu).get(f"{emu.base_url}/api/v2/accounts/1/steps/{step_id}/")
        if resp.status_code == 200:
            step = resp.json()["data"]
            seen.append(_completed(step["logs"]))
            if step["status"] == 10:
                break
        time.sleep(0.15)
    assert seen == sorted(seen)
    assert seen[-1] == 18
    assert len(set(seen)) >= 3


def test_the_run_steps_logs_are_the_step_routes_logs(dbt_cloud_emulator: Emulator) -> None:
    emu = dbt_cloud_emulator
    emu.set_job_script(300, outcome="hang", queued_seconds=0, starting_seconds=0, running_seconds=30)
    run_id = _trigger(emu)
    resp = _session(emu).post(f"{emu.base_url}/api/v2/accounts/1/runs/{run_id}/cancel/")
    assert resp.json()["data"]["status"] == 30
    [step] = _get(emu, f"runs/{run_id}/", {"include_related": '["run_steps"]'})["run_steps"]
    assert step["status"] == 30
    assert _get(emu, f"steps/{step['id']}/")["logs"] == step["logs"]
    # the cancel cut the log: no summary, not every node
    assert "Done. PASS=" not in step["logs"]
    assert _completed(step["logs"]) < 18


@pytest.mark.parametrize("adapter", ["snowflake", "bigquery"])
def test_progress_lines_name_the_adapters_relations(dbt_cloud_emulator: Emulator, adapter: str) -> None:
    emu = dbt_cloud_emulator
    emu.set_adapter(adapter)
    run_id = _trigger(emu)
    emu.complete_run(run_id, "success")
    [step] = _get(emu, f"runs/{run_id}/", {"include_related": '["run_steps"]'})["run_steps"]
    schema = "DBT_PROD" if adapter == "snowflake" else "dbt_prod"
    assert f"START sql table model {schema}.revenue_by_day ." in step["logs"]
