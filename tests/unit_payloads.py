"""Small envelopes in dbt Cloud's shape, for unit tests that mock HTTP."""

from __future__ import annotations

from responses import matchers

TOKEN = "dbtc_unit_SECRET_token_4242"
BASE = "https://ab123.us1.dbt.com"


def envelope(data, code=200):
    return {
        "status": {"code": code, "is_success": True, "user_message": "Success!", "developer_message": ""},
        "data": data,
    }


def list_envelope(items, total=None, limit=100, offset=0):
    body = envelope(items)
    body["extra"] = {
        "filters": {"limit": limit, "offset": offset},
        "order_by": "id",
        "pagination": {"count": len(items), "total_count": len(items) if total is None else total},
    }
    return body


def error_envelope(code, user_message, developer_message=None):
    return {
        "status": {
            "code": code,
            "is_success": False,
            "user_message": user_message,
            "developer_message": developer_message,
        },
        "data": None,
    }


def query(**params):
    """Match a request whose query string is exactly ``params``."""
    return matchers.query_param_matcher(params, strict_match=True)
