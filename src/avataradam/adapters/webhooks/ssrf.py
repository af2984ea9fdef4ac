"""Server-side request forgery guard for subscriber-supplied webhook URLs.

A webhook URL is chosen by a tenant but requested from inside our network, so it must
never reach loopback, private (RFC 1918, ULA), link-local (cloud metadata at
169.254.169.254), multicast, reserved or unspecified addresses, nor those same ranges
disguised as IPv4-mapped, 6to4, Teredo or NAT64 IPv6 addresses, nor legacy numeric
IPv4 spellings (`2130706433`, `0x7f.1`) that resolvers accept.

Two checks, two moments:
- `validate_webhook_url` runs synchronously at subscription time; it rejects what is
  decidable without DNS (bad syntax, scheme, literal addresses, `localhost`).
- `resolve_public_addresses` runs at delivery time; it resolves the host and refuses if
  ANY address is forbidden. The sender then connects to a vetted address itself, so a
  DNS answer that changes between check and connect (rebinding) is never used.

The URL is parsed with httpx, the same parser the sender uses, so the guard and the
request can never disagree about which host is meant.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

import httpx

from avataradam.domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Maps (host, port) to the addresses a connection could go to."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebhookDestinationRefused(InvalidInput):
    """The URL points at an address webhooks may not reach."""

    code = "webhook_destination_refused"


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def forbidden_reason(address: IPAddress) -> str | None:
    """Why webhooks may not reach `address`, or None if it is a public address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        reason = forbidden_reason(embedded)
        if reason is not None or address in _NAT64:
            return reason
    checks = (
        (address.is_loopback, "loopback"),
        (address.is_private, "private"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_reserved, "reserved"),
        (address.is_unspecified, "unspecified"),
        (not address.is_global, "not globally routable"),
    )
    return next((reason for matched, reason in checks if matched), None)


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names without DNS, including legacy numeric IPv4 forms."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _is_localhost_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


def parse_webhook_url(url: str) -> httpx.URL:
    """The parsed URL, or InvalidInput if it is not an absolute http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidInput("webhook URL is not a valid URL") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise InvalidInput("webhook URL must use http or https")
    if not parsed.host:
        raise InvalidInput("webhook URL has no host")
    if parsed.userinfo:
        raise InvalidInput("webhook URL may not carry credentials")
    return parsed


def _refuse_if_forbidden(host: str, address: IPAddress) -> None:
    reason = forbidden_reason(address)
    if reason is not None:
        raise WebhookDestinationRefused(
            f"webhook host {host} is a {reason} address ({address})", host=host
        )


def validate_webhook_url(url: str, allow_private: bool) -> None:
    """Raise InvalidInput unless `url` could be a webhook destination.

    Decides only what needs no DNS; the sender re-checks resolved addresses on every
    delivery.
    """
    parsed = parse_webhook_url(url)
    if allow_private:
        return
    if _is_localhost_name(parsed.host):
        raise WebhookDestinationRefused(f"webhook host {parsed.host} is loopback")
    literal = _literal_address(parsed.host)
    if literal is not None:
        _refuse_if_forbidden(parsed.host, literal)


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve with the operating system's resolver, off the event loop thread."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_public_addresses(
    url: httpx.URL, *, allow_private: bool, resolve: Resolver = system_resolve
) -> list[IPAddress]:
    """Every address `url`'s host resolves to, in resolver order.

    Raises WebhookDestinationRefused if any of them is forbidden (unless
    `allow_private`), and OSError if the host does not resolve.
    """
    host = url.host
    if not allow_private and _is_localhost_name(host):
        raise WebhookDestinationRefused(f"webhook host {host} is loopback", host=host)
    literal = _literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        port = url.port or _DEFAULT_PORTS[url.scheme]
        addresses = [ipaddress.ip_address(found) for found in await resolve(host, port)]
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    if not allow_private:
        for address in addresses:
            _refuse_if_forbidden(host, address)
    return addresses
