"""In-memory webhooks: the repository's twin (see `adapters/postgres/webhooks.py`) and a
`WebhookSender` that records what it would have sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, overwrite, page, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.adapters.webhooks.signing import signature_header
from avataradam.domain.errors import Conflict
from avataradam.domain.model import DeliveryStatus, WebhookDelivery, WebhookSubscription
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.services import WebhookResult
from avataradam.domain.ports.system import Clock

_MUTABLE_SUBSCRIPTION = (
    "secret",
    "previous_secret",
    "previous_secret_expires_at",
    "active",
    "disabled_reason",
    "consecutive_failures",
    "circuit_open_until",
)
"""What `update` writes; the URL, events and owner never change."""
_MUTABLE_DELIVERY = ("status", "attempts", "last_status_code", "last_error", "updated_at", "due_at")
"""What `update_delivery` writes; what was sent never changes."""

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


class InMemoryWebhookRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, subscription: WebhookSubscription) -> None:
        def op(t: Tables) -> None:
            require(t.dealerships, subscription.dealership_id, "dealership")
            insert(t.webhook_subscriptions, subscription.id, subscription)

        self._tx.write(op)

    async def get(
        self, subscription_id: UUID, *, dealership_id: UUID | None
    ) -> WebhookSubscription | None:
        subscription = self._tx.tables.webhook_subscriptions.get(subscription_id)
        if subscription is None or dealership_id not in (None, subscription.dealership_id):
            return None
        return subscription

    async def get_for_update(self, subscription_id: UUID) -> WebhookSubscription | None:
        self._tx.require_writable()
        return self._tx.tables.webhook_subscriptions.get(subscription_id)

    async def update(self, subscription: WebhookSubscription) -> None:
        def op(t: Tables) -> None:
            overwrite(
                t.webhook_subscriptions,
                subscription.id,
                subscription,
                _MUTABLE_SUBSCRIPTION,
                "webhook subscription",
            )

        self._tx.write(op)

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]:
        rows = [
            s
            for s in self._tx.tables.webhook_subscriptions.values()
            if s.dealership_id == dealership_id
        ]
        return page(rows, lambda s: (s.created_at, s.id), cursor, limit)

    async def delete(self, subscription_id: UUID, *, dealership_id: UUID | None) -> bool:
        def op(t: Tables) -> bool:
            subscription = t.webhook_subscriptions.get(subscription_id)
            if subscription is None or dealership_id not in (None, subscription.dealership_id):
                return False
            del t.webhook_subscriptions[subscription_id]
            for delivery_id in [
                d.id for d in t.webhook_deliveries.values() if d.subscription_id == subscription_id
            ]:
                del t.webhook_deliveries[delivery_id]
            return True

        return self._tx.write(op)

    async def list_for_event(self, dealership_id: UUID, event: str) -> list[WebhookSubscription]:
        rows = [
            s
            for s in self._tx.tables.webhook_subscriptions.values()
            if s.dealership_id == dealership_id and s.active and event in s.events
        ]
        return sorted(rows, key=lambda s: (s.created_at, s.id))

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        def op(t: Tables) -> None:
            require(t.webhook_subscriptions, delivery.subscription_id, "webhook subscription")
            if any(
                d.subscription_id == delivery.subscription_id
                and d.message_id == delivery.message_id
                for d in t.webhook_deliveries.values()
            ):
                raise Conflict("this event was already recorded for the subscription")
            insert(t.webhook_deliveries, delivery.id, delivery)

        self._tx.write(op)

    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None:
        return self._tx.tables.webhook_deliveries.get(delivery_id)

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        def op(t: Tables) -> None:
            overwrite(
                t.webhook_deliveries, delivery.id, delivery, _MUTABLE_DELIVERY, "webhook delivery"
            )

        self._tx.write(op)

    async def claim_delivery(
        self, delivery_id: UUID, *, now: datetime, lease_until: datetime
    ) -> WebhookDelivery | None:
        def op(t: Tables) -> WebhookDelivery | None:
            current = t.webhook_deliveries.get(delivery_id)
            if (
                current is None
                or current.status is not DeliveryStatus.PENDING
                or current.due_at is None
                or current.due_at > now
            ):
                return None
            claimed = msgspec.structs.replace(current, due_at=lease_until)
            t.webhook_deliveries[delivery_id] = claimed
            return claimed

        return self._tx.write(op, replay_must_agree=True)

    async def redrive_overdue(
        self, *, overdue_before: datetime, now: datetime, limit: int
    ) -> list[UUID]:
        def op(t: Tables) -> list[UUID]:
            overdue = sorted(
                (
                    d
                    for d in t.webhook_deliveries.values()
                    if d.status is DeliveryStatus.PENDING
                    and d.due_at is not None
                    and d.due_at < overdue_before
                ),
                key=lambda d: (d.due_at, d.id),
            )[:limit]
            for delivery in overdue:
                t.webhook_deliveries[delivery.id] = msgspec.structs.replace(delivery, due_at=now)
            return [d.id for d in overdue]

        return self._tx.write(op, replay_must_agree=True)

    async def fail_pending(self, subscription_id: UUID, *, reason: str, now: datetime) -> int:
        def op(t: Tables) -> int:
            pending = [
                d
                for d in t.webhook_deliveries.values()
                if d.subscription_id == subscription_id and d.status is DeliveryStatus.PENDING
            ]
            for delivery in pending:
                t.webhook_deliveries[delivery.id] = msgspec.structs.replace(
                    delivery,
                    status=DeliveryStatus.FAILED,
                    last_error=reason,
                    updated_at=now,
                    due_at=None,
                )
            return len(pending)

        return self._tx.write(op)

    async def list_deliveries(
        self,
        *,
        subscription_id: UUID,
        status: DeliveryStatus | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        rows = [
            d
            for d in self._tx.tables.webhook_deliveries.values()
            if d.subscription_id == subscription_id and status in (None, d.status)
        ]
        return page(rows, lambda d: (d.created_at, d.id), cursor, limit)
