"""Who may reach the emulator: which interfaces it binds, which ``Host`` it answers, which token it takes.

The emulator runs on developers' machines and in CI with a well-known default token, so it only listens on
loopback unless told otherwise, and refuses a ``Host`` header naming anything but loopback or the address
it is bound to: a web page in a browser could otherwise reach it by DNS rebinding (its own name resolving
to 127.0.0.1), which only shows up as a foreign name in ``Host``.
"""

from __future__ import annotations

import ipaddress
import re

LOOPBACK_NAME = "localhost"
_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - names, not a bind
# name or [IPv6 literal], then an optional port; nothing else (no userinfo, path or spaces)
_HOST_HEADER = re.compile(r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9.\-]+))(?::\d{1,5})?")


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names this machine's loopback interface.

    :param host: A host name or IP address (an IPv6 address with or without brackets).
    :return: True for ``localhost`` and loopback addresses (127.0.0.0/8, ``::1``).
    """
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == LOOPBACK_NAME:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_host(host: str, allow_remote: bool) -> None:
    """Refuse to bind a non-loopback interface unless the caller accepts that anyone may connect.

    The Python API and the CLI share this rule and its message.

    :param host: The interface to bind.
    :param allow_remote: Whether a non-loopback interface is accepted.
    :raises ValueError: For a non-loopback ``host`` without ``allow_remote``.
    """
    if not allow_remote and not is_loopback(host):
        raise ValueError(
            f"refusing to bind non-loopback host {host!r} without --allow-remote "
            "(allow_remote=True in Python): the emulator has no real security"
        )


def host_header_allowed(header: str | None, bind_host: str) -> bool:
    """Tell whether a request's ``Host`` header names an address the emulator may answer for.

    Accepted: loopback (``localhost``, 127.0.0.0/8, ``[::1]``), the address it is bound to, and, when it is
    bound to every interface (``0.0.0.0`` or ``::``), any IP address: a browser only sends an IP literal
    when the page itself is on that address, so no DNS name can be rebound behind it.

    :param header: The ``Host`` header, or None when the request had none.
    :param bind_host: The interface the emulator is bound to.
    :return: Whether to answer the request.
    """
    if header is None:
        return False
    match = _HOST_HEADER.fullmatch(header.strip().lower())
    if match is None:
        return False
    name = match["ipv6"] or match["name"]
    bound = bind_host.strip().lower().removeprefix("[").removesuffix("]")
    if is_loopback(name) or name == bound:
        return True
    if bound not in _WILDCARDS:
        return False
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def token_of(header: str | None) -> str | None:
    """Read the token of an ``Authorization: Token <token>`` (or ``Bearer <token>``) header.

    :param header: The header, or None.
    :return: The token, or None when the header is missing or has another scheme.
    """
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("token", "bearer"):
        return None
    return token.strip() or None
