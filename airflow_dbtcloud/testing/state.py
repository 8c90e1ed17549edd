"""In-memory state of the emulator: configured objects, runs and their lifecycle, counters.

Every public method takes the state lock, so the control API may be used from any thread while the
server's event loop answers requests.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from airflow_dbtcloud.testing import artifacts, logs, payloads
from airflow_dbtcloud.testing.config import OUTCOMES, EmulatorConfig, JobConfig
from airflow_dbtcloud.testing.lifecycle import (
    ERROR,
    FINAL,
    STATUS_NAMES,
    SUCCESS,
    Clock,
    Run,
    StepView,
    status_code,
)


class NotFound(Exception):
    """The requested object does not exist."""


class Invalid(Exception):
    """The request is not valid (answered with 400)."""


class State:
    """All mutable emulator state.

    :param config: The initial configuration (restored by :meth:`reset`).
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.initial = config
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1"
        self._next_run_id = config.first_run_id
        self.clock = Clock(config.speed)
        self.reset()

    def reset(self) -> None:
        """Restore the initial configuration: no runs, no scripts, counters zero (run ids keep growing)."""
        with self.lock:
            cfg = self.initial.copy()
            self.config = cfg
            self.clock.speed = cfg.speed
            self.accounts = {int(a["id"]): a for a in cfg.accounts}
            self.projects = {int(p["id"]): p for p in cfg.projects}
            self.environments = {int(e["id"]): e for e in cfg.environments}
            self.jobs: dict[int, JobConfig] = {j.id: j for j in cfg.jobs}
            self.runs: dict[int, Run] = {}
            self.runs_created_by_job: dict[int, int] = {}
            self.fail_next: dict[int, list[str]] = {}
            self.manifest_size_mb = cfg.manifest_size_mb

    # ---- lookups -------------------------------------------------------------------------------------
    def account_of_job(self, job: JobConfig) -> int:
        """Account owning ``job``."""
        return int(self.project_of_job(job)["account_id"])

    def project_of_job(self, job: JobConfig) -> dict[str, Any]:
        """Project owning ``job``."""
        return self.projects[int(self.environments[job.environment_id]["project_id"])]

    def job(self, account_id: int, job_id: int) -> JobConfig:
        """Return a job of an account or raise :class:`NotFound`."""
        job = self.jobs.get(job_id)
        if job is None or self.account_of_job(job) != account_id:
            raise NotFound
        return job

    def run(self, account_id: int, run_id: int) -> Run:
        """Return a run of an account or raise :class:`NotFound`."""
        run = self.runs.get(run_id)
        if run is None or run.account_id != account_id:
            raise NotFound
        return run

    # ---- run creation ----------------------------------------------------------------------------------
    def create_run(
        self,
        job: JobConfig,
        trigger: dict[str, Any],
        *,
        commands: list[str] | None = None,
        node_filter: set[str] | None = None,
    ) -> Run:
        """Create a run of ``job`` following the job's script (and a pending :meth:`fail_next_run`).

        :param job: The job.
        :param trigger: Trigger fields (cause, cause_category and overrides).
        :param commands: Step commands (default: the job's steps or ``steps_override``).
        :param node_filter: Nodes the first step re-executes (reruns from failure).
        :return: The new run.
        """
        with self.lock:
            run_id = self._next_run_id
            self._next_run_id += 1
            now = self.clock.now()
            env = self.environments[job.environment_id]
            generate_docs = bool(
                job.generate_docs
                if trigger.get("generate_docs_override") is None
                else trigger["generate_docs_override"]
            )
            steps = list(
                commands if commands is not None else trigger.get("steps_override") or job.execute_steps
            )
            if (
                commands is None
                and generate_docs
                and not any(s.startswith("dbt docs generate") for s in steps)
            ):
                steps.append("dbt docs generate")
            outcome, failing = job.outcome, set(job.failing_nodes)
            if job.id in self.fail_next:
                outcome, failing = "error", set(self.fail_next.pop(job.id))
            trig = {
                "id": run_id + 5_000_000,
                "cause": trigger.get("cause", "Triggered via API"),
                "job_definition_id": job.id,
                "cause_category": trigger.get("cause_category", "api"),
                "created_at": payloads.ts(now),
                "updated_at": payloads.ts(now),
            }
            for key in _OVERRIDES:
                trig[key] = trigger.get(key)
            run = Run(
                id=run_id,
                job_id=job.id,
                account_id=self.account_of_job(job),
                project_id=int(env["project_id"]),
                environment_id=job.environment_id,
                trigger=trig,
                created=now,
                commands=steps,
                durations=(job.queued_seconds, job.starting_seconds, job.running_seconds),
                outcome=outcome,
                failing_nodes=failing,
                node_filter=node_filter,
                dbt_version=trigger.get("dbt_version_override") or env["dbt_version"],
                git_branch=trigger.get("git_branch") or env.get("custom_branch") or "main",
                git_sha=trigger.get("git_sha") or hashlib.sha1(str(run_id).encode()).hexdigest(),  # noqa: S324
                generate_docs=generate_docs,
                threads=trigger.get("threads_override") or job.threads,
                timeout=float(trigger.get("timeout_seconds_override") or 0),
            )
            self.runs[run_id] = run
            self.runs_created_by_job[job.id] = self.runs_created_by_job.get(job.id, 0) + 1
            return run

    def retry(self, run: Run, cause_category: str = "rerun") -> Run:
        """Start a run re-executing ``run``'s failed step from the failed and skipped nodes.

        :param run: A run that ended in error.
        :param cause_category: Category recorded on the new trigger.
        :return: The new run.
        :raises Invalid: If ``run`` did not fail.
        """
        with self.lock:
            status, _, _, _, steps = run.view(self.clock.now())
            if status != ERROR or not steps:
                raise Invalid("This run cannot be retried because it did not fail.")
            if run.retried_by is not None:
                raise Invalid(f"This run cannot be retried because run {run.retried_by} already retried it.")
            failed = steps[-1]
            redo = {r.unique_id for r in run.results(failed) if r.status in ("error", "fail", "skipped")}
            job = self.jobs[run.job_id]
            trigger = {**run.trigger, "cause": f"Rerun of run {run.id} from point of failure"}
            trigger["cause_category"] = cause_category
            first = failed.index - 1
            new = self.create_run(job, trigger, commands=run.commands[first:], node_filter=redo)
            run.retried_by = new.id
            return new

    def cancel(self, run: Run) -> None:
        """Cancel a run now; a finished run is left as it was."""
        self.complete(run, "cancelled", message="Cancelled by user")

    def complete(self, run: Run, status: int | str, message: str | None = None) -> None:
        """Force a run to end now with ``status`` (no-op if it already ended).

        :param run: The run.
        :param status: 10/20/30 or a status name.
        :param message: ``status_message`` to record.
        """
        code = status_code(status)
        if code not in FINAL:
            raise ValueError("a run can only be completed as success (10), error (20) or cancelled (30)")
        with self.lock:
            now = self.clock.now()
            if run.view(now)[0] in FINAL:
                return
            run.forced = (code, now, message)

    def set_job_script(self, job_id: int, **script: Any) -> None:
        """Change how the future runs of a job behave (outcome, durations, failing nodes).

        :param job_id: Job id.
        :param script: JobConfig fields: outcome, queued_seconds, starting_seconds, running_seconds,
            failing_nodes.
        """
        allowed = {"outcome", "queued_seconds", "starting_seconds", "running_seconds", "failing_nodes"}
        with self.lock:
            job = self.jobs[job_id]
            for key, value in script.items():
                if key not in allowed:
                    raise ValueError(f"unknown job script field {key!r}")
                if value is None:
                    continue
                if key == "outcome" and value not in OUTCOMES:
                    raise ValueError(f"outcome must be one of {OUTCOMES}")
                setattr(job, key, list(value) if key == "failing_nodes" else value)

    # ---- rendering ---------------------------------------------------------------------------------
    def render_run(self, run: Run, related: set[str]) -> dict[str, Any]:
        """Render a run as the API does, with the ``include_related`` objects asked for.

        :param run: The run.
        :param related: Names from ``include_related``.
        :return: The payload.
        """
        with self.lock:
            now = self.clock.now()
            status, dequeued, started, finished, steps = run.view(now)
            ref = finished if finished is not None else now
            saved = finished is not None and any(s.status in (SUCCESS, ERROR) for s in steps)
            _, _, final_message = run.ending()
            message = final_message if finished is not None else None
            if status == ERROR and message is None and steps:
                failed = [r for r in run.results(steps[-1]) if r.status in ("error", "fail")]
                message = f"Failure in step {steps[-1].index}: " + (
                    failed[0].message.splitlines()[0]
                    if failed and failed[0].message
                    else "dbt command failed"
                )
            job = self.jobs[run.job_id]
            proj = self.projects[run.project_id]
            env = self.environments[run.environment_id]
            out: dict[str, Any] = {
                "id": run.id,
                "trigger_id": run.trigger["id"],
                "account_id": run.account_id,
                "environment_id": run.environment_id,
                "project_id": run.project_id,
                "job_definition_id": run.job_id,
                "job_id": run.job_id,
                "status": status,
                "status_humanized": STATUS_NAMES[status],
                "status_message": message,
                "dbt_version": run.dbt_version,
                "git_branch": run.git_branch if started is not None or finished is not None else None,
                "git_sha": run.git_sha if started is not None or finished is not None else None,
                "owner_thread_id": None,
                "executed_by_thread_id": f"dbt-run-{run.id}" if started is not None else None,
                "deferring_run_id": None,
                "artifact_s3_path": f"prod/runs/{run.id}/artifacts/target" if saved else None,
                "artifacts_saved": saved,
                "has_docs_generated": bool(run.generate_docs and status == SUCCESS),
                "has_sources_generated": False,
                "notifications_sent": finished is not None,
                "blocked_by": [],
                "created_at": payloads.ts(run.created),
                "updated_at": payloads.ts(min(now, finished) if finished is not None else now),
                "dequeued_at": payloads.ts(dequeued),
                "started_at": payloads.ts(started),
                "finished_at": payloads.ts(finished),
                "last_checked_at": payloads.ts(now),
                "last_heartbeat_at": payloads.ts(now) if started is not None else None,
                "should_start_at": None,
                "trigger": dict(run.trigger) if "trigger" in related else None,
                "job": payloads.job(job, run.account_id, proj, env, internal=True)
                if "job" in related
                else None,
                "environment": payloads.environment(env, run.account_id, None)
                if "environment" in related
                else None,
                "run_steps": [],
                "status_humanized_detail": None,
                "in_progress": status not in FINAL,
                "is_complete": status in FINAL,
                "is_success": status == SUCCESS,
                "is_error": status == ERROR,
                "is_cancelled": status == 30,
                "is_running": payloads.is_running(status),
                "duration": payloads.clock(ref - run.created),
                "queued_duration": payloads.clock((started or ref) - run.created),
                "run_duration": payloads.clock(ref - started if started is not None else 0),
                "duration_humanized": payloads.humanize(ref - run.created),
                "queued_duration_humanized": payloads.humanize((started or ref) - run.created),
                "run_duration_humanized": payloads.humanize(ref - started if started is not None else 0),
                "created_at_humanized": "just now",
                "finished_at_humanized": "just now" if finished is not None else "0 minutes from now",
                "retrying_run_id": run.retried_by,
                "can_retry": status == ERROR and run.retried_by is None,
                "retry_not_supported_reason": (
                    "RETRY_NOT_FAILED_RUN"
                    if status != ERROR
                    else "RETRY_NOT_LATEST_RUN"
                    if run.retried_by is not None
                    else None
                ),
                "href": f"{self.base_url}/deploy/{run.account_id}/projects/{run.project_id}/runs/{run.id}/",
                "used_repo_cache": False,
            }
            if "repository" in related:
                out["repository"] = payloads.repository(proj)
            if "audit" in related:
                out["audit"] = None
            if "run_steps" in related:
                debug = "debug_logs" in related
                out["run_steps"] = [
                    payloads.run_step(run, s, self.step_logs(run, s), debug=debug) for s in steps
                ]
            return out

    def step_logs(self, run: Run, step: StepView) -> str:
        """Console log of a step (partial while it runs)."""
        if step.end is None:
            return f"Running with dbt={artifacts.DBT_VERSION}\nRegistered adapter: postgres=1.9.0\n"
        return logs.step_logs(step.command, run.results(step), step.start, step.end, run.threads)

    def finished_steps(self, run: Run) -> list[StepView]:
        """Steps of a completed run that wrote artifacts (none while the run is in progress)."""
        with self.lock:
            _status, _, _, finished, steps = run.view(self.clock.now())
            if finished is None:
                return []
            return [s for s in steps if s.status in (SUCCESS, ERROR)]


_OVERRIDES = (
    "git_branch",
    "git_sha",
    "azure_pull_request_id",
    "github_pull_request_id",
    "gitlab_merge_request_id",
    "non_native_pull_request_id",
    "schema_override",
    "dbt_version_override",
    "threads_override",
    "target_name_override",
    "generate_docs_override",
    "timeout_seconds_override",
    "steps_override",
)
TRIGGER_FIELDS = ("cause", *_OVERRIDES)
