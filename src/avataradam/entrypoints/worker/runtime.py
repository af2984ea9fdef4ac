"""The worker process's container, started inside Dramatiq's asyncio event loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import dramatiq
import redis
import structlog
from dramatiq.asyncio import get_event_loop_thread

from avataradam.adapters.observability.metrics import Metrics
from avataradam.adapters.observability.multiprocess import mark_process_dead, start_metrics_server
from avataradam.domain.errors import DependencyUnavailable
from avataradam.entrypoints.bootstrap import Overrides, build_container
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import Settings
from avataradam.entrypoints.speech import SpeechEngines
from avataradam.entrypoints.worker.metrics import RedisQueueProbe

_log = structlog.get_logger(__name__)


def lower_cpu_priority(increment: int) -> None:
    """Raises this process's nice value by `increment` (AVATARADAM_WORKER_NICE), once per
    worker process: Dramatiq imports the actor module in each process it forks."""
    if increment > 0:
        os.nice(increment)


async def start_when_reachable(
    start: Callable[[], Awaitable[None]],
    *,
    first_delay_s: float = 0.5,
    max_delay_s: float = 5.0,
) -> None:
    """Runs `start` (the container's) until no dependency it needs is unavailable.

    A worker may boot while its database is down or has no primary yet (a failover
    under way, a restart of the whole stack). Dramatiq logs a failing boot hook and
    starts the consumers all the same, so without this the process would live on with
    no database and fail every task it takes for good. Each attempt that raises
    `DependencyUnavailable` is logged (`worker_start_waiting`) and retried after a
    delay doubling from `first_delay_s` up to `max_delay_s`; no consumer runs
    meanwhile, so messages wait in Redis. Any other error propagates.
    """
    delay_s = first_delay_s
    while True:
        try:
            await start()
        except DependencyUnavailable as exc:
            _log.warning("worker_start_waiting", error=str(exc), retry_in_s=delay_s, **exc.details)
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, max_delay_s)
        else:
            return


class WorkerRuntime(dramatiq.Middleware):
    """Builds the container after the worker boots and runs the periodic duties.

    Every worker process relays the outbox, reconciles stuck documents (those whose
    processing lease lapsed included), pending scorecards nobody scores and knowledge-gap
    questions nobody grouped, records the reminders of assignments that became overdue,
    re-drives
    overdue webhook deliveries and purges
    expired idempotency keys, once as it starts and then every
    `ingestion.reconcile_interval_s`; all are safe to run in many processes at once
    (row locks, SKIP LOCKED, an idempotent DELETE). Every
    `worker.heartbeat_interval_s` it also beats the heartbeat and refreshes the queue
    and documents gauges (by status, and the age of the oldest processing document;
    global values: whichever process measured last wins, which is what their
    `mostrecent` mode expects).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker_name = socket.gethostname()
        self._container: Container | None = None
        self._broker: dramatiq.Broker | None = None
        self._queues: RedisQueueProbe | None = None
        self._periodic: list[asyncio.Task[None]] = []

    @property
    def container(self) -> Container:
        if self._container is None:
            raise RuntimeError("the worker runtime has not started")
        return self._container

    @property
    def metrics(self) -> Metrics | None:
        """The process's metrics once started (task hooks may run before that)."""
        return None if self._container is None else self._container.metrics

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Starts the container before any consumer runs: Dramatiq starts its consumer
        threads before `after_worker_boot`, so a message could otherwise arrive first.
        The AsyncIO middleware, added earlier, has created the event loop thread by now."""
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before WorkerRuntime")
        self._broker = broker
        queues = getattr(worker, "consumer_whitelist", None)
        loop_thread.run_coroutine(self._start(warm_up=not queues or "ingest" in queues))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Stops the periodic duties only: Dramatiq calls this before it lets the running
        messages finish, and they still need the container (closing it here crashed
        every in-flight ingestion at SIGTERM)."""
        loop_thread = get_event_loop_thread()
        if loop_thread is not None and self._periodic:
            loop_thread.run_coroutine(self._stop_periodic())

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Closes the container once the worker threads have finished their messages.
        Middleware run in reverse order here, so this comes before the AsyncIO
        middleware stops the event loop."""
        loop_thread = get_event_loop_thread()
        if loop_thread is not None and self._container is not None:
            loop_thread.run_coroutine(self._stop())

    async def _start(self, *, warm_up: bool) -> None:
        """`warm_up` loads the embedder before any consumer runs, so no ingestion waits
        for it; a worker of the webhooks queue alone never embeds and skips it."""
        # The worker never speaks: it builds no speech engine (no process, no model).
        self._container = build_container(self.settings, Overrides(speech=SpeechEngines()))
        await start_when_reachable(self._container.start)
        if warm_up:
            await self._container.warm_up()
        if self._broker is not None:
            self._queues = RedisQueueProbe.for_broker(self._container.redis, self._broker)
        self._serve_metrics()
        self._periodic = [
            asyncio.create_task(
                self._every(self.settings.ingestion.reconcile_interval_s, self.tick)
            ),
            asyncio.create_task(
                self._every(self.settings.worker.heartbeat_interval_s, self.observe)
            ),
            asyncio.create_task(
                self._every(self.settings.ingestion.reconcile_interval_s, self.redrive_webhooks)
            ),
        ]
        _log.info("worker_started")

    async def _stop_periodic(self) -> None:
        periodic, self._periodic = self._periodic, []
        for task in periodic:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _stop(self) -> None:
        await self._stop_periodic()
        await self.container.close()
        mark_process_dead(os.getpid())

    def _serve_metrics(self) -> None:
        """The first worker process of a host to bind the port serves it; with
        `PROMETHEUS_MULTIPROC_DIR` shared, that one page covers every process."""
        port = self.settings.worker.metrics_port
        if port is None:
            return
        try:
            start_metrics_server(
                host=self.settings.worker.metrics_host,
                port=port,
                registry=self.container.metrics_registry,
            )
        except OSError as exc:
            _log.info("worker_metrics_port_taken", port=port, error=str(exc))
        else:
            _log.info("worker_metrics_serving", port=port)

    @staticmethod
    async def _every(interval_s: float, duty: Callable[[], Awaitable[object]]) -> None:
        while True:
            try:
                await duty()
            except Exception:  # noqa: BLE001 -- the loop must outlive any one failed round
                _log.exception("periodic_duty_failed", duty=getattr(duty, "__name__", "?"))
            await asyncio.sleep(interval_s)

    async def tick(self) -> dict[str, Any]:
        """One round of periodic duties; failures are logged and retried next round."""
        container = self.container
        done: dict[str, Any] = {}
        try:
            done["relayed"] = await container.relay_outbox()
            done["redriven"] = [str(i) for i in await container.reconcile_documents()]
            done["scorings_redriven"] = [str(i) for i in await container.scoring.reconcile()]
            done["assignments_overdue"] = [
                f"{assignment}/{user}"
                for assignment, user in await container.assignments.remind_overdue()
            ]
            done["knowledge_gaps_redriven"] = [
                str(i) for i in await container.knowledge_gaps.reconcile()
            ]
            done["reembeddings_resumed"] = [
                f"{r.dealership_id}/{r.generation}"
                for r in await container.reconcile_reembeddings()
            ]
            done["idempotency_keys_purged"] = await container.purge_idempotency_keys()
        except Exception:  # noqa: BLE001 -- the loop must outlive any one failed round
            _log.exception("periodic_duties_failed")
        else:
            if any(done.values()):
                _log.info("periodic_duties", **done)
        return done

    async def redrive_webhooks(self) -> list[str]:
        """Re-enqueues webhook deliveries whose queue message was lost (its own duty, so
        that document reconciling and delivery re-driving fail and change separately)."""
        redriven = [str(i) for i in await self.container.redrive_webhooks()]
        if redriven:
            _log.info("webhook_deliveries_redriven", delivery_ids=redriven)
        return redriven

    async def observe(self) -> dict[str, Any]:
        """One round of gauges. The heartbeat comes first and the parts fail
        separately, so a Redis outage neither stops the heartbeat nor the documents
        gauge (the queue gauges then keep their last values)."""
        container = self.container
        metrics = container.metrics
        metrics.heartbeat(self.worker_name)
        observed: dict[str, Any] = {}
        if self._queues is not None:
            try:
                observed["queues"] = await self._queues.record(metrics)
            except (redis.RedisError, OSError) as exc:
                _log.warning("queue_gauges_failed", error=type(exc).__name__)
        try:
            async with container.uow(read_only=True) as uow:
                counts = await uow.documents.count_by_status(None)
                oldest = await uow.documents.oldest_processing_started_at()
        except DependencyUnavailable as exc:
            _log.warning("document_gauges_failed", error=exc.code)
        else:
            for status, count in counts.items():
                metrics.documents.labels(status=status.value).set(count)
            observed["documents"] = {status.value: n for status, n in counts.items()}
            age_s = 0.0 if oldest is None else (container.clock.now() - oldest).total_seconds()
            metrics.documents_oldest_processing_age.set(max(0.0, age_s))
            observed["oldest_processing_age_s"] = age_s
        return observed
