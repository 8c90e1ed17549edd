"""Live progress of a run for the task log: the step it is in, and each node as dbt reports it done.

dbt prints a line per node as it finishes (``12 of 48 OK created sql table model dbt_prod.orders ...
[SELECT 120 in 0.52s]``). While a run goes, :class:`RunProgress` reads the current step's log and
turns the lines it has not seen yet into progress lines. A poll costs one request, which also tells the
run's status: the run with its steps when the step to follow is not known yet (or has just ended), else
that step alone (``/steps/{id}/``; while it runs, so does the run); never an artifact. Nothing here
does I/O: the hook's wait and the trigger make the calls it describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from airflow_dbtcloud._transport.retry import is_transient_error
from airflow_dbtcloud.api.calls import Call, CallFlow, get_run, get_step
from airflow_dbtcloud.api.run_state import RunState, StepState
from airflow_dbtcloud.api.status import DbtCloudJobRunStatus

__all__ = ["RunProgress", "node_line"]

#: A node line of dbt's console log: the counter, the outcome, what ran, and the bracketed summary.
_NODE_LINE = re.compile(
    r"(?P<done>\d+) of (?P<total>\d+) "
    r"(?P<outcome>OK|ERROR|SKIP|PASS|WARN|FAIL|NO-OP)\b(?P<what>.*?)(?:\s*\.{2,}\s*)?(?:\[(?P<summary>[^\]]*)\])?\s*$"
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SUMMARY = re.compile(r"\bDone\. PASS=\d+.*$")


def node_line(line: str) -> str | None:
    """Turn one line of dbt's console log into a progress line, if it reports a node done.

    :param line: A log line, e.g. ``10:00:02  3 of 9 OK created sql view model x.y ..... [OK in 0.1s]``.
    :return: e.g. ``3/9 OK created sql view model x.y [OK in 0.1s]``; None for other lines (START lines
        included: a node is reported once, when it is done).
    """
    found = _NODE_LINE.search(_ANSI.sub("", line))
    if found is None:
        return None
    what = " ".join(found["what"].split())
    summary = f" [{found['summary']}]" if found["summary"] else ""
    return f"{found['done']}/{found['total']} {found['outcome']} {what}{summary}".replace("  ", " ")


@dataclass
class RunProgress:
    """What a person following one run has been told so far.

    Call :meth:`next_call`, make the call, give the answer to :meth:`read`, log the lines it returns;
    :meth:`run_status` tells the run's status from the same answer.

    :param run_id: The run.
    :param account_id: The account; None uses the connection's.
    """

    run_id: int
    account_id: int | None
    step: StepState | None = field(default=None, init=False)
    steps: int = field(default=0, init=False)
    lines_read: int = field(default=0, init=False)
    announced: set[int] = field(default_factory=set, init=False)
    finished: set[int] = field(default_factory=set, init=False)
    lines: list[str] = field(default_factory=list, init=False)

    def next_call(self) -> Call[RunState] | Call[StepState]:
        """The one request of this poll: the step being followed, else the run with its steps."""
        if self.step is not None and self.step.id is not None:
            return get_step(self.step.id, self.account_id)
        return get_run(self.run_id, self.account_id, ["run_steps"])

    def poll(self) -> CallFlow[int]:
        """One poll of a wait, as calls: read the progress, and the run's status from the same answers.

        The progress lines read wait in :attr:`lines` for the caller to log, also when a call failed.

        :return: The run's status.
        """
        while True:
            answer = yield self.next_call()
            self.lines.extend(self.read(answer))
            status = self.run_status(answer)
            if status is not None:
                return status

    def take_lines(self) -> list[str]:
        """The progress lines read since the last call, for the caller to log."""
        lines, self.lines = self.lines, []
        return lines

    @staticmethod
    def run_status(answer: RunState | StepState) -> int | None:
        """The run's status as the answer to :meth:`next_call` tells it, so a poll needs no other request.

        :param answer: The run (with its steps), or the step being followed.
        :return: The run's own status; RUNNING while the followed step is still going; None when that
            step has ended (only the run can tell whether another step follows or the run is over).
        """
        if isinstance(answer, RunState):
            return answer.status
        return None if answer.ended else DbtCloudJobRunStatus.RUNNING.value

    @staticmethod
    def survives(exc: BaseException) -> bool:
        """Whether progress goes on after its call failed: yes for a transient error (the next poll
        tries again), no otherwise (the wait then carries on without progress).

        :param exc: Why the progress call failed.
        """
        return is_transient_error(exc)

    def read(self, answer: RunState | StepState) -> list[str]:
        """Take in what the call answered; return the progress lines to log.

        :param answer: The run (with its steps) or the followed step.
        """
        if isinstance(answer, RunState):
            self.steps = len(answer.steps)
            current = answer.current_step()
            if current is None or current.index in self.finished:
                return []
            if self.step is None or current.index != self.step.index:
                self.lines_read = 0
            answer = current
        self.step = answer
        lines: list[str] = []
        if answer.index not in self.announced:
            self.announced.add(answer.index)
            lines.append(f"Job run {self.run_id}, step {answer.index}/{self.steps or '?'}: {answer.name}")
        log_lines = answer.logs.splitlines()
        if len(log_lines) < self.lines_read:
            self.lines_read = 0  # the log was cut or started over: read it again
        fresh = log_lines[self.lines_read :]
        if fresh and not answer.ended and not answer.logs.endswith("\n"):
            fresh = fresh[:-1]  # still being written; read on the next poll
        self.lines_read += len(fresh)
        for raw in fresh:
            text = node_line(raw) or _summary(raw)
            if text:
                lines.append(f"Job run {self.run_id}, step {answer.index}: {text}")
        if answer.ended:
            # The next step, if any, is found by reading the run again.
            self.finished.add(answer.index)
            self.step, self.lines_read = None, 0
        return lines


def _summary(line: str) -> str | None:
    found = _SUMMARY.search(_ANSI.sub("", line))
    return found.group() if found else None
