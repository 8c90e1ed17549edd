"""Run the official dbt Cloud provider's unit tests (4.11.1) against this package, to measure drop-in fit.

The official sdist ships its unit tests. This downloads it once into ``.official/`` (git-ignored), copies
``tests/unit`` into a fresh folder, rewrites ``airflow.providers.dbt.cloud`` to ``airflow_dbtcloud`` (imports
and patch targets), adds our ``tests_common`` stand-in (``scripts/official_tests/shim``) and runs pytest in
a subprocess with a throw-away ``AIRFLOW_HOME`` and no network. ``--against official`` runs the unchanged
tests against the official package in ``.official/venv`` as a control, which must pass all 290 items.

Tests are classified from their source: *internal* when they patch or call private names (``_paginate``)
or library internals (``HttpHook.run``, ``aiohttp.ClientSession``...), *public* otherwise. Items of a file
that fails to collect count as failures. Report: ``.official/report-<against>.json``; exit 0 iff all pass.

Usage: ``make official-tests`` or ``.venv/bin/python scripts/official_tests.py [--against official]``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
SUITE = "tests/unit/dbt/cloud/"
SHIM, CACHE = ROOT / "scripts" / "official_tests" / "shim", ROOT / ".official"
DIST, VERSION, EXPECTED_ITEMS = "apache-airflow-providers-dbt-cloud", "4.11.1", 290
PREFIXES = OFFICIAL_PREFIX, OUR_PREFIX = "airflow.providers.dbt.cloud", "airflow_dbtcloud"
TEST_PLUGINS = ("requests-mock", "time-machine")
CONTROL_REQUIREMENTS = ("apache-airflow==3.3.2", f"{DIST}[openlineage]=={VERSION}", *TEST_PLUGINS)
CONTROL_REQUIREMENTS += ("pytest", "pytest-asyncio", "aioresponses")
PYTEST_ARGS = "-p no:cacheprovider -p no:airflow_dbtcloud_emulator -p outcome_recorder -vv --tb=short"
PYTEST_ARGS += " --continue-on-collection-errors tests/unit"
#: Patch targets that reach below the public API into the libraries the official hook is built on.
LIBRARY_MARKERS = ("aiohttp.ClientSession", "requests.Session", "sync_to_async", "run_with_advanced_retry")
HTTP_HOOK_METHODS = ("run", "run_with_advanced_retry")
#: A library module patched as seen from a provider module, e.g. ``...hooks.dbt.time.sleep``.
MODULE_GLOBAL = re.compile(
    r"\.(hooks|operators|sensors|triggers|utils)\.\w+\.(time|asyncio|aiohttp|requests)\b"
)
CATEGORIES = ("all", "public", "internal")
Function = ast.FunctionDef | ast.AsyncFunctionDef


class OfficialTest(NamedTuple):
    """One test function of the official suite: how many items it yields and why it is internal, if so."""

    count: int
    reasons: list[str]


def pip(python: Path | str, *args: str) -> None:
    """Run pip of the given interpreter from the repository root (so ``-c constraints.txt`` resolves)."""
    command = [str(python), "-m", "pip", "--disable-pip-version-check", "--quiet", *args]
    subprocess.run(command, cwd=ROOT, check=True, timeout=1800)


def fetch_sdist() -> Path:
    """Return the cached official sdist, downloading it on first use."""
    folder = CACHE / "sdist"
    if not any(folder.glob(f"*-{VERSION}.tar.gz")):
        pip(sys.executable, "download", "--no-deps", "--no-binary=:all:", f"{DIST}=={VERSION}", f"-d{folder}")
    return next(folder.glob(f"*-{VERSION}.tar.gz"))


def prepare_workdir(archive: Path, workdir: Path, rewrite: bool) -> None:
    """Extract ``tests/unit`` of the sdist into an empty ``workdir`` (rewritten if asked) and add the shim."""
    shutil.rmtree(workdir, ignore_errors=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            relative = Path(*Path(member.name).parts[1:])
            if not member.isfile() or relative.parts[:2] != ("tests", "unit") or ".." in relative.parts:
                continue
            data = tar.extractfile(member).read()  # type: ignore[union-attr]
            if rewrite and relative.suffix == ".py":
                data = data.decode().replace(OFFICIAL_PREFIX, OUR_PREFIX).encode()
            (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
            (workdir / relative).write_bytes(data)
    shutil.copytree(SHIM, workdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))


def ensure_test_plugins() -> None:
    """Install requests-mock and time-machine into the project venv when it lacks them."""
    probe = [sys.executable, "-c", "import requests_mock, time_machine"]
    if subprocess.run(probe, check=False, capture_output=True).returncode:
        pip(sys.executable, "install", "-c", "constraints.txt", *TEST_PLUGINS)


def official_python(rebuild: bool) -> Path:
    """Build (again after a constraints change) the control venv; return its Python."""
    venv = CACHE / "venv"
    python, stamp = venv / "bin" / "python", venv / ".fingerprint"
    inputs = [sys.version, *CONTROL_REQUIREMENTS, (ROOT / "constraints.txt").read_text()]
    wanted = hashlib.sha256("\n".join(inputs).encode()).hexdigest()
    if rebuild:
        shutil.rmtree(venv, ignore_errors=True)
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        stamp.unlink(missing_ok=True)
        pip(python, "install", "-c", "constraints.txt", *CONTROL_REQUIREMENTS)
        stamp.write_text(wanted)
    return python


def run_pytest(python: Path, workdir: Path) -> dict:
    """Run the suite in ``workdir`` in a subprocess; return the outcome recorder's JSON."""
    results, log = workdir / "outcomes.json", workdir / "pytest.log"
    with tempfile.TemporaryDirectory(prefix="official-tests-home-") as home, log.open("w") as out:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        env.update(PYTHONPATH=str(workdir), OFFICIAL_TESTS_RESULTS=str(results))
        command = [str(python), "-m", "pytest", *PYTEST_ARGS.split()]
        subprocess.run(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=1800)
    if not results.exists():
        sys.exit(f"pytest wrote no results; see {log}:\n{log.read_text()[-3000:]}")
    print(
        f"pytest: {log.read_text().strip().splitlines()[-1].strip('= ')} (full log: {log.relative_to(ROOT)})"
    )
    return json.loads(results.read_text())


def is_private(name: str) -> bool:
    """Whether a name has a leading underscore and is not a dunder."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def target_reasons(target: str) -> list[str]:
    """Why patching ``target`` (a dotted path, or ``owner.attribute`` of ``patch.object``) is internal."""
    parts, reasons = target.split("."), []
    if any(is_private(part) for part in parts):
        reasons.append(f"patches private {target}")
    hook_method = len(parts) > 1 and parts[-1] in HTTP_HOOK_METHODS and "hook" in parts[-2].lower()
    if hook_method or MODULE_GLOBAL.search(target) or any(marker in target for marker in LIBRARY_MARKERS):
        reasons.append(f"patches library internals {target}")
    return reasons


def node_reasons(nodes: list[ast.AST], private_imports: set[str]) -> list[str]:
    """Private names used and internal patch targets anywhere in ``nodes``."""
    reasons: set[str] = set()
    for sub in (sub for node in nodes for sub in ast.walk(node)):
        if isinstance(sub, ast.Attribute) and is_private(sub.attr):
            if not (isinstance(sub.value, ast.Name) and sub.value.id in ("self", "cls")):
                reasons.add(f"uses private {sub.attr}")
        elif isinstance(sub, ast.Name) and sub.id in private_imports:
            reasons.add(f"uses private {sub.id}")
        elif isinstance(sub, ast.Call) and sub.args:
            called, first, second = ast.unparse(sub.func), sub.args[0], (sub.args[1:] or [None])[0]
            if called in ("patch", "mock.patch") and isinstance(first, ast.Constant):
                reasons.update(target_reasons(str(first.value)))
            elif called in ("patch.object", "mock.patch.object") and isinstance(second, ast.Constant):
                reasons.update(target_reasons(f"{ast.unparse(first)}.{second.value}"))
    return sorted(reasons)


def count_items(decorators: list[ast.expr], lists: dict[str, int], where: str) -> int:
    """Number of items the ``parametrize`` decorators yield (product of their argument-value counts)."""
    total = 1
    for decorator in decorators:
        if not (isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith("mark.parametrize")):
            continue
        keyword = next((k.value for k in decorator.keywords if k.arg == "argvalues"), None)
        values = decorator.args[1] if len(decorator.args) > 1 else keyword
        if isinstance(values, ast.List | ast.Tuple | ast.Set):
            total *= len(values.elts)
        elif isinstance(values, ast.Name) and values.id in lists:
            total *= lists[values.id]
        else:
            print(f"warning: cannot count the parametrize cases of {where}; counting 1", file=sys.stderr)
    return total


def scope_tables(body: list[ast.stmt]) -> tuple[dict[str, int], dict[str, Function]]:
    """Literal list lengths by name (for ``argvalues=NAME``) and fixtures by name, defined in ``body``."""
    lists = {
        target.id: len(node.value.elts)
        for node in body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List | ast.Tuple | ast.Set)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    fixtures = {
        node.name: node
        for node in body
        if isinstance(node, Function) and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    }
    return lists, fixtures


def used_fixtures(func: Function, fixtures: dict[str, Function]) -> list[ast.AST]:
    """The autouse fixtures in scope plus those ``func`` requests, followed transitively."""
    pending = [a.arg for a in func.args.args]
    pending += [name for name, fx in fixtures.items() if "autouse=True" in ast.unparse(fx.decorator_list)]
    found: dict[str, Function] = {}
    while pending:
        name = pending.pop()
        if name in fixtures and name not in found:
            found[name] = fixtures[name]
            pending += [a.arg for a in fixtures[name].args.args]
    return list(found.values())


def discover(workdir: Path) -> dict[str, OfficialTest]:
    """Every test function under ``workdir/tests``, keyed like its pytest node id without parameters.

    Class decorators and ``setup*`` methods count for every test of the class, and so do the fixtures a
    test uses (autouse or requested, from its class or module).
    """
    tests: dict[str, OfficialTest] = {}
    for path in sorted((workdir / "tests").rglob("test_*.py")):
        relative, module = path.relative_to(workdir).as_posix(), ast.parse(path.read_text(encoding="utf-8"))
        private_imports = {
            alias.asname or alias.name
            for node in module.body
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIXES)
            for alias in node.names
            if is_private(alias.name)
        }
        module_lists, module_fixtures = scope_tables(module.body)
        scopes: list[tuple[str, list[ast.stmt], list[ast.AST]]] = [(relative, module.body, [])]
        for cls in module.body:
            if isinstance(cls, ast.ClassDef) and cls.name.startswith("Test"):
                setups = [n for n in cls.body if isinstance(n, Function) and n.name.startswith("setup")]
                scopes.append((f"{relative}::{cls.name}", cls.body, [*cls.decorator_list, *setups]))
        for prefix, body, context in scopes:
            lists, fixtures = scope_tables(body)
            lists, fixtures = {**module_lists, **lists}, {**module_fixtures, **fixtures}
            class_decorators = [node for node in context if isinstance(node, ast.expr)]
            for func in (n for n in body if isinstance(n, Function) and n.name.startswith("test")):
                key = f"{prefix}::{func.name}"
                count = count_items([*class_decorators, *func.decorator_list], lists, key)
                evidence = [func, *context, *used_fixtures(func, fixtures)]
                tests[key] = OfficialTest(count, node_reasons(evidence, private_imports))
    return tests


def assemble(tests: dict[str, OfficialTest], outcomes: dict) -> list[dict]:
    """One row per test item; items that were never collected count as errors with the collection error."""
    collected: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for nodeid, result in outcomes["items"].items():
        collected[nodeid.split("[", 1)[0]].append((nodeid, result))
    rows = []
    for key in set(tests) | set(collected):
        test = tests.get(key) or OfficialTest(0, [])
        if key not in tests:
            print(f"warning: {key} was not found in the test sources; counted as public", file=sys.stderr)
        why = [message for where, message in outcomes["collect_errors"].items() if key.startswith(where)]
        missing = {"outcome": "error", "message": (why or ["not collected"])[0]}
        missing_ids = [f"{key}[uncollected-{n + 1}]" for n in range(len(collected[key]), test.count)]
        category = "internal" if test.reasons else "public"
        row = {"file": key.split("::")[0], "category": category, "reasons": test.reasons}
        rows += [{"nodeid": n, **row, **r} for n, r in collected[key] + [(m, missing) for m in missing_ids]]
    return sorted(rows, key=lambda row: row["nodeid"])


def report(rows: list[dict], against: str) -> bool:
    """Print the per-file table, the overall line and the failing public tests; True when all 290 passed."""

    def tally(subset: list[dict]) -> str:
        passed = sum(r["outcome"] == "passed" for r in subset)
        failed = sum(r["outcome"] in ("failed", "error") for r in subset)
        return f"{passed:>6} {failed:>6} {len(subset) - passed - failed:>7} {len(subset):>5}"

    print(f"\nOfficial {VERSION} unit tests against {against}\n{'':<26}", end="")
    print("  |  ".join(f"{c + ':':<9} passed failed skipped total" for c in CATEGORIES))
    for name in [*sorted({r["file"] for r in rows}), "TOTAL"]:
        subset = [r for r in rows if name in ("TOTAL", r["file"])]
        cells = [tally([r for r in subset if c in ("all", r["category"])]) for c in CATEGORIES]
        print(f"{name.removeprefix(SUITE):<26}" + "  |  ".join(f"{'':<9}{cell}" for cell in cells))
    groups = {c: [r for r in rows if c in ("all", r["category"])] for c in CATEGORIES}
    passed = {c: sum(r["outcome"] == "passed" for r in group) for c, group in groups.items()}
    sizes = {c: len(group) for c, group in groups.items()}
    print("\n" + "; ".join(f"{c}: {passed[c]} passed of {sizes[c]}" for c in ("public", "internal", "all")))
    if sizes["all"] != EXPECTED_ITEMS:
        print(f"warning: expected {EXPECTED_ITEMS} items, found {sizes['all']}", file=sys.stderr)
    failing: dict[str, Counter[str]] = defaultdict(Counter)
    for row in (r for r in rows if r["category"] == "public" and r["outcome"] != "passed"):
        shown = re.sub(r"\[uncollected-\d+\]$", " (not collected)", row["nodeid"])
        message = re.sub(r" id='\d+'| at 0x[0-9a-f]+", "", row["message"] or row["outcome"])  # group alike
        failing[message[:300]][shown.removeprefix(SUITE)] += 1
    if failing:
        print(f"\nFailing public tests ({sizes['public'] - passed['public']}), by first line of the error:")
    for message, tests in sorted(failing.items(), key=lambda item: -item[1].total()):
        print(f"\n  {message}  [{tests.total()}]")
        print("\n".join(f"    {name}" + (f"  x{n}" if n > 1 else "") for name, n in tests.items()))
    return passed["all"] == sizes["all"] == EXPECTED_ITEMS


def main(argv: list[str] | None = None) -> int:
    """Prepare the tests, run them against the chosen package and report; 0 only if all 290 pass."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--against", choices=("ours", "official"), default="ours", help="package under test")
    parser.add_argument("--rebuild", action="store_true", help="re-download the sdist and rebuild the venv")
    args = parser.parse_args(argv)
    if sys.prefix == sys.base_prefix:
        print("run this with the project's venv Python: make official-tests", file=sys.stderr)
        return 2
    if args.rebuild:
        shutil.rmtree(CACHE / "sdist", ignore_errors=True)
    official = args.against == "official"
    python = official_python(args.rebuild) if official else Path(sys.executable)
    if not official:
        ensure_test_plugins()
    workdir = CACHE / f"run-{args.against}"
    prepare_workdir(fetch_sdist(), workdir, rewrite=not official)
    rows = assemble(discover(workdir), run_pytest(python, workdir))
    target = CACHE / f"report-{args.against}.json"
    target.write_text(json.dumps({"against": args.against, "version": VERSION, "items": rows}, indent=1))
    all_passed = report(rows, "the official package (control)" if official else OUR_PREFIX)
    print(f"\nJSON report: {target.relative_to(ROOT)}")
    return 0 if all_passed else 1


if __name__ == "__main__":
    sys.exit(main())
