"""Run the benchmarks: build (once) a venv with the official provider, then compare both hooks in it.

The official ``apache-airflow-providers-dbt-cloud`` registers the same ``dbt_cloud`` connection type as
this provider, so it must never be installed into the project's ``.venv``. This script keeps it in
``benchmarks/.venv-official`` (git-ignored), built with the project's pinned constraints plus this
provider installed editable with its ``emulator`` and ``bench`` (matplotlib, for the charts) extras, and
runs ``benchmarks/compare_official.py`` with that venv's Python.

The venv is rebuilt only when ``constraints.txt``, ``pyproject.toml`` or
``benchmarks/requirements-official.txt`` change (or with ``--rebuild``).

Usage: ``make bench`` or ``python benchmarks/run.py [--rebuild] [compare_official.py options]``,
e.g. ``python benchmarks/run.py --scenarios 1,4 --repeats 3``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
VENV_DIR = BENCH_DIR / ".venv-official"
REQUIREMENTS = BENCH_DIR / "requirements-official.txt"
STAMP = VENV_DIR / ".bench-fingerprint"

#: Inputs whose change means the official venv must be reinstalled.
FINGERPRINT_FILES = (REPO_ROOT / "constraints.txt", REPO_ROOT / "pyproject.toml", REQUIREMENTS)

INSTALL_TIMEOUT = 1800  # seconds; a cold install downloads Airflow and its dependencies
BENCH_TIMEOUT = 2400  # seconds; a full run takes 10 to 15 minutes on 2 cores


def venv_python(venv_dir: Path = VENV_DIR) -> Path:
    """Return the Python interpreter of a venv.

    :param venv_dir: The venv's directory.
    """
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def fingerprint() -> str:
    """Hash what the official venv is built from: the pinned inputs and this interpreter's version."""
    digest = hashlib.sha256(sys.version.encode())
    for path in FINGERPRINT_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_official_venv(rebuild: bool = False) -> Path:
    """Create or update ``benchmarks/.venv-official`` when needed and return its Python.

    :param rebuild: Delete and recreate the venv even if it is up to date.
    :return: Path of the venv's interpreter.
    """
    python = venv_python()
    if rebuild and VENV_DIR.exists():
        shutil.rmtree(VENV_DIR)
    expected = fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == expected:
        return python
    if not python.exists():
        print(f"creating {VENV_DIR.relative_to(REPO_ROOT)} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV_DIR)], check=True, timeout=300)
    print("installing the official provider and this project into it ...", file=sys.stderr, flush=True)
    STAMP.unlink(missing_ok=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            "constraints.txt",
            "-r",
            str(REQUIREMENTS.relative_to(REPO_ROOT)),
            "-e",
            ".[emulator,bench]",
        ],
        cwd=REPO_ROOT,
        check=True,
        timeout=INSTALL_TIMEOUT,
    )
    STAMP.write_text(expected + "\n")
    return python


def main(argv: list[str] | None = None) -> int:
    """Build the official venv if needed, then run ``compare_official.py`` in it.

    :param argv: Arguments (default: ``sys.argv[1:]``); unknown ones are passed to compare_official.py.
    :return: The benchmark's exit status.
    """
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Other options go to compare_official.py (see its --help).",
    )
    parser.add_argument("--rebuild", action="store_true", help="recreate benchmarks/.venv-official")
    parser.add_argument(
        "--build-only", action="store_true", help="build benchmarks/.venv-official if needed, run nothing"
    )
    args, rest = parser.parse_known_args(argv)
    python = ensure_official_venv(args.rebuild)
    if args.build_only:
        return 0
    invoked = shlex.join([os.path.relpath(sys.executable, REPO_ROOT), *sys.argv])
    command = [
        str(python),
        str(BENCH_DIR / "compare_official.py"),
        "--invoked-as",
        invoked,
        *rest,
    ]
    try:
        return subprocess.run(command, cwd=REPO_ROOT, timeout=BENCH_TIMEOUT, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"benchmark did not finish within {BENCH_TIMEOUT}s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
