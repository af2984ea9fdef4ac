"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from uuid import UUID

import msgspec


class WebhookSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A URL subscribed to events, with its signing secret and its circuit.

    After a rotation `previous_secret` also signs every delivery until
    `previous_secret_expires_at`. The circuit counts consecutive failed attempts; at
    the threshold it opens until `circuit_open_until`, and deliveries wait instead of
    taking a sender for a receiver that does not answer.
    """

    id: UUID
    dealership_id: UUID
    url: str
    events: tuple[str, ...]
    secret: str
    active: bool
    created_at: datetime
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    circuit_open_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets that sign a delivery made at `now`: the current one first."""
        expires = self.previous_secret_expires_at
        if self.previous_secret is not None and expires is not None and now < expires:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def circuit_closed_at(self, now: datetime, threshold: int) -> datetime | None:
        """None if a delivery may be attempted at `now`, else when it may be: the
        circuit is open (`threshold` consecutive failures) and not yet due for a probe."""
        if self.consecutive_failures < threshold or self.circuit_open_until is None:
            return None
        return self.circuit_open_until if now < self.circuit_open_until else None

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> WebhookSubscription:
        """The subscription signing with `new_secret`, and with the current one until
        `now + grace`; a secret rotated out earlier stops signing at once."""
        return msgspec.structs.replace(
            self,
            secret=new_secret,
            previous_secret=self.secret,
            previous_secret_expires_at=now + grace,
        )


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one subscription; `message_id` is the stable `webhook-id`."""

    id: UUID
    subscription_id: UUID
    event_type: str
    message_id: str
    payload: bytes
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    """When a `pending` delivery is next attempted, or while an attempt runs, the end of
    its lease; None once delivered or failed."""
