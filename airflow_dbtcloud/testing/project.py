"""The jaffle_shop-like dbt project every emulated run builds: nodes, DAG and node selection.

The base project has 3 seeds, 1 snapshot, 8 models (one with an alias) and 6 data tests. For benchmarks,
:func:`project_for` adds N generated models (and tests on every fifth one) to it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field

PROJECT = "jaffle_shop"
MAX_SYNTHETIC_MODELS = 100_000
_SYNTH = "synth_model_"


@dataclass(frozen=True, slots=True)
class Node:
    """One seed, snapshot, model or data test of the emulated project.

    :param unique_id: dbt unique id, e.g. ``model.jaffle_shop.orders``.
    :param resource_type: ``seed``, ``snapshot``, ``model`` or ``test``.
    :param name: Node name.
    :param parents: Unique ids this node depends on.
    :param columns: Column name -> data type (models, seeds and snapshots).
    :param tags: dbt tags.
    :param materialized: Materialization (``view``, ``table``, ``seed``, ``snapshot``, ``test``).
    :param test: For tests: ``(test name, column, attached model name)``.
    :param raw_code: The node's SQL as written, refs included.
    :param alias: The relation name when it differs from ``name``.
    :param snapshot: For snapshots: ``(strategy, unique_key, check_cols)``.
    """

    unique_id: str
    resource_type: str
    name: str
    parents: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    materialized: str = "view"
    test: tuple[str, str, str] | None = None
    raw_code: str = field(default="", compare=False)
    alias: str | None = None
    snapshot: tuple[str, str, tuple[str, ...]] | None = None

    @property
    def identifier(self) -> str:
        """The name of the node's relation in the warehouse: its alias, else its name."""
        return self.alias or self.name

    @property
    def path(self) -> str:
        """Path of the node's file relative to its resource folder."""
        if self.resource_type == "seed":
            return f"{self.name}.csv"
        if self.resource_type in ("test", "snapshot"):
            return f"{self.name}.sql"
        folder = "staging/" if self.name.startswith("stg_") else "synthetic/" if _SYNTH in self.name else ""
        return f"{folder}{self.name}.sql"

    @property
    def original_file_path(self) -> str:
        """Path of the node's file relative to the project root."""
        if self.resource_type == "test":
            return "models/schema.yml"
        folder = {"seed": "seeds", "snapshot": "snapshots"}.get(self.resource_type, "models")
        return f"{folder}/{self.path}"

    @property
    def fqn(self) -> list[str]:
        """dbt's fully qualified name (a SQL snapshot's file name is part of it)."""
        parts = self.path.removesuffix(".sql").removesuffix(".csv").split("/")
        return [PROJECT, *parts, self.name] if self.resource_type == "snapshot" else [PROJECT, *parts]

    @property
    def attached_node(self) -> str | None:
        """For a data test, the unique id of the model it tests."""
        return f"model.{PROJECT}.{self.test[2]}" if self.test is not None else None

    @property
    def checksum(self) -> str:
        """Stable sha256 of the node's definition."""
        return hashlib.sha256(f"{self.unique_id}:{self.raw_code}".encode()).hexdigest()


def _refs(parents: tuple[str, ...]) -> str:
    return " join ".join(f"{{{{ ref('{p.rsplit('.', 1)[1]}') }}}}" for p in parents)


def _seed(name: str, cols: tuple[tuple[str, str], ...]) -> Node:
    return Node(f"seed.{PROJECT}.{name}", "seed", name, columns=cols, materialized="seed")


def _model(
    name: str,
    parents: tuple[str, ...],
    cols: tuple[tuple[str, str], ...],
    materialized: str = "view",
    tags: tuple[str, ...] = (),
    alias: str | None = None,
) -> Node:
    code = f"select * from {_refs(parents)}"  # noqa: S608 - Jinja text, never executed
    return Node(
        f"model.{PROJECT}.{name}", "model", name, parents, cols, tags, materialized, None, code, alias
    )


def _test(kind: str, model: str, column: str) -> Node:
    name = f"{kind}_{model}_{column}"
    return Node(
        f"test.{PROJECT}.{name}.{hashlib.md5(name.encode()).hexdigest()[:10]}",  # noqa: S324 - id suffix only
        "test",
        name,
        parents=(f"model.{PROJECT}.{model}",),
        materialized="test",
        test=(kind, column, model),
        raw_code=f"{{{{ test_{kind}(**_dbt_generic_test_kwargs) }}}}",
    )


_ID = (("id", "integer"),)
_M = f"model.{PROJECT}."
_S = f"seed.{PROJECT}."
_ORDER_COLS = (*_ID, ("user_id", "integer"), ("order_date", "date"), ("status", "text"))
_SCD_COLS = (("dbt_scd_id", "text"), ("dbt_updated_at", "timestamp"), ("dbt_valid_from", "timestamp"))

BASE_NODES: tuple[Node, ...] = (
    _seed("raw_customers", (*_ID, ("first_name", "text"), ("last_name", "text"))),
    _seed("raw_orders", _ORDER_COLS),
    _seed("raw_payments", (*_ID, ("order_id", "integer"), ("payment_method", "text"), ("amount", "integer"))),
    Node(
        f"snapshot.{PROJECT}.orders_snapshot",
        "snapshot",
        "orders_snapshot",
        parents=(_S + "raw_orders",),
        columns=(*_ORDER_COLS, *_SCD_COLS, ("dbt_valid_to", "timestamp")),
        materialized="snapshot",
        raw_code=f"select * from {_refs((_S + 'raw_orders',))}",  # noqa: S608 - Jinja text
        snapshot=("check", "id", ("status",)),
    ),
    _model("stg_customers", (_S + "raw_customers",), (("customer_id", "integer"), ("first_name", "text"))),
    _model("stg_orders", (_S + "raw_orders",), (("order_id", "integer"), ("customer_id", "integer"))),
    _model("stg_payments", (_S + "raw_payments",), (("payment_id", "integer"), ("amount", "numeric"))),
    _model(
        "customers",
        (_M + "stg_customers", _M + "stg_orders", _M + "stg_payments"),
        (("customer_id", "integer"), ("number_of_orders", "bigint"), ("lifetime_value", "numeric")),
        "table",
    ),
    _model(
        "orders",
        (_M + "stg_orders", _M + "stg_payments"),
        (("order_id", "integer"), ("customer_id", "integer"), ("amount", "numeric")),
        "table",
    ),
    _model(
        "customer_lifetime_value",
        (_M + "customers", _M + "orders"),
        (("customer_id", "integer"), ("lifetime_value", "numeric")),
        "table",
    ),
    _model(
        "daily_revenue",
        (_M + "orders",),
        (("order_date", "date"), ("revenue", "numeric")),
        "table",
        ("hourly",),
        alias="revenue_by_day",
    ),
    _model(
        "order_status_counts",
        (_M + "stg_orders",),
        (("status", "text"), ("orders", "bigint")),
        "view",
        ("hourly",),
    ),
    _test("unique", "customers", "customer_id"),
    _test("not_null", "customers", "customer_id"),
    _test("unique", "orders", "order_id"),
    _test("not_null", "orders", "order_id"),
    _test("not_null", "stg_payments", "payment_id"),
    _test("not_null", "daily_revenue", "order_date"),
)


def _synthetic(count: int) -> list[Node]:
    # A binary tree hanging off `orders`: model i reads model (i - 1) // 2, so the DAG stays shallow.
    out: list[Node] = []
    for i in range(count):
        name = f"{_SYNTH}{i:06d}"
        parent = _M + ("orders" if i == 0 else f"{_SYNTH}{(i - 1) // 2:06d}")
        out.append(
            _model(
                name, (parent,), (*_ID, ("value", "numeric")), "table" if i % 3 else "view", ("synthetic",)
            )
        )
        if i % 5 == 0:
            out.extend((_test("unique", name, "id"), _test("not_null", name, "id")))
    return out


_COMMAND_TYPES = {
    "build": ("seed", "snapshot", "model", "test"),
    "run": ("model",),
    "test": ("test",),
    "seed": ("seed",),
    "snapshot": ("snapshot",),
}
_REF = re.compile(r"\{\{ ref\('([^']+)'\) \}\}")


class Project:
    """An immutable dbt project: its nodes in execution order and its DAG.

    :param nodes: Every node, parents before children.
    :param synthetic_models: How many of the models were generated (0 for the base project).
    """

    def __init__(self, nodes: tuple[Node, ...], synthetic_models: int = 0) -> None:
        self.nodes = nodes
        self.synthetic_models = synthetic_models
        self.by_id: dict[str, Node] = {n.unique_id: n for n in nodes}
        self.by_name: dict[str, str] = {n.name: n.unique_id for n in nodes}
        self.children: dict[str, list[str]] = {n.unique_id: [] for n in nodes}
        for node in nodes:
            for parent in node.parents:
                self.children[parent].append(node.unique_id)
        self._selections: dict[str, tuple[str, ...]] = {}
        self._counts = Counter(n.resource_type for n in nodes)

    def count(self, resource_type: str) -> int:
        """Return how many nodes of ``resource_type`` the project has.

        :param resource_type: ``model``, ``seed``, ``snapshot`` or ``test``.
        """
        return self._counts[resource_type]

    def descendants(self, unique_ids: set[str]) -> set[str]:
        """Return every node downstream of ``unique_ids`` (not including them).

        :param unique_ids: Starting nodes.
        """
        out: set[str] = set()
        stack = [c for u in unique_ids for c in self.children.get(u, [])]
        while stack:
            cur = stack.pop()
            if cur not in out:
                out.add(cur)
                stack.extend(self.children.get(cur, []))
        return out

    def blocked_by_tests(self, tests: set[str]) -> set[str]:
        """Return what ``dbt build`` skips when ``tests`` fail: everything downstream of the tested nodes
        except the other tests on those nodes.

        :param tests: Unique ids of failed tests.
        """
        out: set[str] = set()
        for test in tests:
            for tested in self.by_id[test].parents:
                below = [c for c in self.children[tested] if self.by_id[c].resource_type != "test"]
                out |= set(below) | self.descendants(set(below))
        return out

    def resolve(self, refs: list[str] | set[str]) -> set[str]:
        """Turn node references into unique ids: a unique id stays as it is, a node name becomes its id.

        :param refs: Unique ids or node names (``orders``, ``unique_orders_order_id``).
        """
        return {ref if ref in self.by_id else self.by_name.get(ref, ref) for ref in refs}

    def relation_refs(self, raw_code: str) -> list[tuple[str, Node]]:
        """Return each ``{{ ref('...') }}`` in ``raw_code`` with the node it names.

        :param raw_code: A node's SQL.
        """
        return [(m.group(0), self.by_id[self.by_name[m.group(1)]]) for m in _REF.finditer(raw_code)]

    def _ancestors(self, uid: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.by_id[uid].parents)
        while stack:
            cur = stack.pop()
            if cur not in out:
                out.add(cur)
                stack.extend(self.by_id[cur].parents)
        return out

    def _match(self, selector: str) -> set[str]:
        up, down = selector.startswith("+"), selector.endswith("+")
        core = selector.strip("+")
        if core.startswith("tag:"):
            base = {n.unique_id for n in self.nodes if core[4:] in n.tags}
        else:
            base = {n.unique_id for n in self.nodes if core in (n.name, n.unique_id)}
        out = set(base)
        for uid in base:
            if up:
                out |= self._ancestors(uid)
            if down:
                out |= self.descendants({uid})
        return out

    def select(self, command: str) -> list[str]:
        """Return, in execution order, the unique ids a dbt command executes.

        Supports ``build``, ``run``, ``test``, ``seed`` and ``snapshot`` with ``--select``/``-s`` and
        ``--exclude`` using node names, ``tag:`` and ``+`` graph operators; other commands (``docs
        generate``, ``deps``, ``compile``...) execute no nodes.

        :param command: e.g. ``dbt run --select tag:hourly``.
        :return: Selected unique ids in topological order.
        """
        cached = self._selections.get(command)
        if cached is None:
            if len(self._selections) > 256:
                self._selections.clear()
            cached = self._selections[command] = tuple(self._select(command))
        return list(cached)

    def _select(self, command: str) -> list[str]:
        parts = shlex.split(command)[1:]
        if not parts or parts[0] not in _COMMAND_TYPES:
            return []
        types = _COMMAND_TYPES[parts[0]]
        selected: set[str] | None = None
        excluded: set[str] = set()
        mode = ""
        for part in parts[1:]:
            if part in ("--select", "-s", "--models", "-m", "--exclude"):
                mode = part
                continue
            if part.startswith("-"):
                mode = ""
                continue
            if mode == "--exclude":
                excluded |= self._match(part)
            elif mode:
                selected = (selected or set()) | self._match(part)
        if selected is not None:
            # a test is selected together with the model it tests, as dbt's indirect selection does
            selected |= {u for u in self.descendants(selected) if self.by_id[u].resource_type == "test"}
        return [
            n.unique_id
            for n in self.nodes
            if n.resource_type in types
            and (selected is None or n.unique_id in selected)
            and n.unique_id not in excluded
        ]


@functools.lru_cache(maxsize=4)
def project_for(synthetic_models: int = 0) -> Project:
    """Return the project with ``synthetic_models`` generated models added (cached: projects never change).

    :param synthetic_models: Extra models ``synth_model_000000``... (tag ``synthetic``); every fifth one
        gets a ``unique`` and a ``not_null`` test.
    :raises ValueError: Outside ``0..MAX_SYNTHETIC_MODELS``.
    """
    if not 0 <= synthetic_models <= MAX_SYNTHETIC_MODELS:
        raise ValueError(f"the number of synthetic models must be between 0 and {MAX_SYNTHETIC_MODELS}")
    return Project((*BASE_NODES, *_synthetic(synthetic_models)), synthetic_models)
