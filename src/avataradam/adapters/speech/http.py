"""One call to a cloud speech or avatar API over httpx, with the retry policy and the
transport errors every such adapter shares.

Retried, `max_retries` times with exponential backoff (0.25 s, 0.5 s, … honouring a
`Retry-After` of up to `MAX_RETRY_AFTER_S`): a connection that could not be opened or
was dropped before an answer, and the statuses worth repeating (408, 409, 429, 5xx)
unless the caller's `retryable` says otherwise (a 429 for an exhausted quota is not).
A read timeout is not retried: the request took its whole `timeout_s` once already, and
a user is waiting. What still fails is `SpeechUnavailable`; any other answer, a refusal
included, goes back to the adapter, which knows what the provider's 4xx mean.

`CloudApi` is the base of the cloud adapters: their client (shared or owned), their
POSTs through `call`, and the mapping of answers every one of them makes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from avataradam.domain.ports.speech import SpeechUnavailable, UnreadableAudio

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 4.0
_FIRST_BACKOFF_S = 0.25
_AUDIO_WORDS = ("audio", "file", "format", "decod", "corrupt")


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


def json_body(response: httpx.Response) -> object:
    """The answer's JSON, None when its body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def json_object(provider: str, response: httpx.Response) -> Mapping[str, Any]:
    """The answer's JSON object. Raises `SpeechUnavailable` when it is not one."""
    try:
        body = response.json()
    except ValueError as exc:
        raise SpeechUnavailable(f"{provider} answered a body that is not JSON") from exc
    if not isinstance(body, Mapping):
        raise SpeechUnavailable(f"{provider} answered JSON that is not an object")
    return body


def validation_messages(detail: list[Any]) -> str:
    """The `msg`s of a FastAPI 422 `detail: [{loc, msg, type}]`, joined (300 characters
    at most)."""
    return "; ".join(
        str(item.get("msg")) for item in detail if isinstance(item, Mapping) and item.get("msg")
    )[:300]


def mentions_the_audio(message: str) -> bool:
    """Whether a provider's error message is about the uploaded file (its format, its
    decoding) rather than the request."""
    said = message.lower()
    return any(word in said for word in _AUDIO_WORDS)


class CloudApi:
    """The base of an adapter of a cloud API: POSTs to `base_url` with `headers` through
    `call` (`retryable` decides which answers are asked again), and the errors of
    answers that are not 200, with `error_message(response)` (the provider's own
    message, never the key) in their text.

    `client` may be shared (the adapter then never closes it); otherwise the adapter
    owns one, closed by `aclose`."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str],
        error_message: Callable[[httpx.Response], str],
        timeout_s: float,
        max_retries: int,
        client: httpx.AsyncClient | None,
        retryable: Callable[[httpx.Response], bool] = is_retryable_status,
    ) -> None:
        self._provider = provider
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._error_message = error_message
        self._timeout_s = timeout_s
        self._max_retries = max_retries
        self._retryable = retryable
        self._owns_client = client is None
        self._client = client if client is not None else new_client(timeout_s)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _post(self, path: str, **request: Any) -> httpx.Response:
        return await call(
            self._client,
            "POST",
            f"{self._base_url}{path}",
            provider=self._provider,
            timeout_s=self._timeout_s,
            max_retries=self._max_retries,
            retryable=self._retryable,
            headers=self._headers,
            **request,
        )

    def _answered(self, response: httpx.Response) -> httpx.Response:
        """`response` when it is a 200. Raises `SpeechUnavailable` (see `unavailable`)."""
        if response.status_code != 200:
            raise unavailable(self._provider, response, self._error_message(response))
        return response

    def _heard(
        self, response: httpx.Response, *, media_type: str, about_the_audio: bool
    ) -> Mapping[str, Any]:
        """The JSON object of a transcription's 200. Raises `UnreadableAudio` for a
        refusal `about_the_audio`, `SpeechUnavailable` for any other."""
        if about_the_audio:
            raise UnreadableAudio(
                f"{self._provider} cannot read the recording: {self._error_message(response)}",
                type=media_type,
            )
        return json_object(self._provider, self._answered(response))


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
