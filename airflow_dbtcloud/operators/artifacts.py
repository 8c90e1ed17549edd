"""Download run artifacts to a local path or object storage, streamed and memory bounded."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, ObjectStoragePath

from airflow_dbtcloud.api.ids import artifact_path, require_id
from airflow_dbtcloud.hooks.lazy import DEFAULT_CONN_NAME, hook_class, hook_names

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["DbtCloudGetJobRunArtifactOperator"]

# Imported on first use, so that a DAG file using this operator does not import the hook.
__getattr__ = hook_names(__name__, "DbtCloudHook")


def _inside(base: str, name: str) -> str:
    """Join ``name`` onto ``base`` and refuse results outside ``base`` (for object storage: no symlinks)."""
    joined = posixpath.normpath(posixpath.join(base, name))
    root = posixpath.normpath(base)
    if joined != root and not joined.startswith(root.rstrip("/") + "/"):
        raise ValueError(f"Output file {name!r} would be written outside the output directory {base!r}.")
    return joined


def _inside_local(base: str, name: str) -> Path:
    """Where ``name`` lands under the local directory ``base``, every symlink on the way followed.

    A symlink inside ``base`` (the file itself or a folder on the way) that points outside it would let
    the artifact be written anywhere the worker may write, so the resolved path must stay inside.
    """
    try:
        root = Path(base).resolve()
        target = (root / name).resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, or a path the OS cannot resolve
        raise ValueError(f"Output file {name!r} under {base!r} cannot be resolved: {exc}") from exc
    if target == root or not target.is_relative_to(root):
        raise ValueError(
            f"Output file {name!r} would be written outside the output directory {base!r} "
            f"(it resolves to {str(target)!r}, symlinks followed)."
        )
    return target


def _check_artifact_path(path: Any) -> str:
    artifact_path(path)
    return str(path)


class DbtCloudGetJobRunArtifactOperator(BaseOperator):
    """Download one or several artifacts of a dbt Cloud run, streamed to disk or object storage.

    Give ``run_id`` for a run's artifacts, or ``job_id`` instead for the artifacts of the job's latest
    run that saved them (a job that dbt Cloud's scheduler runs, whose run ids Airflow never sees).

    :param dbt_cloud_conn_id: The dbt Cloud connection id.
    :param run_id: The dbt Cloud run id.
    :param path: The artifact path relative to ``target/`` (``manifest.json``, ``run_results.json``,
        ``compiled/<project>/<model>.sql``), or a list of them.
    :param account_id: The dbt Cloud account id; ``None`` uses the connection's.
    :param step: The step whose artifacts to fetch, starting at 1; ``None`` means the last step.
    :param output_file_name: Where to write a single artifact: a file name, local path or URI such as
        ``s3://bucket/key.json`` or ``file:///tmp/x.json``. ``None`` gives ``<run_id>_<path>`` (with
        ``job_id``: ``job_<job_id>_latest_<path>``) with ``/`` replaced by ``-``. Must be ``None`` when
        ``path`` is a list.
    :param hook_params: Extra arguments for :class:`~airflow_dbtcloud.hooks.dbt.DbtCloudHook`.
    :param output_dir: A local directory or object storage URI to write into; the written files must stay
        inside it, also once symlinks are followed (a local or ``file://`` directory's symlinks that lead
        outside it are refused). ``None`` means the working directory (as the official operator does).
    :param job_id: Instead of ``run_id``: fetch from the job's latest run that saved the artifact
        (``step`` does not apply).
    :return: The written location (a string), or a list of them when ``path`` is a list.
    """

    template_fields: Sequence[str] = (
        "dbt_cloud_conn_id",
        "run_id",
        "job_id",
        "path",
        "account_id",
        "output_file_name",
        "output_dir",
    )

    def __init__(
        self,
        *,
        dbt_cloud_conn_id: str = DEFAULT_CONN_NAME,
        run_id: int | None = None,
        path: str | list[str],
        account_id: int | None = None,
        step: int | None = None,
        output_file_name: str | None = None,
        hook_params: dict[str, Any] | None = None,
        output_dir: str | None = None,
        job_id: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (run_id is None) == (job_id is None):
            raise ValueError("Give one of run_id (a run's artifacts) and job_id (the job's latest run's).")
        if job_id is not None and step is not None:
            raise ValueError("step applies to run_id only: job_id fetches the job's latest artifact.")
        self.dbt_cloud_conn_id = dbt_cloud_conn_id
        self.run_id: Any = run_id
        self.job_id: Any = job_id
        self.path = path
        self.account_id = account_id
        self.step = step
        self.output_file_name = output_file_name
        self.hook_params = hook_params or {}
        self.output_dir = output_dir

    def _default_name(self, artifact: str) -> str:
        owner = f"{self.run_id}" if self.job_id is None else f"job_{self.job_id}_latest"
        return f"{owner}_{artifact}".replace("/", "-")

    def _destination(self, artifact: str, name: str | None) -> Path | ObjectStoragePath:
        name = name or self._default_name(artifact)
        if self.output_dir:
            if "://" in self.output_dir:
                scheme, _, local = self.output_dir.partition("://")
                if scheme.lower() in ("file", "local"):
                    _inside_local(local, name)  # the same disk: symlinks count here too
                base = ObjectStoragePath(self.output_dir)
                return base / _inside("/root", name).removeprefix("/root/")
            return _inside_local(self.output_dir, name)
        if "://" in name:
            return ObjectStoragePath(name)
        return Path(name)

    def execute(self, context: Context) -> str | list[str]:
        """Download each artifact and return where it was written.

        :param context: The Airflow task context.
        :return: The written location, or a list of them when ``path`` is a list.
        """
        paths = [self.path] if isinstance(self.path, str) else list(self.path)
        if not paths:
            raise ValueError("path must name at least one artifact.")
        if not isinstance(self.path, str) and self.output_file_name:
            raise ValueError("output_file_name names one file; use output_dir when path is a list.")
        job_id = require_id("job_id", self.job_id) if self.job_id is not None else None
        run_id = require_id("run_id", self.run_id) if job_id is None else 0
        if isinstance(self.path, str) and not self.output_file_name:
            # Derived after rendering, so the name uses the rendered ids and path.
            self.output_file_name = self._default_name(self.path)
        # Every path and destination is checked before the first download, so a bad one in a list does
        # not stop the task halfway through.
        targets = [
            (artifact, self._destination(artifact, self.output_file_name))
            for artifact in map(_check_artifact_path, paths)
        ]
        hook = hook_class(__name__)(self.dbt_cloud_conn_id, **self.hook_params)
        written: list[str] = []
        for artifact, target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            if job_id is not None:
                what = "Writing artifact %s of the latest run of dbt Cloud job %s to %s."
                self.log.info(what, artifact, job_id, target)
                hook.download_job_latest_artifact(job_id, artifact, target, self.account_id)
            else:
                self.log.info("Writing artifact %s of dbt Cloud run %s to %s.", artifact, run_id, target)
                hook.download_job_run_artifact(run_id, artifact, target, self.account_id, step=self.step)
            written.append(str(target))
        return written[0] if isinstance(self.path, str) else written
