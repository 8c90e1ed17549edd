"""The API's response envelope, error bodies and query-string parsing."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from airflow_dbtcloud.testing.errors import Invalid

if TYPE_CHECKING:
    from multidict import MultiMapping  # aiohttp's own dependency; only for annotations

MAX_LIMIT = 100


def _request_key(name: str, kind: type) -> Any:
    # web.RequestKey exists from aiohttp 3.13; plain strings still work (with a warning) before that.
    factory = getattr(web, "RequestKey", None)
    return factory(name, kind) if factory is not None else name


BODY = _request_key("body", object)
ALLOWED_ACCOUNTS = _request_key("allowed_accounts", list)
FAULT = _request_key("fault", str)
TRUNCATE = _request_key("truncate", bool)
_MESSAGES = {
    400: "The request was invalid. Please double check the provided data and try again.",
    401: "Invalid token.",
    403: "You do not have permission to access this resource.",
    404: "The requested resource was not found.",
    405: "Method not allowed.",
    429: "Too many requests. Please slow down and try again later.",
    500: "An unexpected error occurred. Our team has been notified.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable. Please try again later.",
    504: "Gateway timeout.",
}
_JSON = "application/json"
_SUCCESS = {"code": 200, "is_success": True, "user_message": "Success!", "developer_message": ""}


def envelope(data: Any, extra: dict[str, Any] | None = None) -> web.Response:
    """Answer 200 with ``{"status", "data"[, "extra"]}``.

    :param data: The payload.
    :param extra: ``extra`` for list endpoints.
    :return: The response.
    """
    doc: dict[str, Any] = {"status": _SUCCESS, "data": data}
    if extra is not None:
        doc["extra"] = extra
    return web.Response(body=json.dumps(doc).encode(), content_type=_JSON)


def json_list_envelope(items: Sequence[str], extra: dict[str, Any]) -> web.Response:
    """Answer 200 with a list whose items are already JSON text, as :func:`envelope` would answer.

    The body is byte for byte what ``envelope`` writes for the decoded items: ``json.dumps`` separates
    list items with ``", "`` and keys from values with ``": "``.

    :param items: Each item's JSON, as ``json.dumps`` writes it.
    :param extra: ``extra`` of the list endpoint.
    :return: The response.
    """
    data = "[" + ", ".join(items) + "]"
    body = f'{{"status": {json.dumps(_SUCCESS)}, "data": {data}, "extra": {json.dumps(extra)}}}'
    return web.Response(body=body.encode(), content_type=_JSON)


def error(
    code: int,
    user_message: str | None = None,
    *,
    retry_after: float | None = None,
    html: bool = False,
    developer_message: str | None = "",
) -> web.Response:
    """Answer an error with the API's error body (or a proxy's HTML page when ``html``).

    :param code: HTTP status.
    :param user_message: Human message (default: a stock message for the code).
    :param retry_after: Seconds sent in ``Retry-After``.
    :param html: Send an HTML page instead of JSON.
    :param developer_message: ``developer_message`` (the real API sends ``""`` or null).
    :return: The response.
    """
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(int(retry_after) if float(retry_after).is_integer() else retry_after)
    if html:
        page = (
            f"<html>\r\n<head><title>{code} {_reason(code)}</title></head>\r\n<body>\r\n"
            f"<center><h1>{code} {_reason(code)}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        return web.Response(status=code, text=page, content_type="text/html", headers=headers)
    doc = {
        "status": {
            "code": code,
            "is_success": False,
            "user_message": user_message or _MESSAGES.get(code, _reason(code)),
            "developer_message": developer_message,
        },
        "data": None,
    }
    return web.Response(status=code, body=json.dumps(doc).encode(), content_type=_JSON, headers=headers)


def _reason(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def as_int(value: str | None, name: str, default: int | None = None) -> int | None:
    """Parse an integer query parameter.

    :param value: Raw value or None.
    :param name: Parameter name for the error message.
    :param default: Value when absent.
    :return: The integer.
    :raises Invalid: When not an integer.
    """
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name}: A valid integer is required.") from None


def as_list(query: MultiMapping[str], name: str) -> list[str]:
    """Read a list parameter sent as repeated keys, a JSON list literal or comma-separated.

    :param query: The query string.
    :param name: Parameter name.
    :return: The values as strings.
    :raises Invalid: For a malformed list literal.
    """
    out: list[str] = []
    for raw in query.getall(name, []):
        raw = raw.strip()
        if raw.startswith("["):
            try:
                values = json.loads(raw)
            except ValueError:
                raise Invalid(f"{name}: Enter a valid list.") from None
            if not isinstance(values, list):
                raise Invalid(f"{name}: Enter a valid list.")
            # clients also send one comma-separated item in a list (['run_steps,job']): split it too
            out.extend(part.strip() for v in values for part in str(v).split(",") if part.strip())
        else:
            out.extend(v.strip() for v in raw.split(",") if v.strip())
    return out


def related_names(query: MultiMapping[str], allowed: set[str]) -> set[str]:
    """Read ``include_related`` and check every name is one the route accepts.

    :param query: The query string.
    :param allowed: The names the route accepts.
    :return: The names asked for.
    :raises Invalid: For a name the route does not accept, as the API answers it (400).
    """
    related = set(as_list(query, "include_related"))
    bad = sorted(related - allowed)
    if bad:
        raise Invalid(
            f"include_related: Select a valid choice. {bad[0]} is not one of the available choices."
        )
    return related


def paginate(
    items: Sequence[Any],
    query: MultiMapping[str],
    filters: dict[str, Any],
    order_by: str,
    render: Callable[[Any], Any],
    *,
    render_json: Callable[[Any], str] | None = None,
) -> web.Response:
    """Slice ``items`` by ``limit``/``offset`` and answer with ``extra`` (filters, order_by, pagination).

    :param items: Every matching item, already ordered.
    :param query: The query string.
    :param filters: Filters applied (echoed in ``extra.filters``).
    :param order_by: Ordering applied.
    :param render: Turns one item into its payload.
    :param render_json: Turns one item into its payload's JSON text, used instead of ``render`` when
        given (for payloads kept as text between requests); the answer is the same.
    :return: The response.
    """
    limit = as_int(query.get("limit"), "limit", MAX_LIMIT)
    offset = as_int(query.get("offset"), "offset", 0)
    assert limit is not None
    assert offset is not None
    if limit < 1:
        raise Invalid("limit: Ensure this value is greater than or equal to 1.")
    if offset < 0:
        raise Invalid("offset: Ensure this value is greater than or equal to 0.")
    limit = min(limit, MAX_LIMIT)
    sliced = items[offset : offset + limit]
    extra = {
        "filters": {**filters, "limit": limit, "offset": offset},
        "order_by": order_by,
        "pagination": {"count": len(sliced), "total_count": len(items)},
    }
    if render_json is not None:
        return json_list_envelope([render_json(i) for i in sliced], extra)
    return envelope([render(i) for i in sliced], extra)


def ordered(items: list[Any], order_by: str, allowed: dict[str, Callable[[Any], Any]]) -> list[Any]:
    """Sort ``items`` by an ``order_by`` value such as ``-id``.

    :param items: Items.
    :param order_by: Field name, optionally prefixed by ``-``.
    :param allowed: Field name -> sort key.
    :return: The sorted list.
    :raises Invalid: For an unknown field.
    """
    field = order_by.removeprefix("-")
    if field not in allowed:
        raise Invalid(f"order_by: Select a valid choice. {order_by} is not one of the available choices.")
    return sorted(items, key=allowed[field], reverse=order_by.startswith("-"))
