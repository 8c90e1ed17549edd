"""Switching imports from ``airflow.providers.dbt.cloud`` to ``airflow_dbtcloud`` keeps user code working.

Every expectation here is read from the official provider itself (see ``official_reference``), so a name,
parameter, default or template field the official package has and ours lacks fails a test. The hook's
own methods are compared in ``tests/hooks/test_dbt_hook_compat.py``.
"""

from __future__ import annotations

import enum
import importlib.metadata
from typing import is_typeddict

import official_reference as ref
import pytest

HOOK = ("DbtCloudHook",)
OPERATOR_LIKE = (
    "DbtCloudRunJobOperator",
    "DbtCloudGetJobRunArtifactOperator",
    "DbtCloudListJobsOperator",
    "DbtCloudListJobRunsOperator",
    "DbtCloudJobRunSensor",
    "DbtCloudRunJobTrigger",
)


def test_official_provider_is_invisible_to_importlib_metadata():
    """The reference copy must not be discovered as an installed provider (same connection type as ours)."""
    ref.official_module("hooks.dbt")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("apache-airflow-providers-dbt-cloud")
    providers = importlib.metadata.entry_points(group="apache_airflow_provider")
    assert all("airflow.providers.dbt.cloud" not in entry.value for entry in providers)


# --- module-level names ----------------------------------------------------------------------------------


@ref.compare_each(ref.names)
def test_official_public_name_exists_with_same_kind(case):
    theirs = ref.official(case)
    assert ref.kind_of(ref.ours(case)) == ref.kind_of(theirs)


@ref.compare_each(lambda: ref.names(reexported=True))
def test_reexported_name_is_the_same_object_as_at_its_home(case):
    home = ref.module_names(case.module)[case.path]
    assert home is not None
    assert ref.ours(case) is ref.ours(ref.Case(home, case.path)), f"differs from {home}.{case.path}"


@ref.compare_each(lambda: ref.names("function", reexported=False))
def test_official_function_has_compatible_signature(case):
    ref.assert_compatible_signature(ref.official(case), ref.ours(case))


@ref.compare_each(lambda: ref.names("function", reexported=False))
def test_official_function_is_sync_or_async_alike(case):
    assert ref.call_kind(ref.ours(case)) == ref.call_kind(ref.official(case))


@ref.compare_each(lambda: ref.names("constant", reexported=False))
def test_official_constant_has_same_value(case):
    assert ref.comparable(ref.ours(case)) == ref.comparable(ref.official(case))


@ref.compare_each(lambda: ref.names("class", reexported=False))
def test_official_class_keeps_its_non_provider_bases(case):
    """``except AirflowException``, ``isinstance(hook, HttpHook)`` and the like keep matching."""
    theirs = ref.official(case)
    ours = ref.ours(case)
    bases = [base for base in theirs.__mro__ if not ref.is_provider_class(base)]
    assert [base.__qualname__ for base in bases if not issubclass(ours, base)] == []


@ref.compare_each(lambda: (c for c in ref.names("class", reexported=False) if is_typeddict(ref.official(c))))
def test_official_typed_dict_has_same_keys(case):
    theirs = ref.official(case)
    ours = ref.ours(case)
    assert is_typeddict(ours)
    assert ours.__annotations__.keys() == theirs.__annotations__.keys()


# --- classes other than the hook ---------------------------------------------------------------------------


@ref.compare_each(lambda: ref.initialisers(only=OPERATOR_LIKE))
def test_operator_sensor_and_trigger_init_accepts_official_arguments(case):
    """Same parameters, kinds, order and defaults; extras only keyword-only with defaults.

    Defaults computed from Airflow config at import (``deferrable``) are compared in this environment."""
    ref.assert_compatible_signature(ref.official(case), ref.ours(case), keyword_only=True)


@ref.compare_each(lambda: ref.initialisers(skip=HOOK + OPERATOR_LIKE))
def test_other_class_init_accepts_official_arguments(case):
    ref.assert_compatible_signature(ref.official(case), ref.ours(case))


@ref.compare_each(lambda: (c for c in ref.class_data_members(skip=HOOK) if c.member == "template_fields"))
def test_template_fields_include_official_ones(case):
    missing = set(ref.official(case)) - set(ref.ours(case))
    assert missing == set(), f"not templated here: {sorted(missing)}"


@ref.compare_each(lambda: (c for c in ref.class_data_members(skip=HOOK) if c.member != "template_fields"))
def test_class_attribute_equals_official(case):
    assert ref.comparable(ref.ours(case)) == ref.comparable(ref.official(case))


@ref.compare_each(lambda: ref.class_members(skip=HOOK))
def test_class_member_is_used_the_same_way(case):
    """A property stays a property and a method stays callable (``operator.hook``, ``trigger.run()``)."""
    theirs = ref.member_kind(case, ref.official)
    ref.ours(case)
    assert ref.member_kind(case, ref.ours) == theirs


@ref.compare_each(lambda: ref.class_callables(skip=HOOK))
def test_class_method_has_compatible_signature(case):
    ref.assert_compatible_signature(ref.official(case), ref.ours(case))


@ref.compare_each(lambda: ref.class_callables(skip=HOOK))
def test_class_method_is_sync_or_async_alike(case):
    assert ref.call_kind(ref.ours(case)) == ref.call_kind(ref.official(case))


@ref.compare_each(lambda: ref.instance_attributes(skip=HOOK))
def test_instance_attribute_set_by_init_matches_official(case):
    """``operator.job_id``, ``sensor.run_id``, ``trigger.end_time``... hold what the official ones hold."""
    arguments = ref.EXAMPLE_ARGUMENTS[case.owner]
    theirs = ref.official(ref.Case(case.module, case.owner))(**arguments)
    ours = ref.ours(ref.Case(case.module, case.owner))(**arguments)
    assert hasattr(ours, case.member), f"{case.owner} instances have no {case.member}"
    assert ref.comparable(getattr(ours, case.member)) == ref.comparable(getattr(theirs, case.member))


def test_trigger_serializes_the_official_keyword_names():
    """Airflow rebuilds a trigger as ``cls(**kwargs)``; the keyword names must be the official ones."""
    case = ref.Case("triggers.dbt", "DbtCloudRunJobTrigger")
    arguments = ref.EXAMPLE_ARGUMENTS[case.path]
    _, their_kwargs = ref.official(case)(**arguments).serialize()
    _, our_kwargs = ref.ours(case)(**arguments).serialize()
    assert sorted(our_kwargs) == sorted(their_kwargs)


def test_job_run_status_members_and_values_equal_official():
    case = ref.Case("hooks.dbt", "DbtCloudJobRunStatus")
    theirs, ours = ref.official(case), ref.ours(case)
    assert issubclass(ours, enum.Enum)
    assert {m.name: m.value for m in ours} == {m.name: m.value for m in theirs}


def test_the_signature_rule_allows_only_what_keeps_official_calls_working():
    import inspect

    def sig(fn):
        return inspect.signature(fn)

    def official(*, run_id, account_id=None): ...

    def relaxed(*, run_id=None, account_id=None, job_id=None): ...

    def other_default(*, run_id, account_id=7): ...

    def renamed(*, run, account_id=None): ...

    def extra_required(*, run_id, account_id=None, job_id): ...

    assert ref.signature_differences(sig(official), sig(relaxed), keyword_only=True) == []
    for broken in (other_default, renamed, extra_required):
        assert ref.signature_differences(sig(official), sig(broken), keyword_only=True), broken.__name__
