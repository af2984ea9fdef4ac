"""Server-side request forgery guard for subscriber-supplied webhook URLs.

A webhook URL is chosen by a tenant but requested from inside our network, so it must
never reach loopback, private (RFC 1918, ULA), link-local, multicast, reserved or
unspecified addresses, nor those same ranges disguised as IPv4-mapped, IPv4-compatible,
6to4, Teredo or NAT64 IPv6 addresses, nor legacy numeric IPv4 spellings (`2130706433`,
`0x7f.1`, `0177.1`) that resolvers accept.

`AVATARADAM_WEBHOOKS_ALLOW_PRIVATE=true` lets on-premises receivers on private and
loopback addresses through, but never link-local and cloud metadata addresses, in any
spelling: 169.254.0.0/16 (the metadata service of AWS, GCP, Azure and OCI at
169.254.169.254), fe80::/10, fd00:ec2::254 (AWS over IPv6), 100.100.100.200 (Alibaba),
nor names meant to reach them (`metadata.google.internal`, `instance-data`). No
legitimate receiver lives there, and a metadata service hands out cloud credentials.

Two checks, two moments:
- `validate_webhook_url` runs synchronously at subscription time; it rejects what is
  decidable without DNS (bad syntax, scheme, literal addresses, `localhost`, metadata
  names).
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

from avataradam.domain.errors import InvalidInput, WebhookDestinationRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Maps (host, port) to the addresses a connection could go to."""

ALLOWED_SCHEMES = frozenset({"http", "https"})
MAX_URL_LENGTH = 2048
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_PORTS = {"http": 80, "https": 443}


_ALWAYS_FORBIDDEN = (
    ipaddress.IPv4Network("169.254.0.0/16"),
    ipaddress.IPv6Network("fe80::/10"),
    ipaddress.IPv6Network("fd00:ec2::254/128"),
    ipaddress.IPv4Network("100.100.100.200/32"),
)
"""Link-local and cloud metadata addresses: refused even when private ones are allowed."""
_METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _metadata_reason(address: IPAddress) -> str | None:
    """ "link-local or cloud metadata" if `address`, or the IPv4 address it carries,
    is in one of the always-forbidden networks."""
    candidates = [address, _embedded_ipv4(address)]
    for candidate in candidates:
        if candidate is not None and any(
            candidate.version == network.version and candidate in network
            for network in _ALWAYS_FORBIDDEN
        ):
            return "link-local or cloud metadata"
    return None


def forbidden_reason(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why webhooks may not reach `address`, or None if they may: a public address,
    or with `allow_private` anything but a link-local or cloud metadata address."""
    metadata = _metadata_reason(address)
    if metadata is not None or allow_private:
        return metadata
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


def _refuse_by_name(host: str, *, allow_private: bool) -> None:
    """Names that mean loopback (unless private targets are allowed) or a metadata
    service (always), refused before any DNS."""
    if host.rstrip(".").lower() in _METADATA_NAMES:
        raise WebhookDestinationRefused(f"webhook host {host} is a cloud metadata name", host=host)
    if not allow_private and _is_localhost_name(host):
        raise WebhookDestinationRefused(f"webhook host {host} is loopback", host=host)


def parse_webhook_url(url: str, *, https_only: bool = False) -> httpx.URL:
    """The parsed URL, or InvalidInput if it is not an absolute http(s) URL (https with
    `https_only`, the deployment's `AVATARADAM_WEBHOOKS_HTTPS_ONLY`)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"webhook URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidInput("webhook URL is not a valid URL") from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise InvalidInput("webhook URL must use http or https")
    if https_only and parsed.scheme != "https":
        raise InvalidInput("webhook URL must use https on this deployment", field="url")
    if not parsed.host:
        raise InvalidInput("webhook URL has no host")
    if parsed.userinfo:
        raise InvalidInput("webhook URL may not carry credentials")
    return parsed


def _refuse_if_forbidden(host: str, address: IPAddress, *, allow_private: bool) -> None:
    reason = forbidden_reason(address, allow_private=allow_private)
    if reason is not None:
        raise WebhookDestinationRefused(
            f"webhook host {host} is a {reason} address ({address})", host=host
        )


def validate_webhook_url(url: str, allow_private: bool, *, https_only: bool = False) -> None:
    """Raise InvalidInput unless `url` could be a webhook destination.

    Decides only what needs no DNS; the sender re-checks resolved addresses on every
    delivery.
    """
    parsed = parse_webhook_url(url, https_only=https_only)
    _refuse_by_name(parsed.host, allow_private=allow_private)
    literal = _literal_address(parsed.host)
    if literal is not None:
        _refuse_if_forbidden(parsed.host, literal, allow_private=allow_private)


async def system_resolve(host: str, port: int) -> list[str]:
    """Resolve with the operating system's resolver, off the event loop thread."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_public_addresses(
    url: httpx.URL, *, allow_private: bool, resolve: Resolver = system_resolve
) -> list[IPAddress]:
    """Every address `url`'s host resolves to, in resolver order.

    Raises WebhookDestinationRefused if any of them is forbidden (with
    `allow_private`, if any is link-local or cloud metadata), and OSError if the host
    does not resolve.
    """
    host = url.host
    _refuse_by_name(host, allow_private=allow_private)
    literal = _literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        port = url.port or _DEFAULT_PORTS[url.scheme]
        addresses = [ipaddress.ip_address(found) for found in await resolve(host, port)]
    if not addresses:
        raise OSError(f"{host} resolves to no address")
    for address in addresses:
        _refuse_if_forbidden(host, address, allow_private=allow_private)
    return addresses
