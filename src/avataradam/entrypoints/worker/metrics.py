"""Worker metrics: task outcomes and durations per actor, queue depth and age.

Outcomes of one task attempt (`avataradam_task_outcomes_total{actor, outcome}`):

- `success`: the actor returned and its work is done;
- `failure`: the actor returned but the work failed for good and was handled (a
  document marked failed, a webhook given up); the actor says so with
  `TaskMetrics.report_failure`;
- `retry`: the actor raised and Dramatiq's Retries middleware re-enqueued the message;
- `dead_letter`: the actor raised with no retries left (or raised an exception listed
  in `throws`), or the message was skipped as failed (age limit): it went to the
  dead-letter queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import dramatiq
import msgspec
import redis.asyncio as aioredis
from dramatiq.broker import Broker, MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import dq_name
from dramatiq.middleware import Retries

from avataradam.adapters.observability.metrics import Metrics, TaskOutcome

MetricsProvider = Callable[[], Metrics | None]
"""The process's `Metrics`, or None before the worker's container has started."""


class TaskMetrics(dramatiq.Middleware):
    """Records the outcome and duration of every task attempt.

    Install it with `broker.add_middleware(TaskMetrics(...), before=Retries)`: `after_*`
    hooks run in reverse order, so Retries has then already decided whether a failed
    attempt is retried or given up (`message.failed`), and that decision is recorded
    instead of being second-guessed.
    """

    def __init__(self, metrics: MetricsProvider) -> None:
        self._metrics = metrics
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._failed: set[str] = set()

    @classmethod
    def install(cls, broker: Broker, metrics: MetricsProvider) -> TaskMetrics:
        middleware = cls(metrics)
        if any(isinstance(m, Retries) for m in broker.middleware):
            broker.add_middleware(middleware, before=Retries)
        else:
            broker.add_middleware(middleware)
        return middleware

    def report_failure(self, message_id: str) -> None:
        """Called by an actor (in its message's context) whose work failed for good
        although the actor returns normally."""
        with self._lock:
            self._failed.add(message_id)

    def before_process_message(
        self,
        broker: Broker,  # noqa: ARG002 -- Dramatiq fixes hook signatures
        message: MessageProxy,
    ) -> None:
        with self._lock:
            self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: Broker,  # noqa: ARG002 -- Dramatiq fixes hook signatures
        message: MessageProxy,
        *,
        result: object = None,  # noqa: ARG002 -- Dramatiq fixes hook signatures
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
            reported_failure = message.message_id in self._failed
            self._failed.discard(message.message_id)
        outcome: TaskOutcome
        if exception is not None:
            outcome = "dead_letter" if message.failed else "retry"
        else:
            outcome = "failure" if reported_failure else "success"
        self._record(message.actor_name, outcome, started)

    def after_skip_message(
        self,
        broker: Broker,  # noqa: ARG002 -- Dramatiq fixes hook signatures
        message: MessageProxy,
    ) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
            self._failed.discard(message.message_id)
        if message.failed:
            self._record(message.actor_name, "dead_letter", started)

    def _record(self, actor: str, outcome: TaskOutcome, started: float | None) -> None:
        metrics = self._metrics()
        if metrics is None:
            return
        metrics.task_outcomes.labels(actor=actor, outcome=outcome).inc()
        if started is not None:
            metrics.task_duration.labels(actor=actor).observe(time.perf_counter() - started)


class QueueState(msgspec.Struct, frozen=True):
    depth: int
    oldest_age_s: float


class RedisQueueProbe:
    """Reads queue depth and the age of the oldest waiting message from the Redis keys
    of Dramatiq's RedisBroker: `<namespace>:<queue>` is the list of waiting message
    ids (consumed from the head), `<namespace>:<queue>.msgs` the hash of their bodies.

    The age of a ready queue's head is measured from when the message was created; a
    delay queue (`<queue>.DQ`) holds retries waiting for their backoff, so its age is
    how long its head is *overdue* (0 while it is not due yet), which keeps backoff
    waits out of the oldest-message alert. Workers fetch delayed messages early and
    hold them in memory, so a `.DQ` depth above 0 usually means no worker is consuming.
    """

    def __init__(self, client: aioredis.Redis, *, namespace: str, queues: Iterable[str]) -> None:
        self._client = client
        self._namespace = namespace
        ready = sorted(set(queues))
        self.queues: tuple[str, ...] = (*ready, *(dq_name(q) for q in ready))

    @classmethod
    def for_broker(cls, client: aioredis.Redis, broker: Broker) -> RedisQueueProbe:
        namespace = broker.namespace if isinstance(broker, RedisBroker) else "dramatiq"
        return cls(client, namespace=namespace, queues=broker.get_declared_queues())

    def _key(self, queue: str) -> str:
        return f"{self._namespace}:{queue}"

    async def measure(self, now: float | None = None) -> dict[str, QueueState]:
        """Two round trips whatever the number of queues."""
        now_ms = (time.time() if now is None else now) * 1000
        async with self._client.pipeline(transaction=False) as pipe:
            for queue in self.queues:
                pipe.llen(self._key(queue))
                pipe.lindex(self._key(queue), 0)
            replies: list[Any] = await pipe.execute()
        depths = [int(d) for d in replies[0::2]]
        heads: list[bytes | None] = replies[1::2]
        async with self._client.pipeline(transaction=False) as pipe:
            for queue, head in zip(self.queues, heads, strict=True):
                pipe.hget(f"{self._key(queue)}.msgs", head or b"")
            bodies: list[bytes | None] = await pipe.execute()
        return {
            queue: QueueState(depth=depth, oldest_age_s=_age_s(queue, body, now_ms))
            for queue, depth, body in zip(self.queues, depths, bodies, strict=True)
        }

    async def record(self, metrics: Metrics, now: float | None = None) -> dict[str, QueueState]:
        states = await self.measure(now)
        for queue, state in states.items():
            metrics.queue_depth.labels(queue=queue).set(state.depth)
            metrics.queue_oldest_message_age.labels(queue=queue).set(state.oldest_age_s)
        return states


def _age_s(queue: str, body: bytes | None, now_ms: float) -> float:
    if not body:
        return 0.0
    try:
        message = dramatiq.Message.decode(body)
    except dramatiq.errors.DecodeError:
        return 0.0
    if queue.endswith(".DQ"):
        since_ms = now_ms - float(message.options.get("eta", now_ms))
    else:
        since_ms = now_ms - float(message.message_timestamp)
    return max(0.0, since_ms / 1000)
