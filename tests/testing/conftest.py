"""Fixtures shared by the emulator tests: an API client and schema checks.

Artifacts are checked against the reduced schemas in ``tests/data/emulator`` and, when the directory named
by ``DBT_ARTIFACT_SCHEMAS`` (default: the shared reference copy) holds them, against dbt Labs' published
manifest v12, run-results v6 and catalog v1 schemas, each manifest node against the node type its
``resource_type`` names.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from emulator_client import Client
from openapi_check import REFERENCE

from airflow_dbtcloud.testing import Emulator

ARTIFACT_SCHEMAS = Path(os.environ.get("DBT_ARTIFACT_SCHEMAS", REFERENCE / "artifact-schemas"))
OPENAPI_V3 = REFERENCE / "openapi" / "dbt-cloud-v3.yaml"
_REDUCED = json.loads((Path(__file__).parents[1] / "data" / "emulator" / "artifact_schemas.json").read_text())
_FILES = {"manifest": "manifest-v12.json", "run_results": "run-results-v6.json", "catalog": "catalog-v1.json"}
_NODE_TITLES = {"model": "Model", "seed": "Seed", "snapshot": "Snapshot", "test": "GenericTest"}


@functools.cache
def _published(kind: str) -> dict[str, Any] | None:
    path = ARTIFACT_SCHEMAS / _FILES[kind]
    return json.loads(path.read_text()) if path.exists() else None


def _errors(schema: dict[str, Any], doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def check_artifact(doc: dict[str, Any], kind: str) -> None:
    """Assert ``doc`` is a valid artifact.

    :param doc: The parsed file.
    :param kind: ``manifest``, ``run_results`` or ``catalog``.
    """
    jsonschema.validate(doc, _REDUCED[kind])
    schema = _published(kind)
    if schema is None:
        return
    errors = _errors(schema, doc)
    if kind == "manifest":
        types = {alt["title"]: alt for alt in schema["properties"]["nodes"]["additionalProperties"]["anyOf"]}
        for uid, node in doc["nodes"].items():
            errors += [f"{uid} {e}" for e in _errors(types[_NODE_TITLES[node["resource_type"]]], node)]
    assert not errors, errors[:5]


@pytest.fixture(scope="session")
def artifact_check() -> Callable[[dict[str, Any], str], None]:
    """The artifact checker, as a fixture."""
    return check_artifact


@functools.cache
def _openapi_components() -> dict[str, Any] | None:
    if not OPENAPI_V3.exists():
        return None
    import yaml

    return yaml.safe_load(OPENAPI_V3.read_text())["components"]


def check_component(obj: dict[str, Any], name: str, extra: frozenset[str] = frozenset()) -> None:
    """Assert ``obj`` matches the v3 spec's component ``name``: valid, no write-only field, no other key
    than the component's and ``extra``. Does nothing when the spec is not available.

    :param obj: The payload object.
    :param name: A schema name under ``components.schemas``, e.g. ``SnowflakeConnection``.
    :param extra: Keys the emulator adds on purpose.
    """
    components = _openapi_components()
    if components is None:
        return
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(obj)]
    assert not errors, (name, errors[:5])
    props = components["schemas"][name].get("properties", {})
    write_only = {k for k, v in props.items() if v.get("writeOnly") or v.get("format") == "password"}
    assert not write_only & set(obj), (name, write_only & set(obj))
    unknown = set(obj) - set(props) - extra
    assert not unknown, (name, unknown)


@pytest.fixture(scope="session")
def component_check() -> Callable[..., None]:
    """The v3 component checker, as a fixture."""
    return check_component


@pytest.fixture
def client(dbt_cloud_emulator: Emulator) -> Client:
    """A :class:`Client` on the (reset) session emulator.

    :param dbt_cloud_emulator: The plugin's per-test emulator.
    """
    return Client(dbt_cloud_emulator)
