"""Dramatiq entry module (`dramatiq avataradam.entrypoints.worker.main`).

Importing it configures logging, tracing and the broker from settings and declares the
actors: this is the worker process's composition point, the one place allowed to do
that at import. Actors are thin: they translate a message into one use-case call.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

import dramatiq
import structlog
from dramatiq.middleware import AsyncIO, CurrentMessage

from avataradam.adapters.dramatiq.queue import QUEUES
from avataradam.adapters.observability.tracing import configure_tracing
from avataradam.domain.model import DeliveryStatus
from avataradam.domain.tasks import (
    DELETE_DOCUMENT,
    DELIVER_WEBHOOK,
    GROUP_KNOWLEDGE_GAPS,
    INGEST_DOCUMENT,
    REEMBED_KNOWLEDGE_BASE,
    SCORE_CONVERSATION,
)
from avataradam.entrypoints.bootstrap import broker_for
from avataradam.entrypoints.observability.logging import configure_logging
from avataradam.entrypoints.settings import load_settings
from avataradam.entrypoints.worker.context import message_context
from avataradam.entrypoints.worker.metrics import TaskMetrics
from avataradam.entrypoints.worker.runtime import WorkerRuntime, lower_cpu_priority
from avataradam.entrypoints.worker.shutdown import GracefulStop
from avataradam.entrypoints.worker.tasks import (
    actor_options,
    deliver,
    ingest,
    last_attempt,
    retry_within,
    score,
)

settings = load_settings()
lower_cpu_priority(settings.worker.nice)
configure_logging(
    service=f"{settings.service_name}-worker",
    level=settings.logging.level,
    fmt=settings.logging.format,
)
configure_tracing(f"{settings.service_name}-worker")
broker = broker_for(settings)
broker.add_middleware(AsyncIO())
broker.add_middleware(CurrentMessage())
runtime = WorkerRuntime(settings)
broker.add_middleware(runtime)
task_metrics = TaskMetrics.install(broker, lambda: runtime.metrics)
broker.add_middleware(GracefulStop(settings.worker.drain_timeout_s))  # last, see its docstring
dramatiq.set_broker(broker)

_log = structlog.get_logger("avataradam.worker")
_ingestion = settings.ingestion
_options = actor_options(_ingestion)


def _last_attempt() -> bool:
    return last_attempt(_ingestion.max_retries)


def _work_failed(*, document_code: str | None = None, webhook: bool = False) -> None:
    """The task returns normally but its work failed for good (and was recorded)."""
    message = CurrentMessage.get_current_message()
    if message is not None:
        task_metrics.report_failure(message.message_id)
    metrics = runtime.metrics
    if metrics is None:
        return
    if document_code is not None:
        metrics.documents_failed.labels(code=document_code).inc()
    if webhook:
        metrics.webhook_deliveries.labels(outcome="failed").inc()


def _message_context(**fields: str) -> AbstractContextManager[None]:
    message = CurrentMessage.get_current_message()
    if message is None:
        return message_context("task", {}, **fields)
    return message_context(message.actor_name, message.options, **fields)


@dramatiq.actor(actor_name=INGEST_DOCUMENT, queue_name=QUEUES[INGEST_DOCUMENT], **_options)
async def ingest_document(document_id: str, **_: Any) -> None:
    with _message_context(document_id=document_id):
        outcome = await ingest(
            runtime.container,
            UUID(document_id),
            last_attempt=_last_attempt(),
            retry_within=retry_within(_ingestion),
        )
        if outcome.status == "failed":
            _work_failed(document_code=outcome.error_code or "unknown")
        _log.info(
            "document_ingested",
            status=outcome.status,
            chunk_count=outcome.chunk_count,
            error_code=outcome.error_code,
        )


@dramatiq.actor(actor_name=DELETE_DOCUMENT, queue_name=QUEUES[DELETE_DOCUMENT], **_options)
async def delete_document(document_id: str, **_: Any) -> None:
    with _message_context(document_id=document_id):
        if await runtime.container.purge_document(UUID(document_id)):
            _log.info("document_deleted")


@dramatiq.actor(
    actor_name=REEMBED_KNOWLEDGE_BASE, queue_name=QUEUES[REEMBED_KNOWLEDGE_BASE], **_options
)
async def reembed_knowledge_base(dealership_id: str, generation: str, **_: Any) -> None:
    with _message_context(dealership_id=dealership_id, generation=generation):
        status = await runtime.container.run_reembedding(UUID(dealership_id), int(generation))
        _log.info("reembedding_run", status=status)


@dramatiq.actor(actor_name=SCORE_CONVERSATION, queue_name=QUEUES[SCORE_CONVERSATION], **_options)
async def score_conversation(conversation_id: str, **_: Any) -> None:
    with _message_context(conversation_id=conversation_id):
        outcome = await score(
            runtime.container,
            UUID(conversation_id),
            last_attempt=_last_attempt(),
            retry_within=retry_within(_ingestion),
        )
        if outcome.status == "failed":
            _work_failed()
        _log.info(
            "conversation_scored",
            status=outcome.status,
            overall=outcome.overall,
            error_code=outcome.error_code,
        )


@dramatiq.actor(
    actor_name=GROUP_KNOWLEDGE_GAPS, queue_name=QUEUES[GROUP_KNOWLEDGE_GAPS], **_options
)
async def group_knowledge_gaps(dealership_id: str, **_: Any) -> None:
    """Idempotent: a run that finds nothing ungrouped does nothing; a failed one is
    retried, and re-driven by the tick's reconciler after its retries."""
    with _message_context(dealership_id=dealership_id):
        grouped = await runtime.container.knowledge_gaps.group(UUID(dealership_id))
        if grouped:
            _log.info("knowledge_gaps_grouped", questions=grouped)


@dramatiq.actor(actor_name=DELIVER_WEBHOOK, queue_name=QUEUES[DELIVER_WEBHOOK], **_options)
async def deliver_webhook(delivery_id: str, **_: Any) -> None:
    container = runtime.container
    with _message_context(delivery_id=delivery_id):
        status = await deliver(container, UUID(delivery_id), last_attempt=_last_attempt())
        _log.info("webhook_delivery", status=status.value if status else None)
        if status is DeliveryStatus.FAILED:
            _work_failed(webhook=True)
        elif status is DeliveryStatus.DELIVERED:
            container.metrics.webhook_deliveries.labels(outcome="delivered").inc()
        elif status is DeliveryStatus.PENDING:
            container.metrics.webhook_deliveries.labels(outcome="retrying").inc()
