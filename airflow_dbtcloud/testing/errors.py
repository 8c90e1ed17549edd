"""The two errors the emulator's own logic raises; the middleware answers them with 404 and 400."""

from __future__ import annotations


class NotFound(Exception):
    """The requested object does not exist (answered with 404)."""


class Invalid(Exception):
    """The request is not valid (answered with 400, the message naming the offending field)."""
