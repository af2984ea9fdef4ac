"""TaskQueue contract over Dramatiq (stub and Redis brokers) and the in-memory twin."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from avataradam.adapters.dramatiq.queue import QUEUES, DramatiqTaskQueue, build_broker
from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.ports.services import TaskQueue
from avataradam.domain.tasks import DELIVER_WEBHOOK, INGEST_DOCUMENT


@dataclass
class Subject:
    queue: TaskQueue
    received: Callable[[str], list[tuple[dict[str, str], dict[str, object]]]]
    """Messages of a queue: (kwargs, options)."""


def _drain_redis(
    broker: RedisBroker, queue_name: str
) -> list[tuple[dict[str, str], dict[str, object]]]:
    client = broker.client
    namespace = broker.namespace
    ids = client.lrange(f"{namespace}:{queue_name}", 0, -1)
    raw = [client.hget(f"{namespace}:{queue_name}.msgs", i) for i in ids]
    client.delete(f"{namespace}:{queue_name}", f"{namespace}:{queue_name}.msgs")
    messages = [dramatiq.Message.decode(r) for r in raw if isinstance(r, bytes)]
    return [(dict(m.kwargs), dict(m.options)) for m in messages]


@pytest.fixture(params=["memory", "dramatiq-stub", "dramatiq-redis"])
async def subject(request: pytest.FixtureRequest) -> AsyncIterator[Subject]:
    if request.param == "memory":
        memory = InMemoryTaskQueue(lambda: {"request_id": "rid-1"})

        def from_memory(queue_name: str) -> list[tuple[dict[str, str], dict[str, object]]]:
            tasks = [t for t in memory.sent if QUEUES.get(t.task) == queue_name]
            return [
                ({k: v for k, v in t.payload.items() if k != "task"}, dict(t.options))
                for t in tasks
            ]

        yield Subject(memory, from_memory)
        return
    if request.param == "dramatiq-stub":
        stub = StubBroker()

        def from_stub(queue_name: str) -> list[tuple[dict[str, str], dict[str, object]]]:
            messages = [dramatiq.Message.decode(r) for r in stub.queues[queue_name].queue]
            return [(dict(m.kwargs), dict(m.options)) for m in messages]

        yield Subject(DramatiqTaskQueue(stub, lambda: {"request_id": "rid-1"}), from_stub)
        return
    redis_url = request.getfixturevalue("redis_url")
    broker = build_broker(redis_url, namespace=f"test-{uuid.uuid4().hex[:8]}")
    yield Subject(
        DramatiqTaskQueue(broker, lambda: {"request_id": "rid-1"}),
        lambda queue_name: _drain_redis(broker, queue_name),
    )
    broker.close()


async def test_an_enqueued_task_arrives_on_its_queue_with_its_arguments(subject: Subject) -> None:
    document_id = str(uuid.uuid4())
    await subject.queue.enqueue(
        INGEST_DOCUMENT, {"task": INGEST_DOCUMENT, "document_id": document_id}
    )
    await subject.queue.enqueue(DELIVER_WEBHOOK, {"delivery_id": "d-1"})
    [(kwargs, _)] = subject.received(QUEUES[INGEST_DOCUMENT])
    assert kwargs == {"document_id": document_id}
    [(hook_kwargs, _)] = subject.received(QUEUES[DELIVER_WEBHOOK])
    assert hook_kwargs == {"delivery_id": "d-1"}


async def test_messages_carry_the_callers_context(subject: Subject) -> None:
    await subject.queue.enqueue(INGEST_DOCUMENT, {"document_id": "x"})
    [(_, options)] = subject.received(QUEUES[INGEST_DOCUMENT])
    assert options["request_id"] == "rid-1"


async def test_an_unreachable_broker_raises_dependency_unavailable() -> None:
    broker = build_broker("redis://127.0.0.1:1/0")
    queue = DramatiqTaskQueue(broker)
    with pytest.raises(DependencyUnavailable):
        await queue.enqueue(INGEST_DOCUMENT, {"document_id": "x"})
    memory = InMemoryTaskQueue()
    memory.available = False
    with pytest.raises(DependencyUnavailable):
        await memory.enqueue(INGEST_DOCUMENT, {"document_id": "x"})
