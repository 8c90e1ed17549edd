"""In-memory state of the emulator: configured objects, runs and their lifecycle, counters.

Every public method takes the state lock, so the control API may be used from any thread while the
server's event loop answers requests.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from airflow_dbtcloud.testing.adapters import get_adapter
from airflow_dbtcloud.testing.config import OUTCOMES, EmulatorConfig, JobConfig
from airflow_dbtcloud.testing.errors import Invalid, NotFound
from airflow_dbtcloud.testing.lifecycle import (
    ERROR,
    FINAL,
    STEP_IDS_PER_RUN,
    SUCCESS,
    Clock,
    Run,
    StepView,
    status_code,
)
from airflow_dbtcloud.testing.origins import trigger_fields
from airflow_dbtcloud.testing.project import project_for
from airflow_dbtcloud.testing.timefmt import ts


class State:
    """All mutable emulator state.

    :param config: The initial configuration (restored by :meth:`reset`).
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.initial = config
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1"
        self._next_run_id = config.first_run_id
        self._next_job_id = max((j.id for j in config.jobs), default=0) + 1
        self.clock = Clock(config.speed)
        self.reset()

    def reset(self) -> None:
        """Restore the initial configuration: no runs, no scripts, no added jobs, counters zero.

        Run ids and the ids of jobs added by :meth:`add_jobs` keep growing, so an id never names two
        different objects over the emulator's life.
        """
        with self.lock:
            cfg = self.initial.copy()
            self.config = cfg
            self.clock.speed = cfg.speed
            self.accounts = {int(a["id"]): a for a in cfg.accounts}
            self.projects = {int(p["id"]): p for p in cfg.projects}
            self.environments = {int(e["id"]): e for e in cfg.environments}
            self.jobs: dict[int, JobConfig] = {j.id: j for j in cfg.jobs}
            self._listings: dict[tuple[int, int | None, str], tuple[JobConfig, ...]] = {}
            self._job_json: dict[int, str] = {}
            self.runs: dict[int, Run] = {}
            self.runs_created_by_job: dict[int, int] = {}
            self.fail_next: dict[int, list[str]] = {}
            self.warn_next: dict[int, list[str]] = {}
            self.manifest_size_mb = cfg.manifest_size_mb
            self.adapter = get_adapter(cfg.adapter)
            self.project = project_for(cfg.synthetic_models)

    def set_adapter(self, name: str) -> None:
        """Switch the warehouse adapter of later runs and of the project and environment payloads.

        :param name: ``postgres``, ``redshift``, ``snowflake``, ``bigquery`` or ``databricks``.
        :raises ValueError: For another name.
        """
        adapter = get_adapter(name)
        with self.lock:
            self.adapter = adapter

    def set_project_size(self, models: int) -> None:
        """Set how many generated models the project of later runs has.

        :param models: Synthetic models to add to the base project (0 for none).
        :raises ValueError: When out of range.
        """
        project = project_for(int(models))
        with self.lock:
            self.project = project

    def add_jobs(
        self, count: int, environment_id: int | None = None, name_prefix: str = "Generated job"
    ) -> list[int]:
        """Add ``count`` jobs with the defaults of :class:`JobConfig`, as if each had been configured.

        :param count: How many jobs to add (0 to 1,000,000).
        :param environment_id: Environment of the new jobs; None for the first environment of the
            default account's first project.
        :param name_prefix: Each job is named ``"<name_prefix> <id>"``, so names are distinct.
        :return: The new jobs' ids, ascending; each is greater than any job id seen before.
        :raises ValueError: For a count out of range or an unknown environment.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_ADDED_JOBS:
            raise ValueError(f"count must be an integer from 0 to {MAX_ADDED_JOBS}, got {count!r}")
        with self.lock:
            env_id = self._default_environment() if environment_id is None else int(environment_id)
            if env_id not in self.environments:
                raise ValueError(f"unknown environment {environment_id}")
            first = max(self._next_job_id, max(self.jobs, default=0) + 1)
            ids = list(range(first, first + count))
            for job_id in ids:
                name = f"{name_prefix} {job_id}"
                self.jobs[job_id] = JobConfig(id=job_id, name=name, environment_id=env_id)
            self._next_job_id = first + count
            self.jobs_changed()
            return ids

    def _default_environment(self) -> int:
        account_id = self.config.default_account_id
        project = next((p for p in self.projects.values() if int(p["account_id"]) == account_id), None)
        env = None
        if project is not None:
            env = next(
                (e for e in self.environments.values() if int(e["project_id"]) == int(project["id"])), None
            )
        if env is None:
            raise ValueError(f"account {account_id} has no project with an environment to add jobs to")
        return int(env["id"])

    def script_next_run(self, job_id: int, failing: list[str] | None, warning: list[str] | None) -> None:
        """Script the next run of a job: it ends in error with ``failing`` nodes, ``warning`` tests warn.

        :param job_id: Job id.
        :param failing: Nodes that fail (the run ends in error), or None to leave the outcome alone.
        :param warning: Tests that end ``warn``, or None.
        :raises KeyError: For an unknown job.
        """
        with self.lock:
            if job_id not in self.jobs:
                raise KeyError(f"unknown job {job_id}")
            if failing is not None:
                self.fail_next[job_id] = list(failing)
            if warning:
                self.warn_next[job_id] = list(warning)

    def settings(self) -> dict[str, Any]:
        """Return the emulator-wide settings: adapter, synthetic models and manifest size."""
        with self.lock:
            return {
                "adapter": self.adapter.name,
                "synthetic_models": self.project.synthetic_models,
                "manifest_size_mb": self.manifest_size_mb,
            }

    # ---- lookups -------------------------------------------------------------------------------------
    def account_of_job(self, job: JobConfig) -> int:
        """Return the id of the account owning ``job``.

        :param job: A configured job.
        """
        return int(self.project_of_job(job)["account_id"])

    def project_of_job(self, job: JobConfig) -> dict[str, Any]:
        """Return the configured project owning ``job`` (through the job's environment).

        :param job: A configured job.
        """
        return self.projects[int(self.environments[job.environment_id]["project_id"])]

    def listed_jobs(self, account_id: int, job_state: int | None, order: str = "") -> tuple[JobConfig, ...]:
        """Return the jobs of an account in one state, as the jobs list endpoint starts from.

        The answer is kept until the jobs change, so paging through many jobs costs each request its
        page, not a pass over every job of the emulator (dbt Cloud answers from an indexed database).

        :param account_id: The account whose jobs are listed.
        :param job_state: Only jobs in this state (1 active, 2 deleted); None for every state.
        :param order: ``""`` for the order the jobs were configured and added in, ``"id"`` for
            ascending ids, ``"-id"`` for descending ids.
        :raises ValueError: For another order.
        """
        if order not in ("", "id", "-id"):
            raise ValueError(f"order must be '', 'id' or '-id', got {order!r}")
        key = (account_id, job_state, order)
        with self.lock:
            listed = self._listings.get(key)
            if listed is None:
                if order:
                    configured = self.listed_jobs(account_id, job_state)
                    listed = tuple(sorted(configured, key=lambda j: j.id, reverse=order == "-id"))
                else:
                    listed = tuple(
                        j
                        for j in self.jobs.values()
                        if (job_state is None or j.state == job_state)
                        and self.account_of_job(j) == account_id
                    )
                if len(self._listings) >= MAX_LISTINGS:
                    self._listings.clear()  # clients choose the state asked for: keep the cache bounded
                self._listings[key] = listed
            return listed

    def job_json(self, job: JobConfig, render: Callable[[JobConfig], str]) -> str:
        """Return a job's JSON as the jobs list shows it, rendered once and kept until the jobs change.

        A listed job's payload (without recent runs) depends on the job, its environment, project
        and account only, which change together with the jobs.

        :param job: A configured job.
        :param render: Writes the job's JSON; called when none is kept.
        """
        with self.lock:
            text = self._job_json.get(job.id)
            if text is None:
                if len(self._job_json) >= MAX_JOB_JSON:
                    self._job_json.clear()  # a bound on memory, not an eviction policy
                text = self._job_json[job.id] = render(job)
            return text

    def jobs_changed(self) -> None:
        """Forget the job lists of :meth:`listed_jobs` and the payloads of :meth:`job_json`.

        :meth:`reset` and :meth:`add_jobs` call it; code that edits :attr:`jobs`, or a job's fields,
        in place must call it too.
        """
        with self.lock:
            self._listings.clear()
            self._job_json.clear()

    def job(self, account_id: int, job_id: int) -> JobConfig:
        """Return a job of an account.

        :param account_id: The account named in the request path.
        :param job_id: The job named in the request path.
        :raises NotFound: When the job does not exist or belongs to another account.
        """
        job = self.jobs.get(job_id)
        if job is None or self.account_of_job(job) != account_id:
            raise NotFound
        return job

    def run(self, account_id: int, run_id: int) -> Run:
        """Return a run of an account.

        :param account_id: The account named in the request path.
        :param run_id: The run named in the request path.
        :raises NotFound: When the run does not exist or belongs to another account.
        """
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
        origin: Run | None = None,
        counted: bool = True,
    ) -> Run:
        """Create a run of ``job`` following the job's script (and a pending :meth:`fail_next_run`).

        :param job: The job.
        :param trigger: Trigger fields (cause, cause_category and overrides).
        :param commands: Step commands (default: the job's steps or ``steps_override``).
        :param node_filter: Nodes the first step re-executes (reruns from failure).
        :param origin: The run this one retries: its project and adapter are kept.
        :param counted: Count the run in :attr:`runs_created_by_job` (runs an API client created).
        :return: The new run.
        :raises Invalid: When the run would have more steps than step ids allow (99).
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
            steps = list(commands) if commands is not None else _job_steps(job, trigger, generate_docs)
            if len(steps) > MAX_STEPS:
                raise Invalid(f"steps_override: Ensure this field has no more than {MAX_STEPS} elements.")
            project = origin.project if origin is not None else self.project
            outcome, failing = job.outcome, job.failing_nodes
            if job.id in self.fail_next:
                outcome, failing = "error", self.fail_next.pop(job.id)
            warning = project.resolve([*job.warning_nodes, *self.warn_next.pop(job.id, [])])
            run = Run(
                id=run_id,
                job_id=job.id,
                account_id=self.account_of_job(job),
                project_id=int(env["project_id"]),
                environment_id=job.environment_id,
                trigger=_trigger_record(run_id, job, trigger, now),
                created=now,
                commands=steps,
                durations=(job.queued_seconds, job.starting_seconds, job.running_seconds),
                outcome=outcome,
                failing_nodes=project.resolve(failing),
                node_filter=node_filter,
                warning_nodes=warning,
                project=project,
                adapter=origin.adapter if origin is not None else self.adapter,
                dbt_version=trigger.get("dbt_version_override") or env["dbt_version"],
                git_branch=trigger.get("git_branch") or env.get("custom_branch") or "main",
                git_sha=trigger.get("git_sha") or hashlib.sha1(str(run_id).encode()).hexdigest(),  # noqa: S324
                generate_docs=generate_docs,
                threads=trigger.get("threads_override") or job.threads,
                timeout=float(trigger.get("timeout_seconds_override") or 0),
            )
            self.runs[run_id] = run
            if counted:
                self.runs_created_by_job[job.id] = self.runs_created_by_job.get(job.id, 0) + 1
            return run

    def start_run(self, job_id: int, source: str, **fields: Any) -> Run:
        """Start a run the way dbt Cloud itself, a pull request or a person does, outside the Admin API.

        The run is not counted in :attr:`runs_created_by_job`, which counts what API clients created.

        :param job_id: The job to run.
        :param source: ``scheduler``, ``ci``, ``person`` or ``api`` (see :mod:`origins`).
        :param fields: ``cause``, ``git_branch``, ``git_sha``, ``pull_request_id``, ``person`` (None: the
            source's default).
        :return: The new run.
        :raises KeyError: For an unknown job.
        :raises ValueError: For a deleted job, an unknown source or a bad field.
        """
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise KeyError(f"unknown job {job_id}")
            if job.state != 1:
                raise ValueError(f"job {job_id} has been deleted and cannot be run")
            given = {k: v for k, v in fields.items() if v is not None}
            return self.create_run(job, trigger_fields(job_id, source, **given), counted=False)

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
            new = self.create_run(job, trigger, commands=run.commands[first:], node_filter=redo, origin=run)
            run.retried_by = new.id
            return new

    def cancel(self, run: Run) -> None:
        """Cancel a run now; a finished run is left as it was.

        :param run: The run to cancel.
        """
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
            failing_nodes, warning_nodes.
        """
        lists = {"failing_nodes", "warning_nodes"}
        allowed = {"outcome", "queued_seconds", "starting_seconds", "running_seconds", *lists}
        with self.lock:
            job = self.jobs[job_id]
            for key, value in script.items():
                if key not in allowed:
                    raise ValueError(f"unknown job script field {key!r}")
                if value is None:
                    continue
                if key == "outcome" and value not in OUTCOMES:
                    raise ValueError(f"outcome must be one of {OUTCOMES}")
                setattr(job, key, list(value) if key in lists else value)
            self._job_json.pop(job_id, None)  # the script is not in the payload; stay safe if it becomes so

    # ---- queries ---------------------------------------------------------------------------------------
    def finished_steps(self, run: Run) -> list[StepView]:
        """Return the steps of a completed run that wrote artifacts (none while the run is in progress).

        :param run: The run.
        """
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
MAX_STEPS = STEP_IDS_PER_RUN - 1  # so that step ids stay unique across runs
MAX_LISTINGS = 64  # job lists kept by State.listed_jobs (accounts x states x orders asked for)
MAX_JOB_JSON = 20_000  # job payloads kept by State.job_json (about 2 KiB each)
MAX_ADDED_JOBS = 1_000_000  # bounds one add_jobs call (about 0.5 KiB of state per job)


def _job_steps(job: JobConfig, trigger: dict[str, Any], generate_docs: bool) -> list[str]:
    steps = list(trigger.get("steps_override") or job.execute_steps)
    if generate_docs and not any(s.startswith("dbt docs generate") for s in steps):
        steps.append("dbt docs generate")
    return steps


def _trigger_record(run_id: int, job: JobConfig, trigger: dict[str, Any], now: float) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": run_id + 5_000_000,
        "cause": trigger.get("cause", "Triggered via API"),
        "job_definition_id": job.id,
        "cause_category": trigger.get("cause_category", "api"),
        "created_at": ts(now),
        "updated_at": ts(now),
    }
    for key in _OVERRIDES:
        record[key] = trigger.get(key)
    return record
