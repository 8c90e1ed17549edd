"""Client configuration: one frozen value built once from an Airflow connection.

Everything the transport needs is here, so the sync and async paths read the same settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from airflow_dbtcloud._transport.errors import DbtCloudConfigError, scrub

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_MAX_RESPONSE_MB",
    "MAX_CONCURRENCY_LIMIT",
    "ClientConfig",
    "RetryConfig",
    "config_from_connection",
    "parse_host",
]

DEFAULT_HOST = "cloud.getdbt.com"
DEFAULT_MAX_CONCURRENCY = 8
MAX_CONCURRENCY_LIMIT = 32
#: Largest answer read into memory, in MiB: generous for a run's logs or a big manifest, yet finite.
DEFAULT_MAX_RESPONSE_MB = 256
MIB = 1024 * 1024


@dataclass(frozen=True)
class RetryConfig:
    """
    How failed requests are retried.

    :param attempts: Total attempts per request, the first included (1 disables retries).
    :param max_seconds: Upper bound in seconds on the time spent retrying one request.
    :param backoff: Base of the exponential backoff in seconds (jittered).
    :param max_backoff: Longest single wait in seconds, ``Retry-After`` included.
    """

    attempts: int = 5
    max_seconds: float = 120.0
    backoff: float = 1.0
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise DbtCloudConfigError(f"retry attempts must be at least 1, got {self.attempts}")
        if self.max_seconds <= 0 or self.backoff < 0 or self.max_backoff < 0:
            raise DbtCloudConfigError("retry times must be positive numbers of seconds")


@dataclass(frozen=True)
class ClientConfig:
    """
    Everything the transport needs to talk to one dbt Cloud account.

    :param base_url: Scheme, host and optional port, e.g. ``https://cloud.getdbt.com``.
    :param token: The API token. Never shown in ``repr``.
    :param conn_id: The Airflow connection it came from, named in error messages.
    :param account_login: The connection's login (the default account id) as given, or None.
    :param proxies: Proxy URLs by scheme, as requests takes them. Shown in ``repr`` without their
        user info, which may hold the proxy's password.
    :param ca_bundle: Path of a CA bundle used to verify TLS, or None for the system store.
    :param connect_timeout: Seconds to wait for a TCP/TLS connection.
    :param read_timeout: Seconds to wait for the server between bytes of the answer.
    :param retry: The retry policy.
    :param page_size: Items per page on list endpoints (dbt Cloud caps it at 100).
    :param max_concurrency: Requests of one batch (the pages after a list's first, or a run's
        artifact files) in flight together: tasks on the async path, threads on the sync path, whose
        requests session keeps as many connections.
    :param pool_size: Connections the async path keeps open per host, shared by every client of an
        event loop with the same settings.
    :param requests_per_minute: The async path's request budget for one account, shared by every
        client of an event loop: requests beyond it wait (never dropped).
    :param chunk_size: Bytes per chunk when streaming an artifact to a file.
    :param max_response_bytes: The largest answer read into memory, counted after decompression; a
        bigger one raises ``DbtCloudPayloadError``. Artifacts streamed to a file are not limited.
    :param user_agent: The ``User-Agent`` header, naming the client and its version.
    """

    base_url: str
    token: str = field(repr=False)
    conn_id: str = "dbt_cloud_default"
    account_login: str | None = None
    proxies: Mapping[str, str] = field(default_factory=dict)
    ca_bundle: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry: RetryConfig = field(default_factory=RetryConfig)
    page_size: int = 100
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    pool_size: int = 10
    requests_per_minute: float = 1000.0
    chunk_size: int = 1024 * 1024
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * MIB
    user_agent: str = "airflow-dbtcloud"

    def __post_init__(self) -> None:
        if self.max_concurrency < 1 or self.pool_size < 1:
            raise DbtCloudConfigError(
                f"max_concurrency and pool_size must be at least 1, got {self.max_concurrency} "
                f"and {self.pool_size}"
            )
        if self.max_response_bytes < 1:
            raise DbtCloudConfigError(f"max_response_bytes must be positive, got {self.max_response_bytes}")

    def __repr__(self) -> str:
        # The generated repr would show a proxy URL's user info, which may hold the proxy's password.
        shown = ", ".join(f"{item.name}={getattr(self, item.name)!r}" for item in fields(self) if item.repr)
        return scrub(f"{type(self).__name__}({shown})")

    @property
    def default_account_id(self) -> int:
        """
        Return the connection's account id.

        :raises DbtCloudConfigError: When the login is empty or not an integer.
        """
        login = (self.account_login or "").strip()
        if not login:
            raise DbtCloudConfigError(
                f"No dbt Cloud account id: pass account_id, or set the login (Account ID) of "
                f"connection {self.conn_id!r}"
            )
        account = int(login) if login.isascii() and login.isdigit() else 0
        if account < 1:
            raise DbtCloudConfigError(
                f"The login (Account ID) of connection {self.conn_id!r} must be a positive integer, "
                f"got {login!r}"
            )
        return account

    def url(self, path: str) -> str:
        """
        Return the absolute URL of an API path.

        :param path: A path starting with ``/``.
        """
        return self.base_url + path


_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
#: A host name: dot-separated labels of letters, digits, underscores (internal names have them) and
#: inner hyphens, a trailing dot allowed.
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?")


def _is_ip(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _is_loopback(hostname: str) -> bool:
    if hostname.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def parse_host(host: str | None, port: int | None = None, allow_insecure_http: bool = False) -> str:
    """
    Turn the connection's host field into a base URL.

    Empty means ``cloud.getdbt.com``; a bare host (``emea.dbt.com``, ``ab123.us1.dbt.com``,
    ``localhost:8787``) means https; a full URL keeps its scheme. Plain http is accepted only for
    loopback addresses unless ``allow_insecure_http`` is set, so a token is never sent in clear text
    to another machine.

    :param host: The host field, possibly with scheme and port.
    :param port: The connection's port field, used when the host carries none.
    :param allow_insecure_http: Accept ``http://`` to hosts that are not loopback.
    :return: ``scheme://host[:port]`` without a trailing slash.
    :raises DbtCloudConfigError: When the host is malformed or insecure.
    """
    raw = (host or "").strip() or DEFAULT_HOST
    parts = urlsplit(raw if "://" in raw else f"https://{raw}")
    if parts.scheme not in ("http", "https"):
        raise DbtCloudConfigError(f"dbt Cloud host {raw!r} must use https (or http to loopback)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise DbtCloudConfigError(
            f"dbt Cloud host {raw!r} must be a host name such as 'cloud.getdbt.com' or "
            "'https://emea.dbt.com', without a path"
        )
    if parts.username or parts.password:
        raise DbtCloudConfigError("dbt Cloud host must not contain user info; put the token in the password")
    try:
        hostname, explicit_port = parts.hostname, parts.port
    except ValueError as exc:
        raise DbtCloudConfigError(f"dbt Cloud host {raw!r} has an invalid port") from exc
    if not hostname:
        raise DbtCloudConfigError(f"dbt Cloud host {raw!r} has no host name")
    if not _HOST_NAME.fullmatch(hostname) and not _is_ip(hostname):
        raise DbtCloudConfigError(
            f"dbt Cloud host {raw!r} is not a valid host name (letters, digits, '-', '_' and '.' only)"
        )
    if parts.scheme == "http" and not (allow_insecure_http or _is_loopback(hostname)):
        raise DbtCloudConfigError(
            f"Refusing plain http to {hostname}: the API token would travel in clear text. Use https, "
            "or set allow_insecure_http in the connection extra if you really mean it"
        )
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    final_port = explicit_port or port
    if final_port:
        netloc = f"{netloc}:{final_port}"
    return f"{parts.scheme}://{netloc}"


def _number(extra: Mapping[str, Any], key: str, default: float, conn_id: str) -> float:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DbtCloudConfigError(
            f"Extra {key!r} of connection {conn_id!r} must be a number, got {value!r}"
        ) from None
    if number <= 0:
        raise DbtCloudConfigError(f"Extra {key!r} of connection {conn_id!r} must be positive")
    return number


def _integer(
    extra: Mapping[str, Any], key: str, default: int, conn_id: str, low: int = 1, high: int | None = None
) -> int:
    """
    Read a whole-number extra (``8``, ``"8"`` or ``8.0``) within bounds.

    :param extra: The connection extra.
    :param key: The extra's name, quoted in the error.
    :param default: What an absent or empty value means.
    :param conn_id: The connection, quoted in the error.
    :param low: The smallest value accepted.
    :param high: The largest value accepted, or None for no upper bound.
    :raises DbtCloudConfigError: For a fraction, a boolean, text that is no number, or a value out of bounds.
    """
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = float("nan")
    if isinstance(value, bool) or not number.is_integer():
        raise DbtCloudConfigError(
            f"Extra {key!r} of connection {conn_id!r} must be a whole number, got {value!r}"
        )
    if number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise DbtCloudConfigError(f"Extra {key!r} of connection {conn_id!r} must be {bounds}, got {value!r}")
    return int(number)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def config_from_connection(
    *,
    conn_id: str,
    host: str | None,
    login: str | None,
    password: str | None,
    port: int | None = None,
    extra: Mapping[str, Any] | None = None,
    timeout_seconds: float | None = None,
    retry_limit: int | None = None,
    retry_delay: float | None = None,
    user_agent: str = "airflow-dbtcloud",
) -> ClientConfig:
    """
    Build the client configuration from a connection's fields and the hook's arguments.

    Hook arguments win over connection extras, which win over the defaults.

    :param conn_id: The connection id, named in error messages.
    :param host: The connection host (tenant).
    :param login: The connection login (default account id).
    :param password: The connection password (API token); required.
    :param port: The connection port, used when the host carries none.
    :param extra: The connection extra: ``proxies``, ``ca_bundle``, ``connect_timeout``,
        ``read_timeout``, ``retry_limit``, ``retry_max_seconds``, ``retry_delay``,
        ``retry_max_delay``, ``allow_insecure_http``, ``max_concurrency``, ``pool_size``,
        ``requests_per_minute``, ``max_response_mb``.
    :param timeout_seconds: Read timeout in seconds (and connect timeout, if smaller).
    :param retry_limit: Total attempts per request.
    :param retry_delay: Base of the exponential backoff in seconds.
    :param user_agent: The ``User-Agent`` header to send.
    :raises DbtCloudConfigError: When the token is missing or a setting is invalid.
    """
    extra = extra or {}
    # A token pasted with a trailing newline is still the token; one of blanks only is no token.
    password = (password or "").strip()
    if not password:
        raise DbtCloudConfigError(
            f"Connection {conn_id!r} has no API token: set its password to a dbt Cloud service token "
            "or personal access token"
        )
    proxies = extra.get("proxies") or {}
    if not isinstance(proxies, Mapping):
        raise DbtCloudConfigError(f"Extra 'proxies' of connection {conn_id!r} must be a mapping")
    ca_bundle = extra.get("ca_bundle")
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise DbtCloudConfigError(f"Extra 'ca_bundle' of connection {conn_id!r} must be a file path")
    if ca_bundle and not os.path.exists(ca_bundle):
        raise DbtCloudConfigError(
            f"Extra 'ca_bundle' of connection {conn_id!r} names {ca_bundle!r}, which does not exist"
        )
    read_timeout = (
        float(timeout_seconds) if timeout_seconds else _number(extra, "read_timeout", 60.0, conn_id)
    )
    connect_timeout = min(_number(extra, "connect_timeout", 10.0, conn_id), read_timeout)
    attempts = retry_limit if retry_limit is not None else int(_number(extra, "retry_limit", 5, conn_id))
    retry = RetryConfig(
        attempts=attempts,
        max_seconds=_number(extra, "retry_max_seconds", 120.0, conn_id),
        backoff=retry_delay if retry_delay is not None else _number(extra, "retry_delay", 1.0, conn_id),
        max_backoff=_number(extra, "retry_max_delay", 30.0, conn_id),
    )
    return ClientConfig(
        base_url=parse_host(host, port, _flag(extra.get("allow_insecure_http", False))),
        token=password,
        conn_id=conn_id,
        account_login=login,
        proxies={str(k): str(v) for k, v in proxies.items()},
        ca_bundle=ca_bundle or None,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retry=retry,
        max_concurrency=_integer(
            extra, "max_concurrency", DEFAULT_MAX_CONCURRENCY, conn_id, high=MAX_CONCURRENCY_LIMIT
        ),
        pool_size=_integer(extra, "pool_size", 10, conn_id),
        requests_per_minute=_number(extra, "requests_per_minute", 1000.0, conn_id),
        max_response_bytes=int(_number(extra, "max_response_mb", DEFAULT_MAX_RESPONSE_MB, conn_id) * MIB),
        user_agent=user_agent,
    )
