"""The SSRF guard refuses every internal destination, however it is spelled."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from avataradam.adapters.webhooks import resolve_public_addresses, validate_webhook_url
from avataradam.adapters.webhooks.ssrf import Resolver, forbidden_reason
from avataradam.domain.errors import InvalidInput, WebhookDestinationRefused

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://127.255.0.9:8080/",
    "http://[::1]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:169.254.169.254]/",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://localhost/hook",
    "http://LOCALHOST.:9000/hook",
    "http://api.localhost/hook",
    "http://2130706433/hook",
    "http://0x7f.1/hook",
    "http://017700000001/hook",
    "http://[fe80::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://224.0.0.1/hook",
    "http://[ff02::1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[64:ff9b::a00:1]/hook",
    "http://100.64.0.1/hook",
    "http://240.0.0.1/hook",
]

PUBLIC_URLS = [
    "https://hooks.example.com/avataradam",
    "http://8.8.8.8/hook",
    "https://[2606:4700:4700::1111]:8443/hook",
    "https://dealer.example.com:8443/a/b?c=d",
]

MALFORMED_URLS = [
    "",
    "not a url",
    "ftp://example.com/hook",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "https://",
    "//example.com/hook",
    "http://user:password@example.com/hook",
    "https://example.com/" + "a" * 3000,
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_destination_is_refused_at_subscription(url: str) -> None:
    with pytest.raises(WebhookDestinationRefused):
        validate_webhook_url(url, allow_private=False)


METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://169.254.170.2/v2/credentials",
    "http://169.254.0.1/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://025177524776/",
    "http://0251.0xfe.43518/",
    "http://169.254.43518/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[64:ff9b::169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[febf:ffff::1]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://METADATA.GOOGLE.INTERNAL./computeMetadata/v1/",
    "http://metadata/computeMetadata/v1/",
    "http://metadata.goog/",
    "http://instance-data/latest/meta-data/",
]
"""Link-local and cloud metadata destinations, in every spelling a resolver accepts."""

ON_PREMISES_URLS = [url for url in INTERNAL_URLS if "169.254" not in url and "fe80" not in url]


@pytest.mark.parametrize("url", ON_PREMISES_URLS)
def test_on_premises_destination_is_allowed_when_private_targets_are_enabled(url: str) -> None:
    validate_webhook_url(url, allow_private=True)


@pytest.mark.parametrize("url", METADATA_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_link_local_and_metadata_destinations_are_refused_whatever_the_setting(
    url: str, allow_private: bool
) -> None:
    with pytest.raises(WebhookDestinationRefused):
        validate_webhook_url(url, allow_private=allow_private)


@pytest.mark.parametrize(
    "answer", ["169.254.169.254", "fe80::a9fe:a9fe", "::ffff:169.254.169.254", "fd00:ec2::254"]
)
async def test_a_name_rebound_to_a_metadata_address_is_refused_at_delivery_with_private_allowed(
    answer: str,
) -> None:
    resolve, _ = _resolver(["10.0.0.7", answer])

    with pytest.raises(WebhookDestinationRefused, match="metadata"):
        await resolve_public_addresses(
            httpx.URL("http://receiver.on-prem.example/"), allow_private=True, resolve=resolve
        )


@pytest.mark.parametrize("url", METADATA_URLS)
async def test_metadata_destination_is_refused_at_delivery_before_any_dns(url: str) -> None:
    resolve, looked_up = _resolver(["10.0.0.7"])

    with pytest.raises(WebhookDestinationRefused):
        await resolve_public_addresses(httpx.URL(url), allow_private=True, resolve=resolve)
    assert looked_up == []


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_public_destination_is_accepted(url: str) -> None:
    validate_webhook_url(url, allow_private=False)


@pytest.mark.parametrize("url", MALFORMED_URLS)
@pytest.mark.parametrize("allow_private", [False, True])
def test_malformed_or_non_http_url_is_invalid_input(url: str, allow_private: bool) -> None:
    with pytest.raises(InvalidInput):
        validate_webhook_url(url, allow_private=allow_private)


def _resolver(answers: Sequence[str]) -> tuple[Resolver, list[tuple[str, int]]]:
    looked_up: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        looked_up.append((host, port))
        return answers

    return resolve, looked_up


async def test_host_resolving_to_any_private_address_is_refused() -> None:
    resolve, _ = _resolver(["93.184.216.34", "10.0.0.7"])

    with pytest.raises(WebhookDestinationRefused, match=r"10\.0\.0\.7"):
        await resolve_public_addresses(
            httpx.URL("https://rebind.example.com/"), allow_private=False, resolve=resolve
        )


async def test_host_resolving_to_public_addresses_yields_them_in_order() -> None:
    resolve, looked_up = _resolver(["93.184.216.34", "2606:2800:220:1::1"])

    addresses = await resolve_public_addresses(
        httpx.URL("https://hooks.example.com:8443/"), allow_private=False, resolve=resolve
    )

    assert [str(address) for address in addresses] == ["93.184.216.34", "2606:2800:220:1::1"]
    assert looked_up == [("hooks.example.com", 8443)]


async def test_default_port_of_the_scheme_is_resolved() -> None:
    resolve, looked_up = _resolver(["93.184.216.34"])

    await resolve_public_addresses(
        httpx.URL("http://hooks.example.com/"), allow_private=False, resolve=resolve
    )

    assert looked_up == [("hooks.example.com", 80)]


async def test_localhost_resolved_by_the_system_is_refused() -> None:
    with pytest.raises(WebhookDestinationRefused):
        await resolve_public_addresses(httpx.URL("http://localhost:9/"), allow_private=False)


async def test_name_the_system_resolves_to_loopback_is_refused() -> None:
    resolve, _ = _resolver(["127.0.0.1", "::1"])

    with pytest.raises(WebhookDestinationRefused, match="loopback"):
        await resolve_public_addresses(
            httpx.URL("http://innocent.example.com/"), allow_private=False, resolve=resolve
        )


async def test_private_resolution_is_allowed_when_enabled() -> None:
    addresses = await resolve_public_addresses(httpx.URL("http://127.0.0.1:9/"), allow_private=True)

    assert addresses == [ipaddress.ip_address("127.0.0.1")]


async def test_literal_address_is_checked_without_dns() -> None:
    resolve, looked_up = _resolver(["93.184.216.34"])

    with pytest.raises(WebhookDestinationRefused):
        await resolve_public_addresses(
            httpx.URL("http://[::ffff:10.0.0.1]/"), allow_private=False, resolve=resolve
        )
    assert looked_up == []


ipv4_addresses = st.integers(min_value=0, max_value=2**32 - 1).map(ipaddress.IPv4Address)


@given(ipv4_addresses)
def test_forbidden_ipv4_stays_forbidden_in_any_ipv6_disguise(
    address: ipaddress.IPv4Address,
) -> None:
    disguises = [
        ipaddress.IPv6Address("::ffff:" + str(address)),
        ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80)),
        ipaddress.IPv6Address("64:ff9b::" + str(address)),
    ]

    if forbidden_reason(address) is not None:
        for disguise in disguises:
            assert forbidden_reason(disguise) is not None, disguise


@given(ipv4_addresses)
def test_ipv4_is_allowed_only_if_globally_routable_and_unicast(
    address: ipaddress.IPv4Address,
) -> None:
    allowed = forbidden_reason(address) is None

    assert allowed == (address.is_global and not address.is_multicast)


link_local_v4 = st.integers(min_value=0, max_value=2**16 - 1).map(
    lambda low: ipaddress.IPv4Address((169 << 24) | (254 << 16) | low)
)


@given(link_local_v4)
def test_link_local_ipv4_is_refused_in_any_disguise_even_with_private_allowed(
    address: ipaddress.IPv4Address,
) -> None:
    disguises: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [
        address,
        ipaddress.IPv6Address("::ffff:" + str(address)),
        ipaddress.IPv6Address("::" + str(address)),
        ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80)),
        ipaddress.IPv6Address("64:ff9b::" + str(address)),
    ]

    for disguise in disguises:
        assert forbidden_reason(disguise, allow_private=True) is not None, disguise


@given(ipv4_addresses)
def test_allowing_private_targets_refuses_only_link_local_and_metadata_ipv4(
    address: ipaddress.IPv4Address,
) -> None:
    metadata = address.is_link_local or str(address) == "100.100.100.200"

    assert (forbidden_reason(address, allow_private=True) is not None) == metadata
