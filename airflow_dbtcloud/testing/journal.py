"""The request journal: what each API request was, kept small enough that no client can exhaust memory.

An entry keeps the request's text as received (path, query string, at most :data:`BODY_BYTES` of the
body) and is parsed only when read, so a hostile request costs the journal its length in bytes, not the
size of the Python objects its JSON or query would expand to. The journal holds at most ``limit`` entries
and :data:`MAX_BYTES` of stored text; the oldest entries go first.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl

BODY_BYTES = 4096
MAX_BYTES = 64 * 1024 * 1024
_ENTRY_OVERHEAD = 512  # the entry object and its small fields, roughly


def parse_body(raw: bytes, content_type: str) -> Any:
    """Decode a request body as the handlers read it: a form as a dict, else JSON, else text.

    :param raw: The body.
    :param content_type: Its media type.
    :return: None for an empty body, else the decoded value.
    """
    if not raw:
        return None
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode(errors="replace")).items()}
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@dataclass(frozen=True, slots=True)
class Entry:
    """One journaled request, as received.

    :param method: HTTP method.
    :param path: URL path.
    :param query_string: The raw query string.
    :param body: At most :data:`BODY_BYTES` of the body (empty when it was not read).
    :param body_size: The body's full size in bytes (0 when it was not read).
    :param content_type: The body's media type.
    :param status: Status answered, None when the connection was dropped.
    :param latency_ms: Time to answer.
    :param ts: When the answer was done (epoch seconds).
    :param route: Route name, None for an unknown path.
    :param fault: Kind of the fault applied, if any.
    """

    method: str
    path: str
    query_string: str
    body: bytes
    body_size: int
    content_type: str
    status: int | None
    latency_ms: float
    ts: float
    route: str | None
    fault: str | None

    @property
    def cost(self) -> int:
        """Bytes the entry is counted for against :data:`MAX_BYTES`."""
        return len(self.path) + len(self.query_string) + len(self.body) + _ENTRY_OVERHEAD

    def as_dict(self) -> dict[str, Any]:
        """The entry as ``Emulator.journal`` and ``GET /_emulator/journal`` show it.

        A body longer than :data:`BODY_BYTES` shows as ``{"truncated": True, "size": n, "head": text}``.
        """
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(self.query_string, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        if self.body_size > len(self.body):
            body: Any = {
                "truncated": True,
                "size": self.body_size,
                "head": self.body.decode(errors="replace"),
            }
        else:
            body = parse_body(self.body, self.content_type)
        return {
            "method": self.method,
            "path": self.path,
            "query": query,
            "body": body,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "ts": self.ts,
            "route": self.route,
            "fault": self.fault,
        }


class Journal:
    """The last requests, bounded in count and in stored bytes.

    The server's loop appends while tests read and reset from their own thread, hence the lock.

    :param limit: Most entries kept.
    :param max_bytes: Most stored text kept, counted by :attr:`Entry.cost`.
    """

    def __init__(self, limit: int, max_bytes: int = MAX_BYTES) -> None:
        self._entries: deque[Entry] = deque(maxlen=limit)
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def append(self, entry: Entry) -> None:
        """Add an entry, dropping the oldest ones past either bound.

        :param entry: The request.
        """
        with self._lock:
            if self._entries.maxlen == 0:
                return
            if len(self._entries) == self._entries.maxlen:
                self._bytes -= self._entries.popleft().cost
            self._entries.append(entry)
            self._bytes += entry.cost
            while self._bytes > self._max_bytes and len(self._entries) > 1:
                self._bytes -= self._entries.popleft().cost

    def entries(self) -> list[dict[str, Any]]:
        """Every entry kept, oldest first, as dicts (see :meth:`Entry.as_dict`)."""
        with self._lock:
            kept = list(self._entries)
        return [entry.as_dict() for entry in kept]

    @property
    def stored_bytes(self) -> int:
        """Bytes the kept entries are counted for."""
        return self._bytes

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
