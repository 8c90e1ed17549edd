"""One aiohttp session per event loop and connection settings, shared by every async client in a process.

A triggerer runs hundreds of triggers in one event loop. Each trigger has a hook of its own; if each hook
opened its own session, each would open its own TCP (and TLS) connection. Here the hooks of one loop
borrow one session per :class:`PoolKey` (what makes two connections different: host, CA bundle, proxies,
timeouts, pool size) and keep-alive connections are reused across triggers. The token is not part of
the key and never a session header: it travels with each request, so two Airflow connections with
different tokens to the same host share sockets, never credentials.

The session opens lazily on the running loop at the first request and closes when the last client
using it gives it back.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from dataclasses import dataclass, field

import aiohttp

from airflow_dbtcloud._transport.config import ClientConfig

__all__ = ["Lease", "PoolKey", "SessionPool", "shared_sessions"]


@dataclass(frozen=True)
class PoolKey:
    """What two configurations must share to share a session (never the token).

    :param base_url: Scheme, host and port.
    :param ca_bundle: The CA bundle that verifies TLS, or None for the system store.
    :param proxies: Proxy URLs by scheme, sorted.
    :param connect_timeout: Seconds to wait for a connection.
    :param read_timeout: Seconds to wait between bytes of an answer.
    :param pool_size: Connections the session keeps open at most.
    """

    base_url: str
    ca_bundle: str | None
    # Not in repr: a proxy URL may carry the proxy's password.
    proxies: tuple[tuple[str, str], ...] = field(repr=False)
    connect_timeout: float
    read_timeout: float
    pool_size: int

    @classmethod
    def of(cls, config: ClientConfig) -> PoolKey:
        """The key of a client configuration.

        :param config: The configuration.
        """
        return cls(
            base_url=config.base_url,
            ca_bundle=config.ca_bundle,
            proxies=tuple(sorted(config.proxies.items())),
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            pool_size=config.pool_size,
        )


@dataclass
class Lease:
    """A shared session and the gate that keeps its requests within the pool.

    :param session: The session.
    :param gate: One place per pooled connection. A request holds one while it is on the wire, so a
        request that took its place in the rate budget goes out at once instead of queueing inside
        the connector (which would bunch requests up and break the budget at the server's end).
    :param users: Clients holding the lease.
    """

    session: aiohttp.ClientSession
    gate: asyncio.Semaphore
    users: int = 0


class SessionPool:
    """The sessions of a process, by event loop and :class:`PoolKey`, each counted by its borrowers."""

    def __init__(self) -> None:
        # A finished loop's entries go with it; sessions cannot move between loops anyway.
        self._leases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[PoolKey, Lease]] = (
            weakref.WeakKeyDictionary()
        )

    def borrow(self, config: ClientConfig) -> Lease:
        """Return the running loop's lease for ``config``, opening its session if needed; count one borrower.

        Call :meth:`give_back` with the same configuration once done.

        :param config: The client configuration.
        """
        leases = self._leases.setdefault(asyncio.get_running_loop(), {})
        key = PoolKey.of(config)
        lease = leases.get(key)
        if lease is None or lease.session.closed:
            lease = leases[key] = Lease(_open(key), asyncio.Semaphore(key.pool_size))
        lease.users += 1
        return lease

    async def give_back(self, config: ClientConfig, lease: Lease) -> None:
        """Count one borrower less; close the session when nobody uses it any more.

        :param config: The configuration it was borrowed with.
        :param lease: What :meth:`borrow` returned.
        """
        leases = self._leases.get(asyncio.get_running_loop(), {})
        key = PoolKey.of(config)
        if leases.get(key) is not lease:
            # Borrowed on another loop, or already replaced: only its own loop could close it.
            return
        lease.users -= 1
        if lease.users <= 0:
            del leases[key]
            await lease.session.close()

    def users(self, config: ClientConfig) -> int:
        """How many clients of the running loop hold the session of ``config`` (0 when none is open).

        :param config: The client configuration.
        """
        lease = self._leases.get(asyncio.get_running_loop(), {}).get(PoolKey.of(config))
        return 0 if lease is None or lease.session.closed else lease.users


def _ssl(key: PoolKey) -> ssl.SSLContext | bool:
    if key.ca_bundle:
        return ssl.create_default_context(cafile=key.ca_bundle)
    return True


def _open(key: PoolKey) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=None, connect=key.connect_timeout, sock_read=key.read_timeout),
        connector=aiohttp.TCPConnector(ssl=_ssl(key), limit=key.pool_size, keepalive_timeout=30),
    )


#: The process's pool, used by every :class:`~airflow_dbtcloud._transport.aio.AiohttpExecutor`.
shared_sessions = SessionPool()
