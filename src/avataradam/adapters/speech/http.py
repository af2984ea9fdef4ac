"""One call to a cloud speech or avatar API over httpx, with the retry policy and the
transport errors every such adapter shares.

Retried, `max_retries` times with exponential backoff (0.25 s, 0.5 s, … honouring a
`Retry-After` of up to `MAX_RETRY_AFTER_S`): a connection that could not be opened or
was dropped before an answer, and the statuses worth repeating (408, 409, 429, 5xx)
unless the caller's `retryable` says otherwise (a 429 for an exhausted quota is not).
A read timeout is not retried: the request took its whole `timeout_s` once already, and
a user is waiting. What still fails is `SpeechUnavailable`; any other answer, a refusal
included, goes back to the adapter, which knows what the provider's 4xx mean.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from avataradam.domain.ports.speech import SpeechUnavailable

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 4.0
_FIRST_BACKOFF_S = 0.25


def is_retryable_status(response: httpx.Response) -> bool:
    return response.status_code in RETRYABLE_STATUSES


def new_client(timeout_s: float) -> httpx.AsyncClient:
    """A client of the adapter's own; connection errors surface fast (5 s at most)."""
    return httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)))


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    provider: str,
    timeout_s: float,
    max_retries: int,
    retryable: Callable[[httpx.Response], bool] = is_retryable_status,
    **request: Any,
) -> httpx.Response:
    """Sends the request (`request` as for `httpx.AsyncClient.request`) and returns the
    first answer that is not to be retried, or the last one once retries run out.
    Raises `SpeechUnavailable` when no answer comes."""
    timeout = httpx.Timeout(timeout_s, connect=min(5.0, timeout_s))
    attempt = 0
    while True:
        try:
            response = await client.request(method, url, timeout=timeout, **request)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            if attempt >= max_retries:
                raise SpeechUnavailable(f"{provider} cannot be reached", provider=provider) from exc
            delay_s = _backoff_s(attempt)
        except httpx.TimeoutException as exc:
            raise SpeechUnavailable(
                f"{provider} did not answer within {timeout_s:g} s", provider=provider
            ) from exc
        except httpx.HTTPError as exc:
            raise SpeechUnavailable(f"{provider} broke off the answer", provider=provider) from exc
        else:
            if attempt >= max_retries or not retryable(response):
                return response
            delay_s = _retry_after_s(response) or _backoff_s(attempt)
        attempt += 1
        await asyncio.sleep(delay_s)


def unavailable(provider: str, response: httpx.Response, detail: str = "") -> SpeechUnavailable:
    """The error for an answer that is a refusal or an outage; the status goes in the
    details, the provider's own message (never the key) in the text."""
    text = f"{provider} answered {response.status_code}"
    return SpeechUnavailable(
        f"{text}: {detail}" if detail else text,
        provider=provider,
        status=response.status_code,
    )


def _backoff_s(attempt: int) -> float:
    return float(_FIRST_BACKOFF_S * 2**attempt)


def _retry_after_s(response: httpx.Response) -> float | None:
    milliseconds = response.headers.get("retry-after-ms")
    seconds = response.headers.get("retry-after")
    value: float | None = None
    with contextlib.suppress(ValueError):
        if milliseconds is not None:
            value = float(milliseconds) / 1000
        elif seconds is not None:
            value = float(seconds)
    if value is None or value < 0:
        return None
    return min(value, MAX_RETRY_AFTER_S)
