"""The outbox relay: what the API and the worker recorded in a transaction, handed on."""

from __future__ import annotations

from datetime import timedelta

from avataradam.domain.errors import Conflict, DependencyUnavailable
from avataradam.domain.model import (
    DeliveryStatus,
    Event,
    OutboxEntry,
    Task,
    WebhookDelivery,
)
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import DELIVER_WEBHOOK


class RelayOutbox:
    """Hands due outbox entries on: tasks to the queue, events to webhook deliveries."""

    def __init__(
        self, uow: UnitOfWorkFactory, queue: TaskQueue, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow, self._queue, self._clock, self._ids = uow, queue, clock, ids

    async def __call__(self, limit: int = 100) -> int:
        async with self._uow() as uow:
            entries = await uow.outbox.claim_due(limit, self._clock.now())
            for entry in entries:
                try:
                    message = entry.message
                    if isinstance(message, Task):
                        await self._queue.enqueue(message.name, message.payload())
                    else:
                        await self._fan_out(uow, entry, message)
                except DependencyUnavailable:
                    await uow.outbox.reschedule(entry.id, self._clock.now() + timedelta(seconds=5))
                    continue
                await uow.outbox.mark_done(entry.id)
            await uow.commit()
        return len(entries)

    async def _fan_out(self, uow: UnitOfWork, entry: OutboxEntry, event: Event) -> None:
        body = event.webhook_body()
        event_type, dealership_id = event.event_type, event.dealership_id
        for subscription in await uow.webhooks.list_for_event(dealership_id, event_type):
            now = self._clock.now()
            delivery = WebhookDelivery(
                id=self._ids.new_id(),
                subscription_id=subscription.id,
                event_type=event_type,
                message_id=f"msg_{entry.id.hex}",
                payload=body,
                status=DeliveryStatus.PENDING,
                attempts=0,
                last_status_code=None,
                last_error=None,
                created_at=now,
                updated_at=now,
                due_at=now,
            )
            try:
                await uow.webhooks.add_delivery(delivery)
            except Conflict:
                continue  # already fanned out by an earlier, interrupted relay
            await self._queue.enqueue(DELIVER_WEBHOOK, {"delivery_id": str(delivery.id)})
