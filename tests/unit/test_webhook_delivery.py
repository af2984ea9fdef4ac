"""Webhook delivery on in-memory adapters: the schedule in the repository, the circuit,
`410 Gone`, secret rotation and the re-drive of deliveries whose message was lost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.telemetry import InMemoryTelemetry
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.memory.webhooks import InMemoryWebhookSender
from avataradam.adapters.webhooks.signing import generate_webhook_secret, sign
from avataradam.domain.access import Principal
from avataradam.domain.errors import NotFound
from avataradam.domain.model import (
    Dealership,
    DeliveryStatus,
    Role,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.ports.services import WebhookResult
from avataradam.domain.tasks import DELIVER_WEBHOOK
from avataradam.domain.usecases.webhook_delivery import (
    SUBSCRIPTION_DISABLED,
    DeliverWebhook,
    DeliveryPolicy,
    RedriveDeliveries,
)
from avataradam.domain.usecases.webhooks import RotateSecret
from tests.support.fakes import ManualClock

URL = "https://crm.example.com/hooks"
POLICY = DeliveryPolicy(
    max_retries=3,
    min_backoff=timedelta(seconds=1),
    max_backoff=timedelta(seconds=3),
    lease=timedelta(seconds=20),
    circuit_failures=2,
    circuit_cooldown=timedelta(seconds=60),
)
UNAVAILABLE = WebhookResult(delivered=False, status_code=503, error="receiver answered 503")
GONE = WebhookResult(delivered=False, status_code=410, error="receiver answered 410")


class IdSequence:
    def new_id(self) -> uuid.UUID:
        return uuid.uuid4()


class World:
    def __init__(self) -> None:
        self.uow = InMemoryUnitOfWorkFactory(InMemoryStore())
        self.clock = ManualClock(datetime(2025, 1, 1, 12, tzinfo=UTC))
        self.queue = InMemoryTaskQueue()
        self.sender = InMemoryWebhookSender(self.clock)
        self.telemetry = InMemoryTelemetry()
        self.deliver = DeliverWebhook(
            self.uow, self.sender, self.queue, self.clock, IdSequence(), self.telemetry, POLICY
        )
        self.redrive = RedriveDeliveries(
            self.uow, self.queue, self.clock, overdue_after=timedelta(seconds=30)
        )

    async def subscription(self, url: str = URL) -> WebhookSubscription:
        now = self.clock.now()
        dealership = Dealership(
            id=uuid.uuid4(),
            name="Northside Motors",
            active=True,
            knowledge_base_generation=0,
            created_at=now,
            updated_at=now,
        )
        subscription = WebhookSubscription(
            id=uuid.uuid4(),
            dealership_id=dealership.id,
            url=url,
            events=("document.ready",),
            secret=generate_webhook_secret(),
            active=True,
            created_at=now,
        )
        async with self.uow() as uow:
            await uow.dealerships.add(dealership)
            await uow.webhooks.add(subscription)
            await uow.commit()
        return subscription

    async def pending(self, subscription: WebhookSubscription) -> WebhookDelivery:
        now = self.clock.now()
        delivery = WebhookDelivery(
            id=uuid.uuid4(),
            subscription_id=subscription.id,
            event_type="document.ready",
            message_id=f"msg_{uuid.uuid4().hex}",
            payload=b'{"type": "document.ready", "data": {}}',
            status=DeliveryStatus.PENDING,
            attempts=0,
            last_status_code=None,
            last_error=None,
            created_at=now,
            updated_at=now,
            due_at=now,
        )
        async with self.uow() as uow:
            await uow.webhooks.add_delivery(delivery)
            await uow.commit()
        return delivery

    async def stored(self, delivery_id: uuid.UUID) -> WebhookDelivery:
        async with self.uow(read_only=True) as uow:
            found = await uow.webhooks.get_delivery(delivery_id)
        assert found is not None
        return found

    async def current(self, subscription_id: uuid.UUID) -> WebhookSubscription:
        async with self.uow(read_only=True) as uow:
            found = await uow.webhooks.get(subscription_id, dealership_id=None)
        assert found is not None
        return found


async def test_a_failed_attempt_is_scheduled_in_the_repository_and_enqueued_delayed() -> None:
    world = World()
    sub = await world.subscription()
    delivery = await world.pending(sub)
    world.sender.respond_with(URL, UNAVAILABLE)

    assert await world.deliver(delivery.id) is DeliveryStatus.PENDING

    stored = await world.stored(delivery.id)
    assert (stored.attempts, stored.last_status_code) == (1, 503)
    assert stored.due_at == world.clock.now() + timedelta(seconds=1)
    [retry] = world.queue.take(DELIVER_WEBHOOK)
    assert (retry.payload, retry.delay_ms) == ({"delivery_id": str(delivery.id)}, 1000)
    assert await world.deliver(delivery.id) is None, "a message before the retry is due: no-op"
    assert len(world.sender.sent) == 1


async def test_retries_back_off_then_the_delivery_fails_after_max_retries() -> None:
    world = World()
    sub = await world.subscription()
    delivery = await world.pending(sub)
    world.sender.respond_with(URL, WebhookResult(delivered=False, status_code=None, error="x"))
    delays = []
    status: DeliveryStatus | None = None
    for _ in range(POLICY.max_retries + 1):
        # The circuit (2 failures) is not what this test is about: closed before each try.
        async with world.uow() as uow:
            current = await uow.webhooks.get_for_update(sub.id)
            assert current is not None
            await uow.webhooks.update(msgspec.structs.replace(current, consecutive_failures=0))
            await uow.commit()
        status = await world.deliver(delivery.id)
        delays += [t.delay_ms for t in world.queue.take(DELIVER_WEBHOOK)]
        world.clock.advance(10)
    assert status is DeliveryStatus.FAILED
    assert delays == [1000, 2000, 3000]
    stored = await world.stored(delivery.id)
    assert (stored.status, stored.attempts, stored.due_at) == (DeliveryStatus.FAILED, 4, None)


async def test_a_delivered_event_is_never_sent_again() -> None:
    world = World()
    delivery = await world.pending(await world.subscription())

    assert await world.deliver(delivery.id) is DeliveryStatus.DELIVERED
    world.clock.advance(3600)
    assert await world.deliver(delivery.id) is None
    assert await world.redrive() == []
    assert len(world.sender.sent) == 1


async def test_an_open_circuit_defers_deliveries_without_sending_then_one_probe_closes_it() -> None:
    world = World()
    hung = await world.subscription()
    deliveries = [await world.pending(hung) for _ in range(4)]
    world.sender.respond_with(URL, UNAVAILABLE)

    for delivery in deliveries[:2]:
        assert await world.deliver(delivery.id) is DeliveryStatus.PENDING
    opened = await world.current(hung.id)
    assert opened.circuit_open_until == world.clock.now() + POLICY.circuit_cooldown
    assert ("webhook_circuit_open", 2) in [
        (name, fields.get("consecutive_failures")) for name, fields in world.telemetry.events
    ]
    world.queue.take(DELIVER_WEBHOOK)

    assert await world.deliver(deliveries[2].id) is DeliveryStatus.PENDING
    assert len(world.sender.sent) == 2, "an open circuit sends nothing"
    deferred = await world.stored(deliveries[2].id)
    assert (deferred.attempts, deferred.due_at) == (0, opened.circuit_open_until)
    [wait] = world.queue.take(DELIVER_WEBHOOK)
    assert wait.delay_ms == 60_000

    world.clock.advance(61)
    world.sender.respond_with(URL, WebhookResult(delivered=True, status_code=204, error=None))
    probe = world.deliver(deliveries[2].id)
    assert await probe is DeliveryStatus.DELIVERED
    closed = await world.current(hung.id)
    assert (closed.consecutive_failures, closed.circuit_open_until) == (0, None)
    assert await world.deliver(deliveries[3].id) is DeliveryStatus.DELIVERED


async def test_a_probe_holds_the_half_open_circuit_for_other_deliveries() -> None:
    world = World()
    sub = await world.subscription()
    first, second = await world.pending(sub), await world.pending(sub)
    async with world.uow() as uow:
        await uow.webhooks.update(
            msgspec.structs.replace(
                sub,
                consecutive_failures=POLICY.circuit_failures,
                circuit_open_until=world.clock.now(),
            )
        )
        await uow.commit()
    claimed = await world.deliver._claim(first.id)
    assert isinstance(claimed, tuple)

    assert await world.deliver(second.id) is DeliveryStatus.PENDING
    assert world.sender.sent == [], "only the probe may reach a half-open receiver"


async def test_410_gone_disables_the_subscription_and_logs_subscription_disabled() -> None:
    world = World()
    sub = await world.subscription()
    gone, waiting = await world.pending(sub), await world.pending(sub)
    world.clock.advance(1)
    world.sender.respond_with(URL, GONE)

    assert await world.deliver(gone.id) is DeliveryStatus.FAILED

    disabled = await world.current(sub.id)
    assert (disabled.active, disabled.disabled_reason) == (False, "receiver answered 410 Gone")
    assert (await world.stored(waiting.id)).status is DeliveryStatus.FAILED
    async with world.uow(read_only=True) as uow:
        log = await uow.webhooks.list_deliveries(subscription_id=sub.id, cursor=None, limit=10)
    entry = log[-1]
    assert (entry.event_type, entry.status, entry.last_status_code) == (
        SUBSCRIPTION_DISABLED,
        DeliveryStatus.FAILED,
        410,
    )
    assert msgspec.json.decode(entry.payload)["data"]["subscription_id"] == str(sub.id)
    assert await world.deliver(waiting.id) is None
    assert len(world.sender.sent) == 1, "a disabled subscription is never called again"


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_grace_ends() -> None:
    world = World()
    sub = await world.subscription()
    rotate = RotateSecret(world.uow, world.clock, generate_webhook_secret, timedelta(hours=1))
    admin = Principal(
        user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=sub.dealership_id
    )
    stranger = Principal(user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=None)

    rotated = await rotate(admin, sub.id)
    with pytest.raises(NotFound):
        await rotate(stranger, sub.id)
    during = await world.pending(sub)
    await world.deliver(during.id)
    world.clock.advance(3601)
    after = await world.pending(sub)
    await world.deliver(after.id)

    first, second = world.sender.sent
    assert first.signature.split(" ") == [
        sign(secret, first.message_id, first.timestamp, first.payload)
        for secret in (rotated.secret, sub.secret)
    ]
    assert second.signature == sign(
        rotated.secret, second.message_id, second.timestamp, second.payload
    )
    assert rotated.previous_secret == sub.secret
    assert rotated.previous_secret_expires_at == datetime(2025, 1, 1, 13, tzinfo=UTC)


async def test_a_delivery_whose_message_was_lost_is_redriven_once() -> None:
    world = World()
    sub = await world.subscription()
    lost = await world.pending(sub)
    world.queue.take(DELIVER_WEBHOOK)

    world.clock.advance(29)
    assert await world.redrive() == []
    world.clock.advance(2)
    assert await world.redrive() == [lost.id]
    assert await world.redrive() == [], "made due now: not overdue again at once"
    [message] = world.queue.take(DELIVER_WEBHOOK)
    assert message.payload == {"delivery_id": str(lost.id)}
    assert await world.deliver(lost.id) is DeliveryStatus.DELIVERED


async def test_a_crashed_attempt_releases_its_lease_for_the_retry() -> None:
    world = World()
    delivery = await world.pending(await world.subscription())

    class Crashing(InMemoryWebhookSender):
        async def send(self, **_: object) -> WebhookResult:
            raise RuntimeError("bug")

    crashing = DeliverWebhook(
        world.uow, Crashing(world.clock), world.queue, world.clock, IdSequence(),
        world.telemetry, POLICY,
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        await crashing(delivery.id)
    assert await world.deliver(delivery.id) is DeliveryStatus.DELIVERED
