"""The delivery of one webhook event: retries with backoff, the circuit of a receiver
that stops answering, and the re-drive of deliveries nobody attempts."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import DeliveryStatus, WebhookDelivery, WebhookSubscription
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue, Telemetry, WebhookResult, WebhookSender
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import DELIVER_WEBHOOK


class DeliveryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How deliveries are retried, leased and cut off from a failing receiver.

    Attempt n (1-based) that fails is retried after `min_backoff * 2**(n-1)`, at most
    `max_backoff`, `max_retries` times. An attempt leases its delivery for `lease` (more
    than the sender's timeout), so a sender that dies mid-attempt is replaced after it.
    `circuit_failures` consecutive failed attempts of one subscription open its circuit
    for `circuit_cooldown`: its deliveries wait without taking a sender, then one probe
    attempt decides whether it closes.
    """

    max_retries: int = 8
    min_backoff: timedelta = timedelta(seconds=1)
    max_backoff: timedelta = timedelta(minutes=5)
    lease: timedelta = timedelta(seconds=30)
    circuit_failures: int = 5
    circuit_cooldown: timedelta = timedelta(minutes=1)

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt."""
        doubled: timedelta = self.min_backoff * (1 << min(attempts - 1, 30))
        return min(self.max_backoff, doubled)


GONE = 410
"""A receiver answering `410 Gone` asks not to be called again (Standard Webhooks)."""
SUBSCRIPTION_DISABLED = "subscription.disabled"
"""The delivery-log entry recording that a subscription was disabled; never sent."""


class DeliverWebhook:
    """Makes one attempt of a delivery that is due, and schedules what follows.

    PostgreSQL holds the schedule: an attempt first leases the delivery (`due_at` moves
    to the end of the lease), so two messages of one delivery never send it twice and a
    delivered one is never sent again. A failed attempt sets the next `due_at` and
    enqueues a message delayed until then; if that message is lost, `RedriveDeliveries`
    finds the overdue delivery. A receiver answering `410 Gone` disables its
    subscription. Receiver failures are outcomes, never raised; infrastructure errors
    (DependencyUnavailable) propagate and leave the lease to run out.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        sender: WebhookSender,
        queue: TaskQueue,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self._uow, self._sender, self._queue, self._clock = uow, sender, queue, clock
        self._ids, self._telemetry = ids, telemetry
        self._policy = policy or DeliveryPolicy()

    async def __call__(self, delivery_id: UUID) -> DeliveryStatus | None:
        """The delivery's status after this attempt (`pending`: retried later, also when
        an open circuit deferred it), or None if nothing was attempted: no such
        delivery, or one not due (another message's sender holds it, or it is done)."""
        claimed = await self._claim(delivery_id)
        if not isinstance(claimed, tuple):
            return claimed
        delivery, subscription = claimed
        now = self._clock.now()
        try:
            result = await self._sender.send(
                url=subscription.url,
                secret=subscription.secret,
                previous_secrets=subscription.signing_secrets(now)[1:],
                message_id=delivery.message_id,
                payload=delivery.payload,
            )
        except BaseException:
            await self._release(delivery, now)  # a retry of this message may send it
            raise
        if result.status_code == GONE:
            return await self._disable(delivery, result)
        return await self._record(delivery, result)

    async def _claim(
        self, delivery_id: UUID
    ) -> tuple[WebhookDelivery, WebhookSubscription] | DeliveryStatus | None:
        """The leased delivery and its subscription, or the status to answer at once
        (not due, given up, or deferred by an open circuit)."""
        now = self._clock.now()
        policy = self._policy
        async with self._uow() as uow:
            # Subscription first, then its deliveries: the lock order of every writer here.
            known = await uow.webhooks.get_delivery(delivery_id)
            if known is None or known.status is not DeliveryStatus.PENDING:
                return None
            subscription = await uow.webhooks.get_for_update(known.subscription_id)
            delivery = await uow.webhooks.claim_delivery(
                delivery_id, now=now, lease_until=now + policy.lease
            )
            if delivery is None:
                return None
            if subscription is None or not subscription.active:
                reason = subscription.disabled_reason if subscription else None
                await uow.webhooks.update_delivery(
                    msgspec.structs.replace(
                        delivery,
                        status=DeliveryStatus.FAILED,
                        last_error=f"subscription disabled: {reason or 'removed'}",
                        updated_at=now,
                        due_at=None,
                    )
                )
                await uow.commit()
                return DeliveryStatus.FAILED
            closes_at = subscription.circuit_closed_at(now, policy.circuit_failures)
            if closes_at is not None:
                await uow.webhooks.update_delivery(
                    msgspec.structs.replace(delivery, due_at=closes_at)
                )
                await uow.commit()
                await self._retry_at(delivery.id, closes_at, now)
                return DeliveryStatus.PENDING
            if subscription.consecutive_failures >= policy.circuit_failures:
                # Half open: this attempt is the probe; others wait until it has answered.
                await uow.webhooks.update(
                    msgspec.structs.replace(subscription, circuit_open_until=now + policy.lease)
                )
            await uow.commit()
        return delivery, subscription

    async def _release(self, delivery: WebhookDelivery, now: datetime) -> None:
        """Ends the lease of an attempt that crashed or was interrupted."""
        with contextlib.suppress(DependencyUnavailable):
            async with self._uow() as uow:
                await uow.webhooks.update_delivery(msgspec.structs.replace(delivery, due_at=now))
                await uow.commit()

    async def _record(self, delivery: WebhookDelivery, result: WebhookResult) -> DeliveryStatus:
        now = self._clock.now()
        policy = self._policy
        attempts = delivery.attempts + 1
        if result.delivered:
            status, due_at = DeliveryStatus.DELIVERED, None
        elif attempts > policy.max_retries:
            status, due_at = DeliveryStatus.FAILED, None
        else:
            status, due_at = DeliveryStatus.PENDING, now + policy.backoff(attempts)
        async with self._uow() as uow:
            subscription = await uow.webhooks.get_for_update(delivery.subscription_id)
            await uow.webhooks.update_delivery(
                msgspec.structs.replace(
                    delivery,
                    status=status,
                    attempts=attempts,
                    last_status_code=result.status_code,
                    last_error=result.error,
                    updated_at=now,
                    due_at=due_at,
                )
            )
            if subscription is not None:
                await uow.webhooks.update(self._circuit_after(subscription, result, now))
            await uow.commit()
        if due_at is not None:
            await self._retry_at(delivery.id, due_at, now)
        return status

    def _circuit_after(
        self, subscription: WebhookSubscription, result: WebhookResult, now: datetime
    ) -> WebhookSubscription:
        if result.delivered:
            return msgspec.structs.replace(
                subscription, consecutive_failures=0, circuit_open_until=None
            )
        failures = subscription.consecutive_failures + 1
        open_until = subscription.circuit_open_until
        if failures >= self._policy.circuit_failures:
            open_until = now + self._policy.circuit_cooldown
            self._telemetry.event(
                "webhook_circuit_open",
                subscription_id=str(subscription.id),
                consecutive_failures=failures,
                open_until=open_until.isoformat(),
            )
        return msgspec.structs.replace(
            subscription, consecutive_failures=failures, circuit_open_until=open_until
        )

    async def _disable(self, delivery: WebhookDelivery, result: WebhookResult) -> DeliveryStatus:
        """The receiver is gone: this delivery fails, so do the pending ones, and the
        subscription is disabled with a `subscription.disabled` entry in its log."""
        now = self._clock.now()
        reason = f"receiver answered {GONE} Gone"
        async with self._uow() as uow:
            subscription = await uow.webhooks.get_for_update(delivery.subscription_id)
            await uow.webhooks.update_delivery(
                msgspec.structs.replace(
                    delivery,
                    status=DeliveryStatus.FAILED,
                    attempts=delivery.attempts + 1,
                    last_status_code=result.status_code,
                    last_error=result.error,
                    updated_at=now,
                    due_at=None,
                )
            )
            if subscription is not None and subscription.active:
                await uow.webhooks.update(
                    msgspec.structs.replace(
                        subscription,
                        active=False,
                        disabled_reason=reason,
                        circuit_open_until=None,
                    )
                )
                await uow.webhooks.fail_pending(
                    subscription.id, reason=f"subscription disabled: {reason}", now=now
                )
                await uow.webhooks.add_delivery(self._disabled_entry(subscription, reason, now))
                self._telemetry.event(
                    "webhook_subscription_disabled",
                    subscription_id=str(subscription.id),
                    reason=reason,
                )
            await uow.commit()
        return DeliveryStatus.FAILED

    def _disabled_entry(
        self, subscription: WebhookSubscription, reason: str, now: datetime
    ) -> WebhookDelivery:
        delivery_id = self._ids.new_id()
        payload = msgspec.json.encode(
            {
                "type": SUBSCRIPTION_DISABLED,
                "timestamp": now.isoformat(),
                "data": {"subscription_id": str(subscription.id), "reason": reason},
            }
        )
        return WebhookDelivery(
            id=delivery_id,
            subscription_id=subscription.id,
            event_type=SUBSCRIPTION_DISABLED,
            message_id=f"msg_{delivery_id.hex}",
            payload=payload,
            status=DeliveryStatus.FAILED,
            attempts=0,
            last_status_code=GONE,
            last_error=f"not sent: {reason}",
            created_at=now,
            updated_at=now,
        )

    async def _retry_at(self, delivery_id: UUID, due_at: datetime, now: datetime) -> None:
        """Enqueues the next attempt; if the queue is down, re-driving finds it later."""
        delay_ms = max(0, round((due_at - now).total_seconds() * 1000))
        try:
            await self._queue.enqueue(
                DELIVER_WEBHOOK, {"delivery_id": str(delivery_id)}, delay_ms=delay_ms
            )
        except DependencyUnavailable as exc:
            self._telemetry.event(
                "webhook_retry_not_enqueued", delivery_id=str(delivery_id), error=exc.code
            )

    async def give_up(self, delivery_id: UUID, reason: str) -> None:
        """Marks a delivery failed once the worker's retries of an error are exhausted."""
        async with self._uow() as uow:
            delivery = await uow.webhooks.get_delivery(delivery_id)
            if delivery is None or delivery.status is not DeliveryStatus.PENDING:
                return
            await uow.webhooks.update_delivery(
                msgspec.structs.replace(
                    delivery,
                    status=DeliveryStatus.FAILED,
                    last_error=reason,
                    updated_at=self._clock.now(),
                    due_at=None,
                )
            )
            await uow.commit()


class RedriveDeliveries:
    """Re-enqueues pending deliveries whose message was lost, from PostgreSQL.

    A delivery still pending `overdue_after` past its `due_at` (its delayed retry or its
    first message vanished with Redis, or its sender died holding the lease) is made due
    now and enqueued again. Concurrent re-drivers skip each other's rows, and a second
    message of one delivery is harmless: only one sender can lease it.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        queue: TaskQueue,
        clock: Clock,
        *,
        overdue_after: timedelta,
        batch: int = 500,
    ) -> None:
        self._uow, self._queue, self._clock = uow, queue, clock
        self._overdue_after, self._batch = overdue_after, batch

    async def __call__(self) -> list[UUID]:
        """Ids of the deliveries enqueued again."""
        now = self._clock.now()
        async with self._uow() as uow:
            overdue = await uow.webhooks.redrive_overdue(
                overdue_before=now - self._overdue_after, now=now, limit=self._batch
            )
            for delivery_id in overdue:
                await self._queue.enqueue(DELIVER_WEBHOOK, {"delivery_id": str(delivery_id)})
            await uow.commit()
        return overdue
