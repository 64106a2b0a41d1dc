"""Where a webhook may point: never at a private, loopback or link-local address (SSRF),
unless the operator allows it (for the client, or for the whole hub).

The host is resolved when the URL is set and again before every send, and the send connects to
the address that was checked (the name goes in the `Host` header and, for https, in the TLS
server name, against which the certificate is checked): a name that later resolves to an inside
address, even between the check and the connection (DNS rebinding), is never called. Redirects
are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from hallkey.core.errors import InvalidInput


class TargetRefused(Exception):
    """The webhook URL may not be called; `code` says why (safe to store and log)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _inside(address: str) -> bool:
    """Tells whether an IP address is one an outside client's webhook must never reach."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Returns every address `host` resolves to; raises TargetRefused when it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused("unresolvable", "the webhook host does not resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise TargetRefused("unresolvable", "the webhook host does not resolve")
    return addresses


@dataclass(frozen=True)
class Target:
    """Where to send a webhook: the URL to connect to, and the headers and request extensions
    that keep the original name for the receiver (Host) and for TLS (server name)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def pinned(url: str, address: str) -> Target:
    """Returns the target that reaches `url`'s host at `address` (an IP it resolved to)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
        return Target(url)  # already an address: nothing to pin
    except ValueError:
        pass
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = host if parts.port is None else f"{host}:{parts.port}"
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return Target(
        urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")),
        headers={"Host": host_header},
        extensions=extensions,
    )


def check_target(url: str, *, allow_private: bool) -> Target:
    """Raises TargetRefused unless `url` is an http(s) URL whose host resolves only to public
    addresses (any address when `allow_private`); returns where to connect (the first checked
    address, pinned; the URL as it is when inside addresses are allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("bad_url", "the webhook URL must be http(s) with a host")
    if parts.username or parts.password:
        raise TargetRefused("bad_url", "the webhook URL must not carry a user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("bad_url", "the webhook URL has a bad port") from None
    if allow_private:
        return Target(url)
    # Every address counts: a name with one public and one inside address is refused.
    addresses = resolve(parts.hostname, port)
    if any(_inside(address) for address in addresses):
        raise TargetRefused(
            "private_address", "the webhook host resolves to a private or loopback address"
        )
    return pinned(url, addresses[0])


def checked_url(url: str, *, allow_private: bool) -> str:
    """Returns `url` if a webhook may point there; raises InvalidInput (field `url`) if not."""
    try:
        check_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise InvalidInput(exc.message, field="url", code=exc.code) from None
    return url
