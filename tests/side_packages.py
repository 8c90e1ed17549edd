"""Provider wheels kept beside the virtual environment, imported without being installed.

``make venv`` puts some Airflow provider wheels into folders under the venv with ``pip install --no-deps
--target <venv>/<folder>``: the official dbt Cloud provider (``official-provider``, for the drop-in
comparison) and the providers whose asset URI rules we check ours against (``asset-uri-providers``).
Such a folder is not on ``sys.path``, so its dist-info stays invisible to ``importlib.metadata`` and
Airflow never discovers those packages as installed providers (the official dbt one would register the
same connection type as ours; the others would pull in their drivers). ``airflow.providers`` is a
namespace package: adding ``<folder>/airflow/providers`` to its ``__path__`` is enough to import a
module from there.

A folder that is missing, or lacks the module, fails the test (never skips) with the caller's message,
which should say to run ``make venv``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

PROVIDERS_PACKAGE = "airflow.providers"


def side_folder(name: str) -> Path:
    """The folder ``make venv`` installs side packages into: ``<venv>/<name>``.

    :param name: The folder's name, e.g. ``official-provider``.
    """
    return Path(sys.prefix) / name


def has_provider_module(folder: Path, module: str) -> bool:
    """Whether ``airflow.providers.<module>`` is in the side folder, as a module file or a package.

    :param folder: The side folder (the ``--target`` of pip).
    :param module: The module's dotted name below ``airflow.providers``, e.g. ``postgres.assets.postgres``.
    """
    path = folder.joinpath("airflow", "providers", *module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_provider_module(folder: Path, module: str, missing_message: str) -> ModuleType:
    """Import ``airflow.providers.<module>`` from a side folder; fail the test if it is not there.

    :param folder: The side folder (the ``--target`` of pip).
    :param module: The module's dotted name below ``airflow.providers``, e.g. ``dbt.cloud.hooks.dbt``.
    :param missing_message: What the failure says (it should tell the user to run ``make venv``).
    """
    if not has_provider_module(folder, module):
        pytest.fail(missing_message, pytrace=False)
    import airflow.providers

    providers = str(folder / "airflow" / "providers")
    if providers not in list(airflow.providers.__path__):
        airflow.providers.__path__.append(providers)
    return importlib.import_module(f"{PROVIDERS_PACKAGE}.{module}")
