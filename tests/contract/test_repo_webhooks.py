"""Contract of the webhook repository, run against every adapter.

The PostgreSQL database is shared by the whole session, so every test makes its own
dealership and ids (uuid4) and never assumes a table is empty. The `uow` fixture (one
per adapter) is in `conftest.py`, the builders in `builders.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import msgspec
import pytest

from avataradam.domain.errors import Conflict, NotFound
from avataradam.domain.model import (
    Dealership,
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from tests.contract.builders import (
    NOW,
    seed,
)

# ---- webhooks -----------------------------------------------------------------------


def subscription(
    d: Dealership, events: tuple[str, ...], *, active: bool = True, created_at: datetime = NOW
) -> WebhookSubscription:
    return WebhookSubscription(
        id=uuid4(),
        dealership_id=d.id,
        url="https://crm.example.com/hooks/adam",
        events=events,
        secret="whsec_" + uuid4().hex,
        active=active,
        created_at=created_at,
    )


def delivery(
    sub: WebhookSubscription, created_at: datetime = NOW, *, due_at: datetime | None = None
) -> WebhookDelivery:
    return WebhookDelivery(
        id=uuid4(),
        subscription_id=sub.id,
        event_type="document.ready",
        message_id=f"msg_{uuid4().hex}",
        payload=b'{"type": "document.ready"}',
        status=DeliveryStatus.PENDING,
        attempts=0,
        last_status_code=None,
        last_error=None,
        created_at=created_at,
        updated_at=created_at,
        due_at=due_at,
    )


async def test_webhook_subscriptions_are_scoped_listed_and_matched_by_event(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    ready = subscription(d, ("document.ready", "document.failed"))
    failed_only = subscription(d, ("document.failed",), created_at=NOW + timedelta(seconds=1))
    inactive = subscription(d, ("document.ready",), active=False, created_at=NOW)
    foreign = subscription(other, ("document.ready",))
    async with uow() as work:
        for s in (ready, failed_only, inactive, foreign):
            await work.webhooks.add(s)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(ready.id, dealership_id=d.id) == ready
        assert await work.webhooks.get(ready.id, dealership_id=None) == ready
        assert await work.webhooks.get(ready.id, dealership_id=other.id) is None
        assert await work.webhooks.list_for_event(d.id, "document.ready") == [ready]
        failed = await work.webhooks.list_for_event(d.id, "document.failed")
        assert [s.id for s in failed] == [ready.id, failed_only.id]
        page = await work.webhooks.list_page(dealership_id=d.id, cursor=None, limit=2)
        rest = await work.webhooks.list_page(
            dealership_id=d.id,
            cursor=Cursor(created_at=page[-1].created_at, id=page[-1].id),
            limit=2,
        )
        expected = sorted([ready, failed_only, inactive], key=lambda s: (s.created_at, s.id))
        assert page + rest == expected


async def test_deleting_a_subscription_takes_its_deliveries(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    sent = delivery(sub)
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(sent)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.delete(sub.id, dealership_id=other.id) is False
        assert await work.webhooks.delete(sub.id, dealership_id=d.id) is True
        assert await work.webhooks.delete(sub.id, dealership_id=d.id) is False
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(sub.id, dealership_id=None) is None
        assert await work.webhooks.get_delivery(sent.id) is None


async def test_deliveries_record_outcomes_and_never_duplicate_an_event(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    deliveries = [delivery(sub, NOW + timedelta(seconds=i)) for i in range(3)]
    async with uow() as work:
        await work.webhooks.add(sub)
        for x in deliveries:
            await work.webhooks.add_delivery(x)
        await work.commit()
    delivered = msgspec.structs.replace(
        deliveries[0],
        status=DeliveryStatus.DELIVERED,
        attempts=1,
        last_status_code=204,
        updated_at=NOW + timedelta(minutes=1),
    )
    async with uow() as work:
        await work.webhooks.update_delivery(delivered)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get_delivery(delivered.id) == delivered
        pending = await work.webhooks.list_deliveries(
            subscription_id=sub.id, status=DeliveryStatus.PENDING, cursor=None, limit=10
        )
        assert pending == deliveries[1:]
        everything = await work.webhooks.list_deliveries(
            subscription_id=sub.id,
            cursor=Cursor(created_at=delivered.created_at, id=delivered.id),
            limit=10,
        )
        assert everything == deliveries[1:]
        with pytest.raises(NotFound):
            await work.webhooks.update_delivery(delivery(sub))
    async with uow() as work:
        with pytest.raises(Conflict):
            await work.webhooks.add_delivery(
                msgspec.structs.replace(delivery(sub), message_id=deliveries[1].message_id)
            )


async def test_a_due_delivery_is_leased_to_one_sender_only(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    due = delivery(sub, due_at=NOW)
    later = delivery(sub, due_at=NOW + timedelta(minutes=5))
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(due)
        await work.webhooks.add_delivery(later)
        await work.commit()
    lease_until = NOW + timedelta(seconds=30)
    async with uow() as work:
        claimed = await work.webhooks.claim_delivery(due.id, now=NOW, lease_until=lease_until)
        assert claimed == msgspec.structs.replace(due, due_at=lease_until)
        assert (
            await work.webhooks.claim_delivery(later.id, now=NOW, lease_until=lease_until) is None
        )
        await work.commit()
    async with uow() as work:
        again = await work.webhooks.claim_delivery(
            due.id, now=NOW + timedelta(seconds=1), lease_until=lease_until
        )
        assert again is None, "a leased delivery has one sender"
        after_lease = await work.webhooks.claim_delivery(
            due.id, now=lease_until, lease_until=lease_until + timedelta(seconds=30)
        )
        assert after_lease is not None, "a lease whose sender died runs out"
        delivered = msgspec.structs.replace(
            after_lease, status=DeliveryStatus.DELIVERED, attempts=1, due_at=None
        )
        await work.webhooks.update_delivery(delivered)
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get_delivery(due.id) == delivered
        assert (
            await work.webhooks.claim_delivery(due.id, now=NOW + timedelta(days=1), lease_until=NOW)
            is None
        )


async def test_overdue_deliveries_are_redriven_once_and_made_due(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    past = NOW - timedelta(days=3650)
    overdue = [delivery(sub, due_at=past + timedelta(seconds=i)) for i in range(3)]
    recent = delivery(sub, due_at=past + timedelta(minutes=10))
    done = msgspec.structs.replace(
        delivery(sub, due_at=None), status=DeliveryStatus.DELIVERED, attempts=1
    )
    async with uow() as work:
        await work.webhooks.add(sub)
        for x in (*overdue, recent, done):
            await work.webhooks.add_delivery(x)
        await work.commit()
    cutoff = past + timedelta(minutes=1)
    async with uow() as work:
        redriven = await work.webhooks.redrive_overdue(overdue_before=cutoff, now=NOW, limit=1000)
        await work.commit()
    assert {x.id for x in overdue} <= set(redriven)
    assert recent.id not in redriven
    assert done.id not in redriven
    async with uow() as work:
        assert (await work.webhooks.get_delivery(overdue[0].id)).due_at == NOW  # type: ignore[union-attr]
        second = await work.webhooks.redrive_overdue(overdue_before=cutoff, now=NOW, limit=1000)
    assert not {x.id for x in overdue} & set(second), "made due at `now`, no longer overdue"


async def test_subscription_state_and_circuit_are_written_and_pending_failed(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    sub = subscription(d, ("document.ready",))
    pending = delivery(sub, due_at=NOW)
    async with uow() as work:
        await work.webhooks.add(sub)
        await work.webhooks.add_delivery(pending)
        await work.commit()
    changed = msgspec.structs.replace(
        sub.rotated("whsec_" + uuid4().hex, NOW, timedelta(hours=1)),
        active=False,
        disabled_reason="receiver answered 410 Gone",
        consecutive_failures=3,
        circuit_open_until=NOW + timedelta(minutes=1),
    )
    async with uow() as work:
        locked = await work.webhooks.get_for_update(sub.id)
        assert locked == sub
        await work.webhooks.update(changed)
        assert await work.webhooks.fail_pending(sub.id, reason="gone", now=NOW) == 1
        await work.commit()
    async with uow() as work:
        assert await work.webhooks.get(sub.id, dealership_id=None) == changed
        failed = await work.webhooks.get_delivery(pending.id)
        assert failed is not None
        assert (failed.status, failed.last_error, failed.due_at) == (
            DeliveryStatus.FAILED,
            "gone",
            None,
        )
        with pytest.raises(NotFound):
            await work.webhooks.update(subscription(d, ("document.ready",)))
