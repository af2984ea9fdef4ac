"""In-memory `WebhookSender` that records what it would have sent."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from avataradam.adapters.webhooks.signing import signature_header
from avataradam.domain.ports.services import WebhookResult
from avataradam.domain.ports.system import Clock

DELIVERED = WebhookResult(delivered=True, status_code=200, error=None)


class SentWebhook(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    message_id: str
    timestamp: int
    payload: bytes
    signature: str


class InMemoryWebhookSender:
    """`WebhookSender` fake: every call lands in `sent`, signed as the real one signs.

    Answers `DELIVERED` unless `respond_with` set another result for the URL, so tests
    can drive retry and failure paths without a network.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._results: dict[str, WebhookResult] = {}
        self.sent: list[SentWebhook] = []

    def respond_with(self, url: str, result: WebhookResult) -> None:
        self._results[url] = result

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
        self.sent.append(
            SentWebhook(
                url=url,
                message_id=message_id,
                timestamp=timestamp,
                payload=payload,
                signature=signature_header(
                    (secret, *previous_secrets), message_id, timestamp, payload
                ),
            )
        )
        return self._results.get(url, DELIVERED)
