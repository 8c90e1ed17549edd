"""Every benchmark scenario, at a smoke size, in the benchmark venv: the harness must not rot.

``make test`` builds ``benchmarks/.venv-official`` first (``make bench-venv``); the official provider
lives only there. Nothing here times anything: the checks are on what each scenario counted, which
does not depend on the machine's speed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH_PYTHON = REPO / "benchmarks" / ".venv-official" / "bin" / "python"
SMOKE = [
    "--scenarios", "1,2,3,4,5,6,7,8,9",
    "--polls", "5", "--repeats", "1",
    "--flaky-calls", "10",
    "--manifest-mb", "2", "--download-repeats", "1",
    "--trigger-repeats", "1",
    "--models", "40", "--built-repeats", "1",
    "--triggers", "12", "--trigger-poll", "1", "--trigger-running", "3",
    "--jobs", "250", "--list-repeats", "1",
    "--parse-repeats", "1",
    "--calls-polls", "4", "--calls-poll", "0.5", "--calls-repeats", "1",
]  # fmt: skip
ROW = re.compile(r"^\| (\d)\. [^|]+ \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$")


def bench_python() -> Path:
    if not BENCH_PYTHON.exists():
        pytest.fail("benchmarks/.venv-official is missing: run `make bench-venv` (make test does)")
    return BENCH_PYTHON


# The smoke run bounds itself (900 s); the first test to use it waits for it.
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, tuple[str, str]]]:
    """The smoke run's summary table: scenario number -> metric -> (official, ours)."""
    report = tmp_path_factory.mktemp("bench") / "report.md"
    done = subprocess.run(
        [str(bench_python()), "benchmarks/compare_official.py", *SMOKE, "--output", str(report)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    rows: dict[int, dict[str, tuple[str, str]]] = {}
    for line in report.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            number, metric, official, ours, _ = match.groups()
            rows.setdefault(int(number), {})[metric.strip()] = (official.strip(), ours.strip())
    return rows


def test_every_scenario_reports_rows(summary):
    assert sorted(summary) == list(range(1, 10))


def test_polling_uses_one_connection_where_the_official_hook_opens_one_per_poll(summary):
    official, ours = summary[1]["TCP connections per 5 polls"]
    assert (official, ours) == ("5", "1")


def test_a_run_post_that_failed_after_creating_the_run_never_starts_a_second_one(summary):
    rows = [pair for metric, pair in summary[4].items() if "connection dropped" in metric]
    assert rows
    assert all(ours == "1 run, error reported" for _, ours in rows)


def test_triggers_share_a_bounded_pool(summary):
    official, ours = summary[6]["TCP connections"]
    assert int(official) >= 12, "the official trigger opens a connection per poll"
    assert 1 <= int(ours) <= 10, "ours stays within the pool size"


def test_each_deferrable_task_is_counted(summary):
    official, ours = summary[9]["requests per task (median)"]
    # One run POST, the check before deferring and at least the trigger's first poll.
    assert int(official) >= 3
    assert int(ours) >= 3


def test_the_chart_drawer_checks_itself():
    done = subprocess.run(
        [str(bench_python()), "benchmarks/charts.py", "--self-test"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert re.search(r"\b0 failed\b", done.stdout + done.stderr)
