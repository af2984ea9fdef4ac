"""Bodies of webhook subscriptions and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import DeliveryStatus
from avataradam.entrypoints.http.schemas.common import DealershipId


class WebhookCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: Annotated[
        str,
        msgspec.Meta(
            min_length=8, max_length=2048, examples=["https://hooks.example.com/avataradam"]
        ),
    ]
    events: Annotated[
        list[str],
        msgspec.Meta(
            min_length=1,
            max_length=10,
            description=(
                "Any of `document.ready`, `document.failed`, `document.deleted`, "
                "`usage.budget_threshold`, `conversation.scored`, `assignment.completed`, "
                "`assignment.overdue`."
            ),
            examples=[["document.ready", "document.failed"]],
        ),
    ]
    dealership_id: DealershipId | None = None


class WebhookOut(msgspec.Struct, frozen=True, omit_defaults=True):
    id: UUID
    dealership_id: UUID
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    secret: str | None = None
    """Present only in the answer to the creation and to a rotation; store it to verify
    signatures."""
    disabled_reason: str | None = None
    """Why a subscription is no longer `active` (say the receiver answered `410 Gone`)."""
    previous_secret_expires_at: datetime | None = None
    """After a rotation: until when the previous secret also signs every delivery."""
    circuit_open_until: datetime | None = None
    """While the receiver keeps failing: deliveries wait until then, then one probes."""


class WebhookDeliveryOut(msgspec.Struct, frozen=True):
    id: UUID
    event_type: str
    message_id: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None
    """When a `pending` delivery is next attempted (or its running attempt's lease ends)."""


class WebhookDetailOut(msgspec.Struct, frozen=True):
    subscription: WebhookOut
    deliveries: list[WebhookDeliveryOut]
