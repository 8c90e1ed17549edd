"""The emulator clock and the lazily computed timeline of one run (no background task per run)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_dbtcloud.testing import artifacts
from airflow_dbtcloud.testing.adapters import ADAPTERS, DEFAULT_ADAPTER, Adapter
from airflow_dbtcloud.testing.project import Project, project_for

#: dbt Cloud's run status codes.
QUEUED = 1
STARTING = 2
RUNNING = 3
SUCCESS = 10
ERROR = 20
CANCELLED = 30
STATUS_NAMES = {1: "Queued", 2: "Starting", 3: "Running", 10: "Success", 20: "Error", 30: "Cancelled"}
_BY_NAME = {v.lower(): k for k, v in STATUS_NAMES.items()} | {"canceled": CANCELLED}
FINAL = (SUCCESS, ERROR, CANCELLED)
STEP_IDS_PER_RUN = 100  # a step's id is its run's id times this plus its index: unique across runs


def status_code(status: int | str) -> int:
    """Normalise a status given as a code or a name (``"success"``, ``"Error"``...).

    :param status: Code or name.
    :return: The integer status code.
    :raises ValueError: For an unknown status.
    """
    if isinstance(status, str) and not status.isdigit():
        if status.lower() not in _BY_NAME:
            raise ValueError(f"unknown run status {status!r}")
        return _BY_NAME[status.lower()]
    code = int(status)
    if code not in STATUS_NAMES:
        raise ValueError(f"unknown run status {status!r}")
    return code


class Clock:
    """Wall-clock time that advances ``speed`` times faster than real time.

    :param speed: Initial multiplier.
    """

    def __init__(self, speed: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._real0 = time.monotonic()
        self._emu0 = time.time()
        self._speed = speed

    def now(self) -> float:
        """Return the emulator's current epoch time."""
        return self._emu0 + (time.monotonic() - self._real0) * self._speed

    @property
    def speed(self) -> float:
        """The clock multiplier."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError("speed must be positive")
        with self._lock:
            self._emu0 = self.now()
            self._real0 = time.monotonic()
            self._speed = float(value)


@dataclass
class StepView:
    """A run step as seen at one instant.

    :param index: 1-based index.
    :param command: dbt command.
    :param status: Status code.
    :param start: Epoch started.
    :param end: Epoch finished, or None while running.
    :param selected: Nodes the step executes.
    :param failing: Nodes that fail in this step (for a running step: those that will fail).
    :param window: ``(start, end)`` epochs the step's nodes are spread over: the step's own span once it
        ended, its planned span while it runs or when it was cancelled midway.
    """

    index: int
    command: str
    status: int
    start: float
    end: float | None
    selected: list[str]
    failing: set[str]
    window: tuple[float, float] = (0.0, 0.0)


@dataclass
class Run:
    """One run and the script that decides its lifecycle.

    :param id: Run id.
    :param job_id: Job definition id.
    :param account_id: Account id.
    :param project_id: Project id.
    :param environment_id: Environment id.
    :param trigger: The trigger object (cause, overrides...).
    :param created: Emulator epoch of creation.
    :param commands: dbt commands, one per step.
    :param durations: Seconds spent queued, starting and running.
    :param outcome: ``success``, ``error``, ``cancelled`` or ``hang``.
    :param failing_nodes: Nodes that fail when the outcome is an error.
    :param node_filter: For reruns: the nodes the first step re-executes.
    :param warning_nodes: Tests that end ``warn`` (whatever the outcome).
    :param project: The dbt project the run builds (fixed when the run is created).
    :param adapter: The warehouse adapter the run builds on (fixed when the run is created).
    """

    id: int
    job_id: int
    account_id: int
    project_id: int
    environment_id: int
    trigger: dict[str, Any]
    created: float
    commands: list[str]
    durations: tuple[float, float, float]
    outcome: str
    failing_nodes: set[str]
    node_filter: set[str] | None = None
    warning_nodes: set[str] = field(default_factory=set)
    project: Project = field(default_factory=project_for)
    adapter: Adapter = ADAPTERS[DEFAULT_ADAPTER]
    dbt_version: str = "latest"
    git_branch: str = "main"
    git_sha: str = ""
    generate_docs: bool = False
    threads: int = 4
    timeout: float = 0.0
    forced: tuple[int, float, str | None] | None = None
    retried_by: int | None = None
    _cache: dict[tuple[int, float, float], list[artifacts.NodeResult]] = field(default_factory=dict)

    def step_id(self, index: int) -> int:
        """Return the id of this run's step ``index`` (1-based), unique across runs.

        :param index: The step's index; below :data:`STEP_IDS_PER_RUN`.
        """
        return self.id * STEP_IDS_PER_RUN + index

    def selection(self, index: int) -> list[str]:
        """Return the nodes step ``index`` executes, honouring the rerun filter on the first step.

        :param index: The step's 0-based position in :attr:`commands`.
        """
        nodes = self.project.select(self.commands[index])
        if index == 0 and self.node_filter is not None:
            nodes = [n for n in nodes if n in self.node_filter]
        return nodes

    def _failing_step(self) -> int:
        for i in range(len(self.commands)):
            if self.failing_nodes & set(self.selection(i)):
                return i
        for i in range(len(self.commands)):
            if self.selection(i):
                return i
        return max(len(self.commands) - 1, 0)

    def _failing_in(self, index: int) -> set[str]:
        selected = self.selection(index)
        hit = self.failing_nodes & set(selected)
        if hit or not selected:
            return hit
        models = [n for n in selected if self.project.by_id[n].resource_type == "model"] or selected
        return {"model.jaffle_shop.orders"} if "model.jaffle_shop.orders" in models else {models[-1]}

    def ending(self) -> tuple[float, int, str | None]:
        """Return ``(finish epoch, final status, status message)``; the epoch is ``inf`` while hanging."""
        q, s, r = self.durations
        start = self.created + q + s
        n = max(len(self.commands), 1)
        if self.outcome == "error":
            end, status, msg = start + (self._failing_step() + 1) * r / n, ERROR, None
        elif self.outcome == "cancelled":
            end, status, msg = start + r / 2, CANCELLED, "Cancelled by user"
        elif self.outcome == "hang":
            end, status, msg = math.inf, RUNNING, None
        else:
            end, status, msg = start + r, SUCCESS, None
        if self.timeout and start + self.timeout < end:
            end, status, msg = (
                start + self.timeout,
                CANCELLED,
                f"Run timed out after {self.timeout:g} seconds",
            )
        if self.forced is not None and self.forced[1] < end:
            return self.forced[1], self.forced[0], self.forced[2]
        return end, status, msg

    def view(self, now: float) -> tuple[int, float | None, float | None, float | None, list[StepView]]:
        """Compute the run at ``now``: ``(status, dequeued_at, started_at, finished_at, steps)``.

        :param now: An epoch on the emulator clock.
        """
        q, s, r = self.durations
        dequeued, started = self.created + q, self.created + q + s
        end, final, _ = self.ending()
        done = now >= end
        status = final if done else QUEUED if now < dequeued else STARTING if now < started else RUNNING
        if done and end < started:
            dequeued_at = dequeued if end >= dequeued else None
            started_at: float | None = None
        else:
            dequeued_at, started_at = (
                (dequeued if now >= dequeued else None),
                (started if now >= started else None),
            )
        n = max(len(self.commands), 1)
        slot = r / n
        plan = [(started + i * slot, started + (i + 1) * slot) for i in range(len(self.commands))]
        if final == RUNNING and plan:  # hanging: the last step never ends
            plan[-1] = (plan[-1][0], math.inf)
        fail_at = -1
        if final == ERROR:
            fail_at = self._failing_step() if self.forced is None or self.forced[1] > end else 0
            if self.forced is not None and self.forced[1] == end:
                fail_at = next((i for i, (_, en) in enumerate(plan) if en >= end), len(plan) - 1)
        steps: list[StepView] = []
        for i, (st, en) in enumerate(plan):
            planned = en if math.isfinite(en) else st + slot  # a hanging step spreads its nodes over a slot
            step_status = SUCCESS
            if final == SUCCESS:
                st, en = min(st, end), min(en, end)
            elif i == fail_at:
                st, en, step_status = min(st, end), end, ERROR
            elif (final == ERROR and i > fail_at) or st >= end:
                break
            elif en > end:
                en, step_status = end, final
            if st > now:
                break
            failing = self._failing_in(i) if step_status == ERROR else set()
            # A cancelled step keeps its planned node timing: the log stops where the cancel cut it.
            window = (st, planned if step_status == CANCELLED or not math.isfinite(en) else en)
            if en > now:
                steps.append(
                    StepView(i + 1, self.commands[i], RUNNING, st, None, self.selection(i), failing, window)
                )
                break
            steps.append(
                StepView(i + 1, self.commands[i], step_status, st, en, self.selection(i), failing, window)
            )
            if step_status != SUCCESS:
                break
        return status, dequeued_at, started_at, (end if done else None), steps

    def results(self, step: StepView) -> list[artifacts.NodeResult]:
        """Return the node outcomes of a step, spread over its window (cached: a window never changes).

        While a step runs these are its planned outcomes; :func:`logs.console_log` shows only those whose
        time has come.

        :param step: A step as :meth:`view` returned it.
        """
        key = (step.index, *step.window)
        if key not in self._cache:
            self._cache[key] = artifacts.execute(
                step.selected,
                step.failing,
                *step.window,
                warning=self.warning_nodes,
                build=step.command.split()[1:2] == ["build"],
                project=self.project,
                adapter=self.adapter,
            )
        return self._cache[key]
