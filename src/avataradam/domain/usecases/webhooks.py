"""Webhook subscriptions, managed by dealership admins (delivery: `webhook_delivery.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import WebhookDelivery, WebhookSubscription
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.tasks import WEBHOOK_EVENTS
from avataradam.domain.usecases.documents import ADMINS


def _writable_scope(principal: Principal) -> UUID | None:
    """The dealership whose subscriptions an admin may change (None: any, for a super
    admin); NotFound for an account of no dealership, as for another's subscription."""
    scope = None if principal.is_super_admin else principal.dealership_id
    if scope is None and not principal.is_super_admin:
        raise NotFound("webhook subscription not found")
    return scope


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
        scope = _writable_scope(principal)
        async with self._uow() as uow:
            if not await uow.webhooks.delete(subscription_id, dealership_id=scope):
                raise NotFound("webhook subscription not found")
            await uow.commit()


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
        scope = _writable_scope(principal)
        async with self._uow() as uow:
            current = await uow.webhooks.get_for_update(subscription_id)
            if current is None or scope not in (None, current.dealership_id):
                raise NotFound("webhook subscription not found")
            rotated = current.rotated(self._new_secret(), self._clock.now(), self._grace)
            await uow.webhooks.update(rotated)
            await uow.commit()
        return rotated
