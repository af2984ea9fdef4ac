"""`WebhookSender` over httpx, signed per Standard Webhooks, guarded against SSRF."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

import certifi
import httpx

from avataradam.adapters.webhooks.signing import signature_header
from avataradam.adapters.webhooks.ssrf import (
    IPAddress,
    Resolver,
    parse_webhook_url,
    resolve_public_addresses,
    system_resolve,
)
from avataradam.domain.errors import InvalidInput
from avataradam.domain.ports.services import WebhookResult
from avataradam.domain.ports.system import Clock

USER_AGENT = "AvatarAdam-Webhooks/1"


def _failed(error: str, status_code: int | None = None) -> WebhookResult:
    return WebhookResult(delivered=False, status_code=status_code, error=error)


def _result_for(status_code: int) -> WebhookResult:
    if 200 <= status_code < 300:
        return WebhookResult(delivered=True, status_code=status_code, error=None)
    return _failed(f"receiver answered {status_code}", status_code)


class HttpxWebhookSender:
    """`WebhookSender`: one POST per call, to an address vetted by the SSRF guard.

    The host is resolved once and the connection goes to the vetted address itself
    (the URL's host swapped for the IP, with the original `Host` header and, for https,
    the original name as SNI and certificate name), so no second DNS lookup can
    redirect it. Redirects are not followed: a 3xx is a failed delivery. Each call
    uses a fresh connection, because a pooled TLS connection is keyed by IP and could
    otherwise carry one host's request over another host's session. Environment proxy
    settings are ignored, since a proxy would make the guard meaningless.

    `timeout_s` bounds the whole delivery, resolution included. With `https_only` a
    plain-http URL (subscribed before the policy was on) is refused, never requested.
    Every receiver-side failure (refused destination, DNS failure, timeout, connection
    error, non-2xx) is reported in the result, never raised.
    """

    def __init__(
        self,
        allow_private: bool,
        timeout_s: float,
        clock: Clock,
        *,
        resolve: Resolver = system_resolve,
        https_only: bool = False,
    ) -> None:
        self._allow_private = allow_private
        self._https_only = https_only
        self._timeout_s = timeout_s
        self._clock = clock
        self._resolve = resolve
        self._ssl_context = ssl.create_default_context(cafile=certifi.where())

    async def send(
        self,
        *,
        url: str,
        secret: str,
        message_id: str,
        payload: bytes,
        previous_secrets: Sequence[str] = (),
    ) -> WebhookResult:
        timestamp = int(self._clock.now().timestamp())
        signature = signature_header((secret, *previous_secrets), message_id, timestamp, payload)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature,
        }
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._deliver(url, headers, payload)
        except (TimeoutError, httpx.TimeoutException):
            return _failed(f"timed out after {self._timeout_s:g} s")

    async def _deliver(self, url: str, headers: dict[str, str], payload: bytes) -> WebhookResult:
        try:
            target = parse_webhook_url(url, https_only=self._https_only)
            addresses = await resolve_public_addresses(
                target, allow_private=self._allow_private, resolve=self._resolve
            )
        except InvalidInput as exc:
            return _failed(exc.message)
        except OSError as exc:
            return _failed(f"cannot resolve webhook host: {exc}")
        connect_errors: list[str] = []
        for address in addresses:
            try:
                status_code = await self._post(target, address, headers, payload)
            except httpx.ConnectError as exc:
                connect_errors.append(f"{address}: {exc}")
                continue
            except httpx.TimeoutException:
                raise
            except httpx.HTTPError as exc:
                return _failed(f"delivery failed: {type(exc).__name__}: {exc}")
            return _result_for(status_code)
        return _failed("cannot connect: " + "; ".join(connect_errors))

    async def _post(
        self, target: httpx.URL, address: IPAddress, headers: dict[str, str], payload: bytes
    ) -> int:
        pinned = target.copy_with(host=str(address))
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        async with (
            httpx.AsyncClient(
                verify=self._ssl_context,
                timeout=self._timeout_s,
                follow_redirects=False,
                trust_env=False,
            ) as client,
            client.stream(
                "POST",
                pinned,
                content=payload,
                headers={**headers, "host": target.netloc.decode("ascii")},
                extensions=extensions,
            ) as response,
        ):
            return response.status_code
