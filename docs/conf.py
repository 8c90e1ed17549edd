"""Sphinx configuration of the airflow-dbtcloud docs site (``make docs``; ``make docs-check`` in the tests).

The API reference is generated from the code by sphinx-autoapi, which reads the source without
importing it, so the build needs neither Airflow's metadata database nor any network. The Markdown
pages are read by MyST. Nothing here fetches anything: no intersphinx, and the theme (furo) ships its
assets in its wheel.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

import airflow_dbtcloud

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent

project = "airflow-dbtcloud"
author = "airflow-dbtcloud developers"
copyright = "airflow-dbtcloud developers"
release = airflow_dbtcloud.__version__
version = release

extensions = [
    "myst_parser",
    "autoapi.extension",
]

# autoapi writes its pages as .rst (the first suffix it finds here), the hand-written pages are .md.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# -- MyST ---------------------------------------------------------------------------------------------
# Headings up to ### get anchors, so pages can link to a section as `page.md#section`.
myst_heading_anchors = 3

# -- API reference (sphinx-autoapi) -------------------------------------------------------------------
autoapi_type = "python"
autoapi_dirs = ["../airflow_dbtcloud"]
autoapi_root = "api"
autoapi_add_toctree_entry = False  # index.md places the reference in its own toctree
autoapi_keep_files = False
# autoapi still reads the private modules (`_transport`, `_provider_info`), so the public modules' imports
# from them resolve, but without "private-members" it writes no page for them. The UI's static files are
# not Python.
autoapi_ignore = ["*/ui/static/*"]
# No "imported-members": a name that a package re-exports in `__all__` is documented once, where it is
# defined, instead of twice (which would make short cross-references ambiguous). The exception is a name
# defined in a private module and re-exported by a public one (the error tree in `_transport/errors.py`,
# public as `airflow_dbtcloud.hooks.dbt.DbtCloudApiError` ...): `_show_private_origin` documents it there.
autoapi_options = [
    "members",
    "undoc-members",
    "show-inheritance",
    "show-module-summary",
    "special-members",
]
autoapi_python_class_content = "both"
autoapi_member_order = "groupwise"


# -- HTML -----------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"airflow-dbtcloud {release}"
html_static_path: list[str] = []


# -- Links from a page to files outside docs/ ------------------------------------------------------------
# The pages link to the rest of the repository relatively (`[the full report](../benchmarks/results.md)`),
# which works where the Markdown is read in the repository. The site holds only docs/, so there such a
# link becomes its text and the file's path in the repository, and nothing of it is lost.
_LINK_OUT = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>\.\./[^)\s]+)\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _outside_link(match: re.Match[str], docname: str) -> str:
    target = match["target"]
    path, _, anchor = target.partition("#")
    in_repo = posixpath.normpath(posixpath.join(posixpath.dirname(docname), path))
    if in_repo.startswith("docs/") or not (REPO / in_repo).exists():
        return match[0]  # a page of the site, or a typo that Sphinx should still report
    shown = f"`{in_repo}#{anchor}`" if anchor else f"`{in_repo}`"
    if match["text"].strip("`") == in_repo:
        return shown
    return f"{match['text']} ({shown})"


def _rewrite_outside_links(app: Any, docname: str, source: list[str]) -> None:
    if not str(app.env.doc2path(docname)).endswith(".md"):
        return
    lines, fenced = [], False
    for line in source[0].splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            line = _LINK_OUT.sub(lambda m: _outside_link(m, f"docs/{docname}"), line)
        lines.append(line)
    source[0] = "".join(lines)


# -- Public names defined in private modules -------------------------------------------------------------
def _is_private_path(dotted: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))


def _show_private_origin(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    """Document a name that a public module re-exports in its ``__all__`` from a private module."""
    if not (skip and obj.imported) or obj.obj.get("hide", False) or _is_private_path(name):
        return None
    origin = obj.obj["original_path"]
    return False if _is_private_path(origin.rpartition(".")[0]) else None


def setup(app: Any) -> None:
    app.connect("source-read", _rewrite_outside_links)
    app.connect("autoapi-skip-member", _show_private_origin)
