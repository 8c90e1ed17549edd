"""The small jaffle_shop-like dbt project every emulated run builds: nodes, DAG and node selection."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field

PROJECT = "jaffle_shop"
DATABASE = "analytics"
SCHEMA = "dbt_prod"


@dataclass(frozen=True)
class Node:
    """One seed, model or data test of the emulated project.

    :param unique_id: dbt unique id, e.g. ``model.jaffle_shop.orders``.
    :param resource_type: ``seed``, ``model`` or ``test``.
    :param name: Node name.
    :param parents: Unique ids this node depends on.
    :param columns: Column name -> data type (models and seeds).
    :param tags: dbt tags.
    :param materialized: Materialization (``view``, ``table``, ``seed``, ``test``).
    :param test: For tests: ``(test name, column, attached model name)``.
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

    @property
    def path(self) -> str:
        """Path of the node's file relative to its resource folder."""
        if self.resource_type == "seed":
            return f"{self.name}.csv"
        if self.resource_type == "test":
            return f"{self.name}.sql"
        folder = "staging/" if self.name.startswith("stg_") else ""
        return f"{folder}{self.name}.sql"

    @property
    def original_file_path(self) -> str:
        """Path of the node's file relative to the project root."""
        if self.resource_type == "seed":
            return f"seeds/{self.path}"
        if self.resource_type == "test":
            return "models/schema.yml"
        return f"models/{self.path}"

    @property
    def relation_name(self) -> str | None:
        """Quoted relation name, or None for tests."""
        if self.resource_type == "test":
            return None
        return f'"{DATABASE}"."{SCHEMA}"."{self.name}"'

    @property
    def checksum(self) -> str:
        """Stable sha256 of the node's definition."""
        return hashlib.sha256(f"{self.unique_id}:{self.raw_code}".encode()).hexdigest()


def _seed(name: str, cols: tuple[tuple[str, str], ...]) -> Node:
    return Node(f"seed.{PROJECT}.{name}", "seed", name, columns=cols, materialized="seed")


def _model(
    name: str,
    parents: tuple[str, ...],
    cols: tuple[tuple[str, str], ...],
    materialized: str = "view",
    tags: tuple[str, ...] = (),
) -> Node:
    refs = " join ".join(f"{{{{ ref('{p.rsplit('.', 1)[1]}') }}}}" for p in parents)
    return Node(
        f"model.{PROJECT}.{name}",
        "model",
        name,
        parents=parents,
        columns=cols,
        tags=tags,
        materialized=materialized,
        raw_code=f"select * from {refs}",  # noqa: S608 - Jinja text, never executed
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

NODES: tuple[Node, ...] = (
    _seed("raw_customers", (*_ID, ("first_name", "text"), ("last_name", "text"))),
    _seed("raw_orders", (*_ID, ("user_id", "integer"), ("order_date", "date"), ("status", "text"))),
    _seed("raw_payments", (*_ID, ("order_id", "integer"), ("payment_method", "text"), ("amount", "integer"))),
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
BY_ID: dict[str, Node] = {n.unique_id: n for n in NODES}
CHILDREN: dict[str, list[str]] = {n.unique_id: [] for n in NODES}
for _n in NODES:
    for _p in _n.parents:
        CHILDREN[_p].append(_n.unique_id)

_COMMAND_TYPES = {
    "build": ("seed", "model", "test"),
    "run": ("model",),
    "test": ("test",),
    "seed": ("seed",),
}


def descendants(unique_ids: set[str]) -> set[str]:
    """Return every node downstream of ``unique_ids`` (not including them).

    :param unique_ids: Starting nodes.
    :return: The transitive children.
    """
    out: set[str] = set()
    stack = [c for u in unique_ids for c in CHILDREN.get(u, [])]
    while stack:
        cur = stack.pop()
        if cur not in out:
            out.add(cur)
            stack.extend(CHILDREN.get(cur, []))
    return out


def _ancestors(uid: str) -> set[str]:
    out: set[str] = set()
    stack = list(BY_ID[uid].parents)
    while stack:
        cur = stack.pop()
        if cur not in out:
            out.add(cur)
            stack.extend(BY_ID[cur].parents)
    return out


def _match(selector: str) -> set[str]:
    up, down = selector.startswith("+"), selector.endswith("+")
    core = selector.strip("+")
    if core.startswith("tag:"):
        base = {n.unique_id for n in NODES if core[4:] in n.tags}
    else:
        base = {n.unique_id for n in NODES if core in (n.name, n.unique_id)}
    out = set(base)
    for uid in base:
        if up:
            out |= _ancestors(uid)
        if down:
            out |= descendants({uid})
    return out


def select(command: str) -> list[str]:
    """Return, in execution order, the unique ids a dbt command executes.

    Supports ``build``, ``run``, ``test`` and ``seed`` with ``--select``/``-s`` and ``--exclude`` using
    node names, ``tag:`` and ``+`` graph operators; other commands (``docs generate``, ``deps``,
    ``compile``...) execute no nodes.

    :param command: e.g. ``dbt run --select tag:hourly``.
    :return: Selected unique ids in topological order.
    """
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
            excluded |= _match(part)
        elif mode:
            selected = (selected or set()) | _match(part)
    if selected is not None:
        # a test is selected together with the model it tests, as dbt's indirect selection does
        selected |= {u for u in descendants(selected) if BY_ID[u].resource_type == "test"}
    return [
        n.unique_id
        for n in NODES
        if n.resource_type in types
        and (selected is None or n.unique_id in selected)
        and n.unique_id not in excluded
    ]
