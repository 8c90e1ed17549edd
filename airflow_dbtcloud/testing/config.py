"""Declarative configuration of the emulator: accounts, tokens, projects, environments and jobs."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_dbtcloud.testing.adapters import DEFAULT_ADAPTER, get_adapter
from airflow_dbtcloud.testing.project import project_for

DEFAULT_TOKEN = "dbtc_emulator_token_do_not_log"  # noqa: S105 - a fake token for the emulator
OUTCOMES = ("success", "error", "cancelled", "hang")


@dataclass
class JobConfig:
    """One job definition and the script its runs follow.

    :param id: Job id.
    :param name: Job name.
    :param environment_id: Environment the job runs in.
    :param execute_steps: dbt commands, each starting with ``"dbt "``.
    :param generate_docs: Whether the job generates docs (adds a ``dbt docs generate`` step).
    :param outcome: How runs end: ``success``, ``error``, ``cancelled`` or ``hang``.
    :param queued_seconds: Emulator seconds spent QUEUED.
    :param starting_seconds: Emulator seconds spent STARTING.
    :param running_seconds: Emulator seconds spent RUNNING.
    :param failing_nodes: Nodes (unique ids or names) that fail when the outcome is ``error``.
    :param warning_nodes: Tests (unique ids or names) that end ``warn`` in every run, whatever the outcome.
    :param description: Job description.
    :param job_type: ``scheduled``, ``ci``, ``merge`` or ``other``.
    :param state: 1 active, 2 deleted.
    :param threads: Thread count in the job settings.
    :param target_name: Target name in the job settings.
    :param cron: Cron expression of the job's schedule.
    """

    id: int
    name: str
    environment_id: int
    execute_steps: list[str] = field(default_factory=lambda: ["dbt build"])
    generate_docs: bool = False
    outcome: str = "success"
    queued_seconds: float = 0.2
    starting_seconds: float = 0.2
    running_seconds: float = 0.6
    failing_nodes: list[str] = field(default_factory=list)
    warning_nodes: list[str] = field(default_factory=list)
    description: str = ""
    job_type: str = "scheduled"
    state: int = 1
    threads: int = 4
    target_name: str = "default"
    cron: str = "0 6 * * *"


@dataclass
class EmulatorConfig:
    """Everything the emulator serves. Build it with :meth:`default`, :meth:`from_dict` or :meth:`from_file`.

    :param accounts: ``[{"id": 1, "name": "..."}]``.
    :param tokens: Token -> account ids the token may use.
    :param projects: ``[{"id", "account_id", "name"}]``.
    :param environments: ``[{"id", "project_id", "name", "deployment_type", "dbt_version", "type"}]``.
    :param jobs: Job definitions; each needs ``id``, ``name`` and ``environment_id``.
    :param manifest_size_mb: Pad every manifest to about this size (0 = natural size).
    :param speed: Multiplier of the emulator clock.
    :param seed: Seed of the random generator used by probabilistic faults.
    :param first_run_id: Id of the first run created.
    :param journal_limit: Maximum number of journal entries kept (oldest dropped).
    :param adapter: Warehouse adapter of the emulated project: ``postgres``, ``redshift``, ``snowflake``,
        ``bigquery`` or ``databricks``.
    :param synthetic_models: Generated models added to the project (for benchmarks).
    """

    accounts: list[dict[str, Any]] = field(default_factory=list)
    tokens: dict[str, list[int]] = field(default_factory=dict)
    projects: list[dict[str, Any]] = field(default_factory=list)
    environments: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[JobConfig] = field(default_factory=list)
    manifest_size_mb: float = 0.0
    speed: float = 1.0
    seed: int = 1234
    first_run_id: int = 1000
    journal_limit: int = 20000
    adapter: str = DEFAULT_ADAPTER
    synthetic_models: int = 0

    @property
    def default_token(self) -> str:
        """The first configured token (the one connection helpers use)."""
        return next(iter(self.tokens), DEFAULT_TOKEN)

    @property
    def default_account_id(self) -> int:
        """The first configured account id."""
        return int(self.accounts[0]["id"]) if self.accounts else 1

    def override(self, **values: Any) -> EmulatorConfig:
        """Replace top-level settings (``adapter``, ``synthetic_models``...), validated as in a config file.

        :param values: Setting -> value; a None value leaves the setting as it is.
        :return: self.
        """
        given = {k: v for k, v in values.items() if v is not None}
        checked = EmulatorConfig.from_dict(given)
        for key in given:
            setattr(self, key, getattr(checked, key))
        return self

    def copy(self) -> EmulatorConfig:
        """Return a deep copy, so runtime changes never leak into the original."""
        return copy.deepcopy(self)

    @classmethod
    def default(cls) -> EmulatorConfig:
        """Return the built-in jaffle_shop configuration (account 1, project 100, jobs 300-303)."""
        return cls.from_dict({})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmulatorConfig:
        """Build a config from a mapping; missing sections fall back to the defaults.

        :param data: Mapping in the format documented in ``docs/emulator.md``.
        :return: The configuration.
        :raises ValueError: On an unknown key or an inconsistent reference.
        """
        unknown = set(data) - _KNOWN_KEYS
        if unknown:
            raise ValueError(f"unknown emulator config keys: {sorted(unknown)}")
        accounts = [dict(a) for a in data.get("accounts", [{"id": 1, "name": "Emulated Analytics"}])]
        account_ids = [int(a["id"]) for a in accounts]
        tokens = {str(t): [int(x) for x in ids] for t, ids in data.get("tokens", {}).items()}
        if not tokens:
            tokens = {DEFAULT_TOKEN: list(account_ids)}
        projects = [dict(p) for p in data.get("projects", _DEFAULT_PROJECTS)]
        for p in projects:
            p.setdefault("account_id", account_ids[0])
        environments = _environments(data, projects)
        jobs = _jobs(data, {int(e["id"]) for e in environments})
        adapter = get_adapter(data.get("adapter", DEFAULT_ADAPTER)).name
        synthetic_models = project_for(int(data.get("synthetic_models", 0))).synthetic_models
        return cls(
            accounts=accounts,
            tokens=tokens,
            projects=projects,
            environments=environments,
            jobs=jobs,
            manifest_size_mb=float(data.get("manifest_size_mb", 0.0)),
            speed=float(data.get("speed", 1.0)),
            seed=int(data.get("seed", 1234)),
            first_run_id=int(data.get("first_run_id", 1000)),
            journal_limit=int(data.get("journal_limit", 20000)),
            adapter=adapter,
            synthetic_models=synthetic_models,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> EmulatorConfig:
        """Load a config from a ``.json``, ``.yaml`` or ``.yml`` file.

        :param path: File path.
        :return: The configuration.
        """
        p = Path(path)
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml  # lazy: only needed for YAML configs

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the emulator config must be a mapping")
        return cls.from_dict(data)

    @classmethod
    def coerce(cls, config: EmulatorConfig | dict[str, Any] | str | Path | None) -> EmulatorConfig:
        """Accept any of the supported config forms.

        :param config: A config, a mapping, a file path or None (the default config).
        :return: A private copy of the configuration.
        """
        if config is None:
            return cls.default()
        if isinstance(config, EmulatorConfig):
            return config.copy()
        if isinstance(config, dict):
            return cls.from_dict(config)
        return cls.from_file(config)


def _environments(data: dict[str, Any], projects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    environments = [dict(e) for e in data.get("environments", _DEFAULT_ENVIRONMENTS)]
    project_ids = {int(p["id"]) for p in projects}
    for e in environments:
        e.setdefault("project_id", int(projects[0]["id"]))
        e.setdefault("deployment_type", None)
        e.setdefault("type", "deployment")
        e.setdefault("dbt_version", "latest")
        if int(e["project_id"]) not in project_ids:
            raise ValueError(f"environment {e['id']} references unknown project {e['project_id']}")
    return environments


def _jobs(data: dict[str, Any], env_ids: set[int]) -> list[JobConfig]:
    job_defaults = dict(data.get("defaults", {}))
    jobs: list[JobConfig] = []
    for raw in data.get("jobs", _DEFAULT_JOBS):
        merged = {**job_defaults, **raw}
        try:
            job = JobConfig(**merged)
        except TypeError as exc:
            raise ValueError(f"bad job definition {raw!r}: {exc}") from exc
        if job.outcome not in OUTCOMES:
            raise ValueError(f"job {job.id}: outcome must be one of {OUTCOMES}")
        if job.environment_id not in env_ids:
            raise ValueError(f"job {job.id} references unknown environment {job.environment_id}")
        jobs.append(job)
    return jobs


_KNOWN_KEYS = {
    "accounts",
    "tokens",
    "projects",
    "environments",
    "jobs",
    "manifest_size_mb",
    "speed",
    "seed",
    "first_run_id",
    "journal_limit",
    "defaults",
    "adapter",
    "synthetic_models",
}
_DEFAULT_PROJECTS: list[dict[str, Any]] = [{"id": 100, "name": "jaffle_shop"}]
_DEFAULT_ENVIRONMENTS: list[dict[str, Any]] = [
    {"id": 200, "project_id": 100, "name": "Production", "deployment_type": "production"},
    {"id": 201, "project_id": 100, "name": "Staging", "deployment_type": "staging"},
]
_DEFAULT_JOBS: list[dict[str, Any]] = [
    {"id": 300, "name": "Daily build", "environment_id": 200, "execute_steps": ["dbt build"]},
    {
        "id": 301,
        "name": "Hourly models",
        "environment_id": 200,
        "execute_steps": ["dbt run --select tag:hourly"],
        "cron": "0 * * * *",
    },
    {"id": 302, "name": "Staging build", "environment_id": 201, "execute_steps": ["dbt build"]},
    {
        "id": 303,
        "name": "Docs",
        "environment_id": 200,
        "execute_steps": ["dbt docs generate"],
        "generate_docs": True,
    },
]
