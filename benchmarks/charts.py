"""Charts of the benchmark results: one PNG per scenario, the official provider against ours.

``compare_official.py`` calls :func:`draw_section` for each scenario it ran. Every row that carries
numbers (``Row.values``) gets its own small horizontal axis with two bars, official and ours, because
the metrics of one scenario have different units. Each bar is labelled with the figure the summary
table shows, and each axis with the table's ratio (official / ours). Rows told in words (scenario 4's
"1 run, error reported") are not charted; a scenario without a numeric row gets no chart.

Needs matplotlib, which only the benchmark venv has (the ``bench`` extra). It draws with the Agg
backend and never opens a window or the network.

Self-check, in the benchmark venv::

    benchmarks/.venv-official/bin/python benchmarks/charts.py --self-test
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

WIDTH_IN = 9.0
DPI = 100  # 9 in x 100 dpi = 900 px wide
AXIS_HEIGHT_IN = 0.95
TITLE_HEIGHT_IN = 0.75
COLORS = {"official": "#9a9a9a", "ours": "#2f6db5"}
LABELS = {"official": "official 4.11.1", "ours": "airflow-dbtcloud"}
MISS_COLOR = "#b02a2a"  # a ratio below 1x: ours is slower, larger or more
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Units as a metric's name may spell them out ("CPU seconds per 1,000 polls").
SPELLED_UNITS = {"s": "seconds", "ms": "milliseconds", "CPU s": "CPU seconds"}


class ChartRow(Protocol):
    """What a chart needs from one summary row (``compare_official.Row`` has these fields)."""

    scenario: str
    metric: str
    official: str
    ours: str
    ratio: str
    values: tuple[float, float] | None
    unit: str


def file_name(scenario: str) -> str:
    """Name of a scenario's chart: ``scenario-N.png`` from its leading number, else a slug of its name.

    :param scenario: The scenario's title as the rows carry it, e.g. ``"1. Deferred-wait polling (...)"``.
    """
    match = re.match(r"\s*(\d+)[.)]", scenario)
    if match:
        return f"scenario-{match.group(1)}.png"
    slug = re.sub(r"[^a-z0-9]+", "-", scenario.lower()).strip("-")[:40].strip("-")
    return f"scenario-{slug or 'unnamed'}.png"


def _plain(text: str) -> str:
    """Drop markdown backticks and keep ``$`` from starting matplotlib's math mode.

    :param text: A title or metric as written for the markdown tables.
    """
    return text.replace("`", "").replace("$", r"\$")


def _axis_title(row: ChartRow) -> str:
    """The metric, with its unit in brackets unless the metric or the bars' labels already tell it.

    :param row: The charted row.
    """
    metric = _plain(row.metric)
    names = (row.unit, SPELLED_UNITS.get(row.unit, row.unit))
    told = any(re.search(rf"\b{re.escape(name)}\b", metric, re.IGNORECASE) for name in names)
    labelled = all(text.endswith(f" {row.unit}") for text in (row.official, row.ours))
    if row.unit and not told and not labelled:
        metric = f"{metric} [{row.unit}]"
    return textwrap.shorten(metric, width=72, placeholder="...")


def charted(rows: Sequence[ChartRow]) -> list[ChartRow]:
    """The rows a chart shows: those with numbers.

    :param rows: One scenario's summary rows.
    """
    return [row for row in rows if row.values is not None]


def draw_section(rows: Sequence[ChartRow], path: Path) -> bool:
    """Draw one scenario's chart into ``path`` (PNG, whatever the suffix).

    :param rows: The scenario's summary rows; the title comes from the first one.
    :param path: File to write. The caller picks the name (see :func:`file_name`) and may pass a
        temporary file to move into place later.
    :return: False, writing nothing, when no row carries numbers.
    """
    shown = charted(rows)
    if not shown:
        return False
    height = TITLE_HEIGHT_IN + AXIS_HEIGHT_IN * len(shown)
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    title = "\n".join(textwrap.wrap(_plain(shown[0].scenario), width=90)[:2])
    figure.suptitle(title, fontsize=11, fontweight="bold", x=0.01, horizontalalignment="left")
    axes = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    for ax, row in zip(axes, shown, strict=True):
        assert row.values is not None  # charted() keeps only rows with numbers
        official, ours = row.values
        right = max(official, ours, 0.0) * 1.35 or 1.0  # room for the labels after the longer bar
        ax.barh(
            [1, 0],
            [official, ours],
            height=0.7,
            color=[COLORS["official"], COLORS["ours"]],
        )
        ax.set_xlim(0, right)
        ax.set_ylim(-0.6, 1.6)
        ax.set_yticks([1, 0], [LABELS["official"], LABELS["ours"]], fontsize=9)
        ax.set_xticks([])
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
        for y, value, text in ((1, official, row.official), (0, ours, row.ours)):
            ax.text(max(value, 0.0) + right * 0.01, y, _plain(text), va="center", fontsize=9)
        ax.set_title(_axis_title(row), loc="left", fontsize=10)
        if row.ratio:
            miss = ours > official
            ax.set_title(
                f"official / ours: {row.ratio}" + (" (ours higher)" if miss else ""),
                loc="right",
                fontsize=10,
                color=MISS_COLOR if miss else "black",
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return True


def png_size(path: Path) -> tuple[int, int]:
    """Width and height in pixels from a PNG's header; raises ValueError if the file is not a PNG.

    :param path: The file to inspect.
    """
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or head[:8] != PNG_SIGNATURE or head[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def self_test() -> int:
    """Draw hand-built rows into a temporary directory and check the files; print a pytest-like tally.

    :return: 0 when every check passed, else 1.
    """
    from matplotlib.image import imread

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from compare_official import Row  # the real row type, so a change of its fields shows here

    name = "1. Deferred-wait polling (200 sequential `get_job_status`)"
    rows = [
        Row(name, "wall per poll (median)", "1.59 ms", "0.35 ms", "4.6x", (1.59, 0.35), "ms"),
        Row(name, "TCP connections per 200 polls", "200", "1", "200x", (200.0, 1.0), "connections"),
        Row(name, "failed calls", "23", "0", "n/a (ours 0)", (23.0, 0.0), "calls"),
        Row(name, "wall, with $ and retries", "0.56 s", "15.45 s", "0.04x", (0.56, 15.45), "s"),
        Row(name, "busiest minute", "0", "0", "", (0.0, 0.0), "requests"),
        Row(name, "runs per call", "2 runs, no error", "1 run, error reported", ""),
    ]
    words_only = [Row("4. Duplicate runs", "runs per call", "2 runs, no error", "1 run, error", "")]
    checks: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="bench-charts-") as scratch:
        path = Path(scratch) / file_name(name)
        drawn = draw_section(rows, path)
        checks.append(("file name from the scenario number", path.name == "scenario-1.png"))
        checks.append(("a chart is drawn for numeric rows", drawn and path.is_file()))
        try:
            width, height = png_size(path)
            image = imread(str(path))
            checks.append(("the file is a PNG about 900 px wide", 850 <= width <= 950 and height > 300))
            checks.append(("matplotlib reads it back", tuple(image.shape[:2]) == (height, width)))
        except (OSError, ValueError) as error:
            print(f"unreadable chart: {error}", file=sys.stderr)
            checks += [("the file is a PNG about 900 px wide", False), ("matplotlib reads it back", False)]
        words = Path(scratch) / "scenario-4.png"
        checks.append(("no chart for rows told in words", not draw_section(words_only, words)))
        checks.append(("nothing written for them", not words.exists()))
        slug = file_name("Extra: big run!")
        checks.append(("slug for a title without a number", slug == "scenario-extra-big-run.png"))
    for label, ok in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {label}")
    failed = sum(not ok for _, ok in checks)
    print(f"charts self-test: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Command line: only ``--self-test`` for now; compare_official.py draws the real charts.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status.
    """
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--self-test", action="store_true", help="draw sample rows and check the PNG")
    args = parser.parse_args(argv)
    if not args.self_test:
        parser.print_help()
        return 2
    return self_test()


if __name__ == "__main__":
    sys.exit(main())
