"""Persistence port of webhook subscriptions and their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.pagination import Cursor


class WebhookRepository(Protocol):
    """Webhook subscriptions and their deliveries.

    A delivery is unique per (subscription_id, message_id): recording the same event
    twice raises Conflict, so a re-run never sends a duplicate.
    """

    async def add(self, subscription: WebhookSubscription) -> None: ...
    async def get(
        self, subscription_id: UUID, *, dealership_id: UUID | None
    ) -> WebhookSubscription | None: ...
    async def get_for_update(self, subscription_id: UUID) -> WebhookSubscription | None:
        """Any dealership's subscription, locked until the transaction ends."""
        ...

    async def update(self, subscription: WebhookSubscription) -> None:
        """Writes secrets, `active`, `disabled_reason` and the circuit."""
        ...

    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]: ...
    async def delete(self, subscription_id: UUID, *, dealership_id: UUID | None) -> bool: ...
    async def list_for_event(
        self, dealership_id: UUID, event: str
    ) -> list[WebhookSubscription]: ...
    async def add_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None: ...
    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def claim_delivery(
        self, delivery_id: UUID, *, now: datetime, lease_until: datetime
    ) -> WebhookDelivery | None:
        """Leases a `pending` delivery due at `now` (`due_at` <= now) by moving `due_at` to
        `lease_until`, and returns it; None if it is not pending or not due (another
        sender holds it, or it waits for a retry), so one delivery never has two senders."""
        ...

    async def redrive_overdue(
        self, *, overdue_before: datetime, now: datetime, limit: int
    ) -> list[UUID]:
        """Ids of up to `limit` pending deliveries due before `overdue_before` (their
        message is presumed lost), whose `due_at` becomes `now`; concurrent callers never
        get the same delivery."""
        ...

    async def fail_pending(self, subscription_id: UUID, *, reason: str, now: datetime) -> int:
        """Marks every pending delivery of the subscription failed with `reason`."""
        ...

    async def list_deliveries(
        self,
        *,
        subscription_id: UUID,
        status: DeliveryStatus | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[WebhookDelivery]: ...
