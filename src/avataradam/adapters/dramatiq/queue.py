"""`TaskQueue` over Dramatiq's Redis broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from opentelemetry import trace

from avataradam.domain.errors import TaskQueueUnavailable
from avataradam.domain.tasks import (
    DELETE_DOCUMENT,
    DELIVER_WEBHOOK,
    GROUP_KNOWLEDGE_GAPS,
    INGEST_DOCUMENT,
    REEMBED_KNOWLEDGE_BASE,
    SCORE_CONVERSATION,
)

QUEUES: dict[str, str] = {
    INGEST_DOCUMENT: "ingest",
    DELETE_DOCUMENT: "ingest",
    DELIVER_WEBHOOK: "webhooks",
    REEMBED_KNOWLEDGE_BASE: "ingest",
    SCORE_CONVERSATION: "ingest",
    GROUP_KNOWLEDGE_GAPS: "ingest",
}
"""Queue of each task. A worker consumes the queues it is given (`avataradam worker
--queues`); only with one worker per queue do ingestion and webhooks not wait behind
each other, since one worker's threads serve all of its queues."""


MAINTENANCE_CHANCE = 100_000
"""Commands in a million that run the broker's maintenance, which puts back in a queue
what dead workers had fetched from it (Dramatiq's default is 1,000). A queue's
maintenance runs on that queue's own commands, and an idle worker polls each queue
about once a second: at Dramatiq's rate the messages a killed worker had prefetched
waited many minutes, at 10 % they are back within about 10 s of the heartbeat timeout.
Its cost is a sorted-set range read, plus a Redis `KEYS` while a dead worker still has
messages to give back."""


def build_broker(
    redis_url: str, *, namespace: str = "avataradam", heartbeat_timeout_s: float = 30.0
) -> RedisBroker:
    """A Redis broker with Dramatiq's default middleware (retries, time limits, ...).
    A worker process silent for `heartbeat_timeout_s` is dead to the broker: what it had
    fetched but not acknowledged goes back to its queue at the next maintenance
    (`AVATARADAM_REDIS_QUEUE_HEARTBEAT_TIMEOUT_S`)."""
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url,
        namespace=namespace,
        heartbeat_timeout=round(heartbeat_timeout_s * 1000),
        maintenance_chance=MAINTENANCE_CHANCE,
    )


class DramatiqTaskQueue:
    """Enqueues by task name, so the API needs no actor code.

    `message_options` supplies per-message options from the caller's context (the
    request id and trace context travel that way into the worker).
    """

    def __init__(
        self,
        broker: dramatiq.Broker,
        message_options: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self._broker = broker
        self._message_options = message_options
        for queue_name in {*QUEUES.values(), "default"}:
            broker.declare_queue(queue_name)

    async def enqueue(self, task: str, payload: Mapping[str, str], *, delay_ms: int = 0) -> None:
        tracer = trace.get_tracer("avataradam")
        with tracer.start_as_current_span(f"enqueue {task}", kind=trace.SpanKind.PRODUCER):
            await self._enqueue(task, payload, delay_ms)

    async def _enqueue(self, task: str, payload: Mapping[str, str], delay_ms: int) -> None:
        options = dict(self._message_options()) if self._message_options else {}
        if payload.get("request_id"):
            options.setdefault("request_id", payload["request_id"])
        message: dramatiq.Message[object] = dramatiq.Message(
            queue_name=QUEUES.get(task, "default"),
            actor_name=task,
            args=(),
            kwargs={k: v for k, v in payload.items() if k != "task"},
            options=options,
        )
        try:
            await asyncio.to_thread(self._broker.enqueue, message, delay=delay_ms or None)
        except (redis.RedisError, OSError) as exc:
            raise TaskQueueUnavailable(f"cannot enqueue {task}: {exc}") from exc
