"""The official dbt Cloud provider (4.11.1) as a reference to compare our public surface against.

``make venv`` puts the official wheel into ``<venv>/official-provider`` with ``pip install --no-deps
--target``. That folder is not on ``sys.path``, so its dist-info stays invisible to ``importlib.metadata``
and Airflow never discovers it as a provider (it registers the same ``dbt_cloud`` connection type as ours).
``airflow.providers`` is a namespace package: adding ``official-provider/airflow/providers`` to its
``__path__`` is enough to import ``airflow.providers.dbt.cloud`` side by side with ``airflow_dbtcloud``
(``side_packages`` does that).

What counts as the official public surface of a module: the public names it defines (functions, classes,
constants, by top-level ``def``/``class``/assignment) and the names it imports from elsewhere in the
provider (users import ``DbtCloudHook`` from ``operators.dbt``, for instance). Names it imports from
Python, third-party libraries or Airflow itself (``Any``, ``aiohttp``, ``conf``...) are not compared.
A class's public surface is what the provider's classes in its MRO define, not what Airflow's base
classes give it.

If the folder is missing, every comparison fails (never skips) and says to run ``make venv``.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import textwrap
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
import side_packages

OFFICIAL_VERSION = "4.11.1"
OFFICIAL_PACKAGE = "airflow.providers.dbt.cloud"
OUR_PACKAGE = "airflow_dbtcloud"
MODULES = ("hooks.dbt", "operators.dbt", "sensors.dbt", "triggers.dbt", "utils.openlineage")
PROVIDER_DIR = side_packages.side_folder("official-provider")
MISSING_MESSAGE = (
    f"The official apache-airflow-providers-dbt-cloud {OFFICIAL_VERSION} is not in {PROVIDER_DIR}; "
    "run `make venv` (it installs it there with `pip install --no-deps --target`)."
)

#: Deliberate differences from the official provider: ``"test_name[case-id]"`` -> one-line reason.
#: A listed case must still fail (strict xfail), so an entry that no longer differs gets noticed.
_RETRIES = "retries are on by default here (docs/differences.md)"
DELIBERATE_DIFFERENCES: dict[str, str] = {
    "test_official_hook_init_accepts_official_arguments[hooks.dbt:DbtCloudHook.__init__]": (
        f"retry_limit and retry_delay default to None (the connection's, else 5 attempts): {_RETRIES}"
    ),
    "test_official_hook_instance_attribute_matches[hooks.dbt:DbtCloudHook.retry_args]": (
        f"retry_args holds only a user's stop/wait; the predicate stays the hook's: {_RETRIES}"
    ),
    "test_official_hook_instance_attribute_matches[hooks.dbt:DbtCloudHook.retry_delay]": _RETRIES,
    "test_official_hook_instance_attribute_matches[hooks.dbt:DbtCloudHook.retry_limit]": _RETRIES,
    "test_official_constant_has_same_value[hooks.dbt:TRIGGER_EVENT_STATUSES]": (
        "adds api_error, for transient errors that outlast the wait's error budget"
    ),
    "test_class_attribute_equals_official[operators.dbt:DbtCloudRunJobOperatorLink.name]": (
        "the link says where it goes: 'dbt Cloud Job Run'"
    ),
    "test_class_attribute_equals_official[operators.dbt:DbtCloudRunJobOperator.operator_extra_links]": (
        "adds a second link, to the job definition"
    ),
}

#: Arguments that build one instance of each official class whose instance attributes (and, for the
#: trigger, serialized keywords) we compare. Not defaults where possible, so that storage is exercised.
EXAMPLE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "DbtCloudHook": {},
    "TokenAuth": {"token": "example-token"},
    "DbtCloudRunJobOperator": {
        "task_id": "run",
        "job_id": 1,
        "account_id": 7,
        "trigger_reason": "nightly",
        "steps_override": ["dbt build"],
        "schema_override": "ci",
        "additional_run_config": {"threads_override": 4},
        "hook_params": {"retry_limit": 2},
    },
    "DbtCloudGetJobRunArtifactOperator": {
        "task_id": "artifact",
        "run_id": 1,
        "path": "manifest.json",
        "step": 2,
    },
    "DbtCloudListJobsOperator": {"task_id": "jobs", "account_id": 7, "project_id": 3, "order_by": "name"},
    "DbtCloudListJobRunsOperator": {"task_id": "runs", "job_id": 5, "latest_only": True},
    "DbtCloudJobRunSensor": {"task_id": "sensor", "run_id": 1, "account_id": 7},
    "DbtCloudRunJobTrigger": {
        "conn_id": "dbt_cloud_default",
        "run_id": 1,
        "end_time": 1_700_000_000.0,
        "poll_interval": 5.0,
        "account_id": 7,
        "hook_params": {"retry_limit": 2},
        "execution_deadline": 1_700_000_100.0,
    },
}


@dataclass(frozen=True)
class Case:
    """One thing to compare: a dotted ``path`` (``Class.member`` or a module-level name) in ``module``."""

    module: str
    path: str = ""

    def __str__(self) -> str:
        return f"{self.module}:{self.path}"

    @property
    def owner(self) -> str:
        """The class part of ``path`` (or the whole path for a module-level name)."""
        return self.path.split(".")[0]

    @property
    def member(self) -> str:
        """The last part of ``path``."""
        return self.path.rsplit(".", 1)[-1]


def official_module(module: str) -> ModuleType:
    """Import ``airflow.providers.dbt.cloud.<module>`` from the side folder; fail the test if it is absent."""
    return side_packages.import_provider_module(PROVIDER_DIR, f"dbt.cloud.{module}", MISSING_MESSAGE)


def our_module(module: str) -> ModuleType:
    """Import ``airflow_dbtcloud.<module>``; a module that does not exist fails the test clearly."""
    try:
        return importlib.import_module(f"{OUR_PACKAGE}.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and f"{OUR_PACKAGE}.{module}".startswith(exc.name):
            pytest.fail(f"{OUR_PACKAGE}.{module} does not exist ({exc})", pytrace=False)
        raise


def official(case: Case) -> Any:
    """The official object ``case`` names."""
    return functools.reduce(getattr, case.path.split("."), official_module(case.module))


def ours(case: Case) -> Any:
    """Our object at the same place; fail the test with a clear message if it is missing."""
    value: Any = our_module(case.module)
    for part in case.path.split("."):
        if not hasattr(value, part):
            pytest.fail(f"{OUR_PACKAGE}.{case.module} has no {case.path}", pytrace=False)
        value = getattr(value, part)
    return value


def compare_each(build: Callable[[], Iterable[Case]]) -> Callable[[Callable[..., Any]], Any]:
    """Parametrize a test with ``case`` over what ``build`` yields from the official package.

    When the official package is missing, the test gets one case that fails with :data:`MISSING_MESSAGE`.
    Cases listed in :data:`DELIBERATE_DIFFERENCES` are strict xfails.
    """

    def decorate(test: Callable[..., Any]) -> Any:
        try:
            found = list(build())
        except pytest.fail.Exception:

            @functools.wraps(test)
            def missing(*args: Any, **kwargs: Any) -> None:
                pytest.fail(MISSING_MESSAGE, pytrace=False)

            return pytest.mark.parametrize("case", [pytest.param(None, id="missing")])(missing)
        params = []
        for case in found:
            reason = DELIBERATE_DIFFERENCES.get(f"{test.__name__}[{case}]")
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(case, id=str(case), marks=marks))
        return pytest.mark.parametrize("case", params)(test)

    return decorate


# ---------------------------------------------------------------------------------------------------------
# What the official package offers (called at collection time)
# ---------------------------------------------------------------------------------------------------------


def module_names(module: str) -> dict[str, str | None]:
    """Public names of an official module -> the provider module they come from (None: defined here)."""
    names: dict[str, str | None] = {}
    for node in ast.parse(inspect.getsource(official_module(module))).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = None
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update((target.id, None) for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{OFFICIAL_PACKAGE}."):
            home = (node.module or "").removeprefix(f"{OFFICIAL_PACKAGE}.")
            names.update((alias.asname or alias.name, home) for alias in node.names)
    return {name: home for name, home in names.items() if not name.startswith("_")}


def names(kind: str | None = None, *, reexported: bool | None = None) -> Iterator[Case]:
    """Module-level names of every official module, optionally of one kind (``class``, ``function``,
    ``constant``) and only those defined there (``reexported=False``) or imported (``True``)."""
    for module in MODULES:
        for name, home in module_names(module).items():
            if reexported is not None and reexported != (home is not None):
                continue
            if kind is None or kind_of(getattr(official_module(module), name)) == kind:
                yield Case(module, name)


def is_provider_class(cls: type) -> bool:
    """Whether a class belongs to the official provider (not to Python, a library or Airflow)."""
    return cls.__module__.startswith(OFFICIAL_PACKAGE)


def class_members(*, only: Iterable[str] = (), skip: Iterable[str] = ()) -> Iterator[Case]:
    """Public members the provider's classes define for each official class (not enum members)."""
    for case in names("class", reexported=False):
        if (only and case.path not in only) or case.path in skip:
            continue
        cls = official(case)
        members = {n for klass in cls.__mro__ if is_provider_class(klass) for n in vars(klass)}
        for name in sorted(n for n in members if not n.startswith("_")):
            if not isinstance(getattr(cls, name), enum.Enum):
                yield Case(case.module, f"{case.path}.{name}")


def class_data_members(**selection: Iterable[str]) -> Iterator[Case]:
    """The class members that hold data (``conn_type``, ``template_fields``...), not methods or properties."""
    yield from (case for case in class_members(**selection) if member_kind(case, official) == "attribute")


def class_callables(**selection: Iterable[str]) -> Iterator[Case]:
    """The class members one calls (methods, class and static methods)."""
    yield from (case for case in class_members(**selection) if member_kind(case, official) == "callable")


def initialisers(*, only: Iterable[str] = (), skip: Iterable[str] = ()) -> Iterator[Case]:
    """``Class.__init__`` for each official class whose provider code defines its own ``__init__``."""
    for case in names("class", reexported=False):
        if (only and case.path not in only) or case.path in skip:
            continue
        if any("__init__" in vars(k) for k in official(case).__mro__ if is_provider_class(k)):
            yield Case(case.module, f"{case.path}.__init__")


def instance_attributes(*, only: Iterable[str] = (), skip: Iterable[str] = ()) -> Iterator[Case]:
    """``Class.attribute`` for each public ``self.attribute`` the official ``__init__`` assigns."""
    for case in names("class", reexported=False):
        if case.path not in EXAMPLE_ARGUMENTS or (only and case.path not in only) or case.path in skip:
            continue
        source = textwrap.dedent(inspect.getsource(official(case).__init__))
        assigned = {
            target.attr
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        }
        yield from (Case(case.module, f"{case.path}.{attr}") for attr in sorted(assigned) if attr[0] != "_")


# ---------------------------------------------------------------------------------------------------------
# How two objects are compared
# ---------------------------------------------------------------------------------------------------------


def kind_of(value: Any) -> str:
    """``class``, ``function`` or ``constant``."""
    if inspect.isclass(value):
        return "class"
    return "function" if callable(value) else "constant"


def member_kind(case: Case, side: Callable[[Case], Any]) -> str:
    """How a class member is used: ``property``, ``callable`` or ``attribute`` (class-level data)."""
    raw = inspect.getattr_static(side(Case(case.module, case.owner)), case.member)
    if isinstance(raw, property | functools.cached_property):
        return "property"
    return "callable" if callable(raw) or isinstance(raw, staticmethod | classmethod) else "attribute"


def call_kind(function: Any) -> str:
    """``async generator``, ``coroutine`` or ``sync``, judged on the decorated function as well (the official
    ``get_job_run_artifacts_concurrently`` is an ``async def`` behind a plain decorator, and is awaited)."""
    candidates = (function, inspect.unwrap(function))
    if any(inspect.isasyncgenfunction(candidate) for candidate in candidates):
        return "async generator"
    return "coroutine" if any(inspect.iscoroutinefunction(candidate) for candidate in candidates) else "sync"


def comparable(value: Any) -> Any:
    """A form of ``value`` that compares by content across the two packages.

    Containers are converted item by item; enum members become their class name and value; type
    variables their name and bound; functions their name; instances of provider classes, or of classes
    without their own ``__eq__``, their class name; provider classes their name.
    """
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(comparable(item) for item in value)
    if isinstance(value, enum.Enum):
        return (type(value).__name__, value.value)
    if isinstance(value, typing.TypeVar):
        return ("TypeVar", value.__name__, value.__bound__)
    if inspect.isfunction(value) or inspect.ismethod(value):
        return f"<function {value.__name__}>"
    providers = (OFFICIAL_PACKAGE, OUR_PACKAGE)
    if inspect.isclass(value):
        return f"<class {value.__name__}>" if value.__module__.startswith(providers) else value
    if type(value).__module__ != "builtins" and (
        type(value).__eq__ is object.__eq__ or type(value).__module__.startswith(providers)
    ):
        return f"<{type(value).__name__} instance>"
    return value


def _same_default(theirs: Any, ours: Any) -> bool:
    try:
        return bool(comparable(theirs) == comparable(ours))
    except Exception:
        return False


def signature_differences(
    theirs: inspect.Signature, ours: inspect.Signature, *, keyword_only: bool
) -> list[str]:
    """Ways our signature breaks calls written for theirs.

    Shared parameters must have the same names, kinds, order and defaults, except that one theirs
    requires may have a default here (a call written for theirs always passes it). We may add parameters
    after theirs if they have defaults: keyword-only ones when ``keyword_only``, else keyword-capable ones.
    A trailing ``**kwargs`` is set aside first, so extras may sit before it.
    """

    def split(sig: inspect.Signature) -> tuple[list[inspect.Parameter], bool]:
        params = list(sig.parameters.values())
        has_var_keyword = bool(params) and params[-1].kind is inspect.Parameter.VAR_KEYWORD
        return (params[:-1] if has_var_keyword else params), has_var_keyword

    (their_params, their_kwargs), (our_params, our_kwargs) = split(theirs), split(ours)
    problems = []
    for their, our in zip(their_params, our_params, strict=False):
        required_there = their.default is inspect.Parameter.empty
        if (their.name, their.kind) != (our.name, our.kind) or not (
            required_there or _same_default(their.default, our.default)
        ):
            problems.append(
                f"official {their} ({their.kind.description}) but ours {our} ({our.kind.description})"
            )
    problems += [f"official {p} is missing" for p in their_params[len(our_params) :]]
    allowed = {inspect.Parameter.KEYWORD_ONLY} | (
        set() if keyword_only else {inspect.Parameter.POSITIONAL_OR_KEYWORD}
    )
    for extra in our_params[len(their_params) :]:
        if extra.default is inspect.Parameter.empty or extra.kind not in allowed:
            need = "keyword-only" if keyword_only else "keyword"
            problems.append(
                f"our extra {extra} ({extra.kind.description}) is not a {need} parameter with a default"
            )
    if their_kwargs and not our_kwargs:
        problems.append("official accepts **kwargs but ours does not")
    return problems


def assert_compatible_signature(theirs: Any, ours: Any, *, keyword_only: bool = False) -> None:
    """Fail, listing every difference, unless calls written for ``theirs`` also work on ``ours``."""
    problems = signature_differences(
        inspect.signature(theirs), inspect.signature(ours), keyword_only=keyword_only
    )
    assert not problems, "; ".join(problems)
