"""Reading an answer into memory: bounded in size, decompressed here, decoded as JSON. No I/O here.

Both executors feed the raw bytes they read off the wire to a :class:`BodyReader`, so the limits and
the decoding rules are written once. The reader inflates gzip and deflate itself, never more than the
limit leaves room for, so a small compressed body cannot grow into a large one in memory.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from airflow_dbtcloud._transport.errors import DbtCloudPayloadError, excerpt
from airflow_dbtcloud._transport.request import JSON, ApiRequest, ApiResponse

__all__ = ["ERROR_BODY_BYTES", "READ_CHUNK_BYTES", "BodyReader", "decode_json"]

#: The most of an error answer that is read: only a short excerpt of it is ever quoted.
ERROR_BODY_BYTES = 64 * 1024
#: Bytes asked of the connection at a time while reading a body into memory.
READ_CHUNK_BYTES = 64 * 1024
_MIB = 1024 * 1024


def decode_json(content: bytes) -> tuple[JSON, str | None]:
    """
    Decode a body as JSON.

    :param content: The body, decompressed.
    :return: ``(value, None)``; ``(None, None)`` for an empty body; ``(None, why)`` when it is not
        JSON, ``why`` saying what is wrong without quoting the body.
    """
    if not content.strip():
        return None, None
    try:
        return json.loads(content), None
    except RecursionError:
        return None, "is JSON nested too deeply to decode"
    except ValueError as exc:
        return None, f"is not valid JSON ({exc})"


def _inflater(encoding: str, first: bytes) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    # "deflate" should be zlib-wrapped (its first byte names method 8), but some servers send it raw.
    wrapped = (first[0] & 0x0F) == 8
    return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)


class BodyReader:
    """
    Collect an answer's body from the chunks read off the wire, within a size limit.

    A success answer bigger than the limit, before or after decompression, raises
    :class:`DbtCloudPayloadError`. An error answer is read only up to :data:`ERROR_BODY_BYTES` and
    then quietly cut, so that its status still decides which error is raised.

    :param request: The request being answered, named in errors.
    :param status: The answer's HTTP status.
    :param limit: The most bytes of a success answer, from the ``max_response_mb`` connection extra.
    :param encoding: The ``Content-Encoding`` of the chunks still to be decoded here; None when the
        HTTP library decoded them already.
    :param length: The ``Content-Length`` header, if any: a success answer announcing more than the
        limit fails before it is read.
    """

    def __init__(
        self,
        request: ApiRequest,
        status: int,
        limit: int,
        encoding: str | None = None,
        length: str | None = None,
    ) -> None:
        self.request = request
        self.status = status
        self.cut_quietly = status >= 400
        self.configured_limit = limit
        self.limit = min(limit, ERROR_BODY_BYTES) if self.cut_quietly else limit
        self.encoding = (encoding or "identity").strip().lower()
        self._inflate: Any = None
        self._parts: list[bytes] = []
        self._kept = 0
        self._wire = 0
        self._done = False
        if not self.cut_quietly and (length or "").strip().isdigit() and int(str(length)) > self.limit:
            raise self._too_big()
        if self.encoding not in ("identity", "gzip", "x-gzip", "deflate") and not self.cut_quietly:
            raise DbtCloudPayloadError(
                f"the answer to {request.method} {request.path} is encoded as {self.encoding!r}, "
                "which this client did not ask for (it accepts gzip and deflate)"
            )

    def _too_big(self) -> DbtCloudPayloadError:
        return DbtCloudPayloadError(
            f"the answer to {self.request.method} {self.request.path} is larger than "
            f"{self.configured_limit / _MIB:g} MiB, the limit set by the connection extra "
            "'max_response_mb'; raise it if answers this big are expected"
        )

    def _keep(self, data: bytes) -> None:
        room = self.limit - self._kept
        if len(data) > room:
            if not self.cut_quietly:
                raise self._too_big()
            data, self._done = data[:room], True
        self._parts.append(data)
        self._kept += len(data)

    def feed(self, chunk: bytes) -> bool:
        """
        Take the next chunk read off the wire.

        :param chunk: Bytes as received (still compressed when ``encoding`` says so).
        :return: Whether to go on reading (False once an error answer has been read far enough).
        :raises DbtCloudPayloadError: When a success answer outgrows the limit or cannot be inflated.
        """
        if self._done or not chunk:
            return not self._done
        if self.encoding == "identity":
            self._keep(chunk)
        elif self.encoding in ("gzip", "x-gzip", "deflate"):
            # Counted on the wire too: a compressed stream that inflates to little must still end.
            self._wire += len(chunk)
            if self._wire > self.limit:
                if not self.cut_quietly:
                    raise self._too_big()
                self._done = True
            else:
                self._inflate_chunk(chunk)
        else:
            self._done = True  # an error answer in an encoding we cannot read: keep nothing
        return not self._done

    def _inflate_chunk(self, data: bytes) -> None:
        if self._inflate is None:
            self._inflate = _inflater(self.encoding, data)
        try:
            # One gzip member after another is still one body; each pass consumes input or stops.
            while data and not self._done:
                out = self._inflate.decompress(data, self.limit - self._kept + 1)
                self._keep(out)
                if not (self._inflate.eof and self._inflate.unused_data):
                    break
                data = self._inflate.unused_data
                self._inflate = _inflater(self.encoding, data)
        except zlib.error as exc:
            if not self.cut_quietly:
                raise DbtCloudPayloadError(
                    f"the answer to {self.request.method} {self.request.path} could not be inflated "
                    f"({self.encoding}: {exc})"
                ) from None
            self._done = True

    @property
    def content(self) -> bytes:
        """The body read so far, decompressed."""
        return b"".join(self._parts)

    def answer(self, headers: Any, secret: str, raw: Any = None) -> ApiResponse:
        """
        Decode the body read and return the answer.

        :param headers: The answer's headers.
        :param secret: The API token, replaced by ``***`` in the body of an error answer and in any
            text kept.
        :param raw: The HTTP library's response object, kept in :attr:`ApiResponse.raw`.
        :raises DbtCloudPayloadError: When a success answer of an endpoint that answers JSON is not JSON.
        """
        content = self.content
        if self.cut_quietly and secret:
            # An error body is quoted in exception text; a proxy's page may echo request headers back.
            content = content.replace(secret.encode(), b"***")
        body, problem = decode_json(content)
        text = "" if problem is None else content.decode("utf-8", errors="replace")
        if secret:
            text = text.replace(secret, "***")
        if problem is not None and not self.cut_quietly and self.request.expects_json:
            raise DbtCloudPayloadError(
                f"the answer to {self.request.method} {self.request.path} ({self.status}) {problem}: "
                f"{excerpt(text)!r}"
            )
        return ApiResponse(self.status, dict(headers), body, text, raw=raw)
