"""Injected faults: error statuses, dropped connections, latency, truncated bodies, accept-then-fail."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

KINDS = ("status", "reset", "latency", "truncate", "accept_then_fail")
_ids = itertools.count(1)


@dataclass
class Fault:
    """One fault rule. Build it with :meth:`FaultSet.add` (``emu.add_fault``).

    :param route: A route name from ``FAULT_ROUTES``, or None for every API route.
    :param kind: One of :data:`KINDS`.
    :param status: HTTP status for ``status`` and ``accept_then_fail`` (None there = drop the connection).
    :param retry_after: Seconds sent as a ``Retry-After`` header.
    :param latency: Seconds to wait before answering (any kind).
    :param rate: Probability (0..1) that a matching request is hit, drawn from the seeded generator.
    :param times: Hit only the next N matching requests.
    :param sequence: Per matching request in order: a status (or any non-None value for other kinds) to
        apply, None to pass through; the fault is exhausted at the end of the sequence.
    :param html: Answer an error status with an HTML page, as a proxy does, instead of the JSON envelope.
    """

    route: str | None = None
    kind: str = "status"
    status: int | None = 503
    retry_after: float | None = None
    latency: float = 0.0
    rate: float | None = None
    times: int | None = None
    sequence: list[int | None] | None = None
    html: bool = False
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0
    seen: int = 0
    _owner: FaultSet | None = field(default=None, repr=False, compare=False)

    def remove(self) -> None:
        """Remove this fault from the emulator."""
        if self._owner is not None:
            self._owner.remove(self)

    @property
    def exhausted(self) -> bool:
        """True once ``times`` or ``sequence`` is used up."""
        if self.times is not None and self.hits >= self.times:
            return True
        return self.sequence is not None and self.seen >= len(self.sequence)


@dataclass(frozen=True)
class Decision:
    """What to do with one request.

    :param fault: The matching fault.
    :param kind: Fault kind.
    :param status: Status to answer (None: drop the connection where that applies).
    :param latency: Seconds to sleep first.
    """

    fault: Fault
    kind: str
    status: int | None
    latency: float


class FaultSet:
    """Thread-safe collection of faults with a seeded random generator.

    :param routes: The route names a fault may name (``routes.FAULT_ROUTES``).
    :param creating_routes: The routes that create a run, the only ones ``accept_then_fail`` hits.
    :param seed: Seed for ``rate`` draws.
    """

    def __init__(self, routes: Sequence[str], creating_routes: Sequence[str], seed: int = 1234) -> None:
        self._routes = tuple(routes)
        self._creating = tuple(creating_routes)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._seed = seed
        self._rng = random.Random(seed)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, **kwargs: object) -> Fault:
        """Register a fault.

        :param kwargs: Fields of :class:`Fault` (``route``, ``kind``, ``status``...); the rest keep defaults.
        :return: The fault (a handle: ``.hits``, ``.remove()``).
        :raises ValueError: For an unknown route or kind, or inconsistent arguments.
        """
        fault = Fault(**kwargs)  # type: ignore[arg-type]
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; use one of {KINDS}")
        if fault.route is not None and fault.route not in self._routes:
            raise ValueError(f"unknown route {fault.route!r}; use one of {self._routes}")
        if fault.kind == "accept_then_fail" and fault.route not in (None, *self._creating):
            raise ValueError(f"accept_then_fail applies to {self._creating}")
        if fault.kind == "status" and fault.status is None and fault.sequence is None:
            raise ValueError("a status fault needs status or sequence")
        if fault.rate is not None and not 0 <= fault.rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        fault._owner = self
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        """Remove one fault (no error if already gone).

        :param fault: The fault.
        """
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        """Remove every fault and reseed the random generator."""
        with self._lock:
            self._faults = []
            self._rng = random.Random(self._seed)

    def list(self) -> list[Fault]:
        """Return the current faults."""
        with self._lock:
            return list(self._faults)

    def decide(self, route: str | None) -> Decision | None:
        """Pick the first active fault matching ``route`` and consume one use of it.

        :param route: Route name of the request.
        :return: The decision, or None to answer normally.
        """
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or (fault.route is not None and fault.route != route):
                    continue
                if fault.kind == "accept_then_fail" and route not in self._creating:
                    continue
                status = fault.status
                if fault.sequence is not None:
                    step = fault.sequence[fault.seen]
                    fault.seen += 1
                    if step is None:
                        continue
                    if fault.kind == "status":
                        status = int(step)
                if fault.rate is not None and self._rng.random() >= fault.rate:
                    continue
                fault.hits += 1
                return Decision(fault, fault.kind, status, fault.latency)
        return None
