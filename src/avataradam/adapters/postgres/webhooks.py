"""Webhook subscriptions and deliveries in PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    insert,
    page_after,
    page_params,
    params,
    select,
    update,
)
from avataradam.domain.errors import Conflict
from avataradam.domain.model import DeliveryStatus, WebhookDelivery, WebhookSubscription
from avataradam.domain.pagination import Cursor

_NEW_SUBSCRIPTION = columns("id, dealership_id, url, events, secret, active, created_at")
"""A new subscription's columns; the others start at their defaults."""
_SELECT_SUBSCRIPTION = select(
    "webhook_subscriptions",
    (
        *_NEW_SUBSCRIPTION,
        *columns(
            "previous_secret, previous_secret_expires_at, disabled_reason,"
            " consecutive_failures, circuit_open_until"
        ),
    ),
)
_INSERT_SUBSCRIPTION = insert("webhook_subscriptions", _NEW_SUBSCRIPTION)
_MUTABLE_SUBSCRIPTION = columns(
    "id, secret, previous_secret, previous_secret_expires_at, active, disabled_reason,"
    " consecutive_failures, circuit_open_until"
)
_UPDATE_SUBSCRIPTION = update("webhook_subscriptions", _MUTABLE_SUBSCRIPTION)

_DELIVERY = columns(
    "id, subscription_id, event_type, message_id, payload, status, attempts,"
    " last_status_code, last_error, created_at, updated_at, due_at"
)
_SELECT_DELIVERY = select("webhook_deliveries", _DELIVERY)
_INSERT_DELIVERY = insert("webhook_deliveries", _DELIVERY)
_MUTABLE_DELIVERY = columns(
    "id, status, attempts, last_status_code, last_error, updated_at, due_at"
)
_UPDATE_DELIVERY = update("webhook_deliveries", _MUTABLE_DELIVERY)
_CLAIM_DELIVERY = (
    "UPDATE webhook_deliveries SET due_at = $3"
    " WHERE id = $1 AND status = 'pending' AND due_at <= $2"
    " RETURNING id, subscription_id, event_type, message_id, payload, status, attempts, "
    "last_status_code, last_error, created_at, updated_at, due_at"
)


class PostgresWebhookRepository(ConnectionRepository):
    @translate
    async def add(self, subscription: WebhookSubscription) -> None:
        await self._conn.execute(_INSERT_SUBSCRIPTION, *params(subscription, _NEW_SUBSCRIPTION))

    @translate
    async def get(
        self, subscription_id: UUID, *, dealership_id: UUID | None
    ) -> WebhookSubscription | None:
        return await self._one(
            WebhookSubscription,
            f"{_SELECT_SUBSCRIPTION} WHERE id = $1 AND ($2::uuid IS NULL OR dealership_id = $2)",
            subscription_id,
            dealership_id,
        )

    @translate
    async def get_for_update(self, subscription_id: UUID) -> WebhookSubscription | None:
        """The subscription, row-locked until the transaction ends."""
        return await self._one(
            WebhookSubscription, f"{_SELECT_SUBSCRIPTION} WHERE id = $1 FOR UPDATE", subscription_id
        )

    @translate
    async def update(self, subscription: WebhookSubscription) -> None:
        """Writes secrets, state and circuit; the URL, events and owner never change."""
        await self._update_one(
            f"{_UPDATE_SUBSCRIPTION} WHERE id = $1",
            params(subscription, _MUTABLE_SUBSCRIPTION),
            "webhook subscription",
        )

    @translate
    async def list_page(
        self, *, dealership_id: UUID, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]:
        return await self._all(
            WebhookSubscription,
            f"{_SELECT_SUBSCRIPTION} WHERE dealership_id = $1 AND {page_after(2, cursor)}",
            dealership_id,
            *page_params(cursor, limit),
        )

    @translate
    async def delete(self, subscription_id: UUID, *, dealership_id: UUID | None) -> bool:
        """Deletes the subscription and its deliveries; False when there was none."""
        status = await self._conn.execute(
            "DELETE FROM webhook_subscriptions"
            " WHERE id = $1 AND ($2::uuid IS NULL OR dealership_id = $2)",
            subscription_id,
            dealership_id,
        )
        return affected_rows(status) > 0

    @translate
    async def list_for_event(self, dealership_id: UUID, event: str) -> list[WebhookSubscription]:
        """Active subscriptions of the dealership to this event, oldest first."""
        return await self._all(
            WebhookSubscription,
            f"{_SELECT_SUBSCRIPTION}"
            " WHERE dealership_id = $1 AND active AND $2 = ANY(events)"
            " ORDER BY created_at, id",
            dealership_id,
            event,
        )

    @translate
    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        """ON CONFLICT DO NOTHING keeps the transaction usable when the event is known."""
        status = await self._conn.execute(
            f"{_INSERT_DELIVERY} ON CONFLICT (subscription_id, message_id) DO NOTHING",
            *params(delivery, _DELIVERY),
        )
        if status == "INSERT 0 0":
            raise Conflict("this event was already recorded for the subscription")

    @translate
    async def get_delivery(self, delivery_id: UUID) -> WebhookDelivery | None:
        return await self._one(WebhookDelivery, f"{_SELECT_DELIVERY} WHERE id = $1", delivery_id)

    @translate
    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        """Writes the outcome fields; what was sent never changes."""
        await self._update_one(
            f"{_UPDATE_DELIVERY} WHERE id = $1",
            params(delivery, _MUTABLE_DELIVERY),
            "webhook delivery",
        )

    @translate
    async def claim_delivery(
        self, delivery_id: UUID, *, now: datetime, lease_until: datetime
    ) -> WebhookDelivery | None:
        """The pending delivery, now leased until `lease_until`, if it was due at `now`."""
        return await self._one(
            WebhookDelivery,
            _CLAIM_DELIVERY,
            delivery_id,
            now,
            lease_until,
        )

    @translate
    async def redrive_overdue(
        self, *, overdue_before: datetime, now: datetime, limit: int
    ) -> list[UUID]:
        """Pending deliveries due before `overdue_before`, made due at `now`; rows another
        transaction holds are skipped."""
        rows = await self._conn.fetch(
            "UPDATE webhook_deliveries SET due_at = $2 WHERE id IN ("
            " SELECT id FROM webhook_deliveries WHERE status = 'pending' AND due_at < $1"
            " ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id",
            overdue_before,
            now,
            limit,
        )
        return [row["id"] for row in rows]

    @translate
    async def fail_pending(self, subscription_id: UUID, *, reason: str, now: datetime) -> int:
        """Marks every pending delivery of the subscription failed; returns how many."""
        status = await self._conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', last_error = $2,"
            " updated_at = $3, due_at = NULL WHERE subscription_id = $1 AND status = 'pending'",
            subscription_id,
            reason,
            now,
        )
        return affected_rows(status)

    @translate
    async def list_deliveries(
        self,
        *,
        subscription_id: UUID,
        status: DeliveryStatus | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[WebhookDelivery]:
        return await self._all(
            WebhookDelivery,
            f"{_SELECT_DELIVERY} WHERE subscription_id = $1"
            " AND ($2::text IS NULL OR status = $2)"
            f" AND {page_after(3, cursor)}",
            subscription_id,
            None if status is None else status.value,
            *page_params(cursor, limit),
        )
