"""Validate emulator responses against the schemas of dbt Labs' Admin API specs (v2 and v3).

The full specs live outside the repository (``DBT_CLOUD_REFERENCE``, default ``../shared/reference``
relative to the repository). The schemas the emulator's routes answer with, and every schema they refer
to, are also kept reduced (descriptions and examples dropped) in ``tests/data/emulator/openapi_schemas.json``,
so the checks run in every clone. ``python tests/testing/openapi_check.py`` rewrites that file from the
full specs.

The specs mark nothing nullable, yet the real API answers ``null`` in many fields the specs type as
strings or objects (a queued run's ``finished_at``, ``git_sha``...), so every property also accepts
``null``. Everything else is checked as written: required keys, types, enums, nested objects and arrays,
through every ``$ref``. Date-time formats are not checked.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema

REFERENCE = Path(
    os.environ.get("DBT_CLOUD_REFERENCE", Path(__file__).resolve().parents[3] / "shared" / "reference")
)
SPECS = {version: REFERENCE / "openapi" / f"dbt-cloud-{version}.yaml" for version in ("v2", "v3")}
REDUCED = Path(__file__).resolve().parents[1] / "data" / "emulator" / "openapi_schemas.json"
_DROPPED = ("description", "example", "examples")


@functools.cache
def full_specs() -> dict[str, dict[str, Any]] | None:
    """Return the parsed v2 and v3 specs, or None when the reference directory does not hold them."""
    if not all(path.exists() for path in SPECS.values()):
        return None
    import yaml

    return {version: yaml.safe_load(path.read_text()) for version, path in SPECS.items()}


@functools.cache
def reduced() -> dict[str, Any]:
    """Return the reduced schemas kept in the repository."""
    data: dict[str, Any] = json.loads(REDUCED.read_text())
    return data


def _version(path: str) -> str:
    return "v3" if path.startswith("/api/v3/") else "v2"


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


def spec_route(spec: dict[str, Any], method: str, path: str) -> tuple[str, str]:
    """Find the spec operation answering ``method path`` and the schema of its 200 response.

    :param spec: A parsed spec.
    :param method: HTTP method.
    :param path: A concrete request path, e.g. ``/api/v2/accounts/1/runs/1000/``.
    :return: ``("GET /api/v2/accounts/{account_id}/runs/{id}/", "RunResponseEnveloped")``.
    """
    for template, operations in spec["paths"].items():
        operation = operations.get(method.lower())
        if operation is not None and _template_regex(template).match(path):
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            return f"{method.upper()} {template}", ref.rsplit("/", 1)[1]
    raise AssertionError(f"the {_version(path)} spec has no {method} {path}")


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in _DROPPED or isinstance(v, dict)}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def reduce_specs(specs: dict[str, dict[str, Any]], requests: list[tuple[str, str]]) -> dict[str, Any]:
    """Build the reduced file's content: the route table and the schemas those routes reach.

    :param specs: The full v2 and v3 specs.
    :param requests: ``(method, path)`` of each request the checks make.
    :return: ``{"_about", "routes": {"GET /api/...": schema}, "schemas": {"v2": {...}, "v3": {...}}}``.
    """
    routes: dict[str, str] = {}
    wanted: dict[str, set[str]] = {"v2": set(), "v3": set()}
    for method, path in requests:
        version = _version(path)
        route, schema = spec_route(specs[version], method, path)
        routes[f"{version} {route}"] = schema
        wanted[version].add(schema)
    schemas: dict[str, dict[str, Any]] = {}
    for version, names in wanted.items():
        components = specs[version]["components"]["schemas"]
        todo, kept = set(names), {}
        while todo:
            name = todo.pop()
            kept[name] = _strip(components[name])
            todo |= _refs(components[name]) - set(kept)
        schemas[version] = dict(sorted(kept.items()))
    return {
        "_about": (
            "Schemas of dbt Labs' Admin API OpenAPI specs (dbt-cloud-v2.yaml, dbt-cloud-v3.yaml) that the "
            "emulator's routes answer with, and every schema they refer to, with descriptions and examples "
            "dropped. Written by tests/testing/openapi_check.py from the full specs; do not edit by hand."
        ),
        "routes": dict(sorted(routes.items())),
        "schemas": schemas,
    }


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if isinstance(out.get("properties"), dict):
            out["properties"] = {k: {"anyOf": [{"type": "null"}, v]} for k, v in out["properties"].items()}
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def _validator(source: str, version: str, name: str) -> jsonschema.Draft7Validator:
    if source == "full":
        specs = full_specs()
        assert specs is not None
        schemas = specs[version]["components"]["schemas"]
    else:
        schemas = reduced()["schemas"][version]
    document = {"$ref": f"#/components/schemas/{name}", "components": {"schemas": _nullable(schemas)}}
    return jsonschema.Draft7Validator(document)


def _leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    # an anyOf/oneOf error hides the real failures in its context; report those
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def violations(source: str, method: str, path: str, body: Any) -> list[str]:
    """Return how a response body breaks the schema its route answers with (empty when it is valid).

    :param source: ``full`` (the specs under ``REFERENCE``) or ``reduced`` (the repository's copy).
    :param method: HTTP method of the request.
    :param path: Its concrete path.
    :param body: The parsed JSON body.
    :return: One line per violation: the schema name, the path inside the body, the message.
    """
    version = _version(path)
    if source == "full":
        specs = full_specs()
        assert specs is not None
        _, name = spec_route(specs[version], method, path)
    else:
        routes = reduced()["routes"]
        matches = [
            schema
            for route, schema in routes.items()
            if route.split(" ")[:2] == [version, method.upper()]
            and _template_regex(route.split(" ", 2)[2]).match(path)
        ]
        assert matches, f"{method} {path} is not in {REDUCED.name}; rewrite it with openapi_check.py"
        name = matches[0]
    problems = [f"{name}: data is null"] if isinstance(body, dict) and body.get("data") is None else []
    for error in _validator(source, version, name).iter_errors(body):
        for leaf in _leaves(error):
            if leaf.validator == "type" and leaf.instance is not None and leaf.validator_value == "null":
                continue  # the null alternative every property gets; the real failure is its sibling
            problems.append(f"{name} {list(leaf.absolute_path)}: {leaf.message[:300]}")
    return problems


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from emulator_walk import walk_requests

    specs = full_specs()
    if specs is None:
        raise SystemExit(f"the specs are not under {REFERENCE / 'openapi'}; set DBT_CLOUD_REFERENCE")
    content = reduce_specs(specs, [(m, p) for m, p, _ in walk_requests()])
    REDUCED.write_text(json.dumps(content, indent=1, sort_keys=False) + "\n")
    print(f"wrote {REDUCED} ({REDUCED.stat().st_size} bytes)")
