"""The hook as operator, sensor and trigger modules see it while a DAG file is parsed: not imported yet.

Importing :mod:`airflow_dbtcloud.hooks.dbt` imports ``HttpHook``, ``requests`` and ``aiohttp``, which
only a running task needs. A glue module therefore serves the hook module's names it re-exports through
:func:`hook_names` (a PEP 562 module ``__getattr__``) and builds its hook with :func:`hook_class`, which
looks the class up through that module at call time: ``mock.patch("<glue module>.DbtCloudHook")`` is
then what the module uses, as when it imported the class at the top.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_dbtcloud.hooks.dbt import DbtCloudHook

__all__ = ["DEFAULT_CONN_NAME", "hook_class", "hook_names"]

#: ``DbtCloudHook.default_conn_name``, for the operators' signatures.
DEFAULT_CONN_NAME = "dbt_cloud_default"

_HOOK_MODULE = "airflow_dbtcloud.hooks.dbt"


def hook_names(module_name: str, *names: str) -> Callable[[str], Any]:
    """Return a module ``__getattr__`` that serves ``names`` of the hook module to ``module_name``.

    The first access imports the hook module and stores the object in the module's globals, so later
    lookups find it there like any imported name.

    :param module_name: The ``__name__`` of the module the function is for.
    :param names: The names to serve, e.g. ``"DbtCloudHook"``.
    """
    served = frozenset(names)

    def __getattr__(name: str) -> Any:
        if name not in served:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(_HOOK_MODULE), name)
        setattr(sys.modules[module_name], name, value)
        return value

    return __getattr__


def hook_class(module_name: str) -> type[DbtCloudHook]:
    """Return the ``DbtCloudHook`` that module ``module_name`` holds now: a test's patch if there is one.

    :param module_name: The ``__name__`` of the asking module, which serves ``DbtCloudHook``.
    """
    cls: type[DbtCloudHook] = sys.modules[module_name].DbtCloudHook
    return cls
