"""Webhook subscriptions (dealership admins) and the delivery of one event."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import DependencyUnavailable, InvalidInput, NotFound
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import DeliveryStatus, WebhookDelivery, WebhookSubscription
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import TaskQueue, Telemetry, WebhookResult, WebhookSender
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import DELIVER_WEBHOOK, WEBHOOK_EVENTS
from avataradam.domain.usecases.documents import ADMINS


class NewSubscription(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    events: tuple[str, ...]
    dealership_id: UUID | None = None


class CreateSubscription:
    """Subscribes a URL; the returned subscription carries its secret (shown only now)."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        validate_url: Callable[[str], None],
        new_secret: Callable[[], str],
    ) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids
        self._validate_url, self._new_secret = validate_url, new_secret

    async def __call__(
        self, principal: Principal, new: NewSubscription, *, idempotency_key: str | None = None
    ) -> Answer[WebhookSubscription]:
        """With an idempotency key (the caller's own), repeats replay the first answer,
        secret included, instead of subscribing the URL again."""
        require_role(principal, *ADMINS)
        dealership_id = dealership_scope(principal, new.dealership_id)
        unknown = sorted(set(new.events) - set(WEBHOOK_EVENTS))
        if not new.events or unknown:
            raise InvalidInput(
                "events must be a non-empty list of: " + ", ".join(WEBHOOK_EVENTS),
                field="events",
            )
        self._validate_url(new.url)
        subscription = WebhookSubscription(
            id=self._ids.new_id(),
            dealership_id=dealership_id,
            url=new.url,
            events=tuple(sorted(set(new.events))),
            secret=self._new_secret(),
            active=True,
            created_at=self._clock.now(),
        )
        request = IdempotentRequest.of(f"webhooks:{principal.user_id}", idempotency_key, new)
        async with self._uow() as uow:
            replay = await first_answer(
                uow, request, subscription, status_code=201, now=subscription.created_at
            )
            if replay is not None:
                return replay
            if await uow.dealerships.get(dealership_id) is None:
                raise NotFound("dealership not found")
            await uow.webhooks.add(subscription)
            await uow.commit()
        return Answer(value=subscription)


class ListSubscriptions:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, *, dealership_id: UUID | None, cursor: Cursor | None, limit: int
    ) -> list[WebhookSubscription]:
        require_role(principal, *ADMINS)
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            return await uow.webhooks.list_page(dealership_id=scope, cursor=cursor, limit=limit)


class GetSubscription:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, subscription_id: UUID
    ) -> tuple[WebhookSubscription, list[WebhookDelivery]]:
        """The subscription and its most recent deliveries (its delivery log)."""
        require_role(principal, *ADMINS)
        scope = None if principal.is_super_admin else principal.dealership_id
        async with self._uow(read_only=True) as uow:
            subscription = await uow.webhooks.get(subscription_id, dealership_id=scope)
            if subscription is None or (scope is None and not principal.is_super_admin):
                raise NotFound("webhook subscription not found")
            deliveries = await uow.webhooks.list_deliveries(
                subscription_id=subscription.id, cursor=None, limit=50
            )
        return subscription, deliveries


class DeleteSubscription:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(self, principal: Principal, subscription_id: UUID) -> None:
        require_role(principal, *ADMINS)
        scope = None if principal.is_super_admin else principal.dealership_id
        if scope is None and not principal.is_super_admin:
            raise NotFound("webhook subscription not found")
        async with self._uow() as uow:
            if not await uow.webhooks.delete(subscription_id, dealership_id=scope):
                raise NotFound("webhook subscription not found")
            await uow.commit()


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


class RotateSecret:
    """Gives a subscription a new signing secret (shown once); the old one goes on
    signing beside it for `grace`, so receivers can switch without losing an event."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        new_secret: Callable[[], str],
        grace: timedelta,
    ) -> None:
        self._uow, self._clock, self._new_secret, self._grace = uow, clock, new_secret, grace

    async def __call__(self, principal: Principal, subscription_id: UUID) -> WebhookSubscription:
        """The subscription with its new `secret`; NotFound outside the caller's scope."""
        require_role(principal, *ADMINS)
        scope = None if principal.is_super_admin else principal.dealership_id
        if scope is None and not principal.is_super_admin:
            raise NotFound("webhook subscription not found")
        async with self._uow() as uow:
            current = await uow.webhooks.get_for_update(subscription_id)
            if current is None or scope not in (None, current.dealership_id):
                raise NotFound("webhook subscription not found")
            rotated = current.rotated(self._new_secret(), self._clock.now(), self._grace)
            await uow.webhooks.update(rotated)
            await uow.commit()
        return rotated
