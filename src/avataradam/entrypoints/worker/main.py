"""Dramatiq entry module (`dramatiq avataradam.entrypoints.worker.main`).

Importing it configures the broker from settings and declares the actors: this is the
worker process's composition point, the one place allowed to do that at import.
Actors are thin: they translate a message into one use-case call.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq
import structlog
from dramatiq.middleware import AsyncIO, CurrentMessage

from avataradam.adapters.dramatiq.queue import QUEUES, build_broker
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.tasks import DELETE_DOCUMENT, DELIVER_WEBHOOK, INGEST_DOCUMENT
from avataradam.entrypoints.settings import load_settings
from avataradam.entrypoints.worker.runtime import WorkerRuntime

settings = load_settings()
broker = build_broker(settings.redis.url)
broker.add_middleware(AsyncIO())
broker.add_middleware(CurrentMessage())
runtime = WorkerRuntime(settings)
broker.add_middleware(runtime)
dramatiq.set_broker(broker)

_log = structlog.get_logger(__name__)
_ingestion = settings.ingestion
_retry: dict[str, Any] = {
    "max_retries": _ingestion.max_retries,
    "min_backoff": _ingestion.min_backoff_ms,
    "max_backoff": _ingestion.max_backoff_ms,
    "time_limit": _ingestion.worker_time_limit_s * 1000,
}


def _retries_left() -> bool:
    message = CurrentMessage.get_current_message()
    retries = message.options.get("retries", 0) if message is not None else 0
    return bool(retries < _ingestion.max_retries)


def _bind(request_id: str | None, **fields: str) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **fields)


@dramatiq.actor(actor_name=INGEST_DOCUMENT, queue_name=QUEUES[INGEST_DOCUMENT], **_retry)
async def ingest_document(document_id: str, request_id: str | None = None, **_: Any) -> None:
    _bind(request_id, document_id=document_id)
    container = runtime.container
    try:
        outcome = await container.ingest_document(UUID(document_id))
    except DependencyUnavailable as exc:
        if _retries_left():
            _log.warning("ingest_retrying", error_code=exc.code)
            raise
        await container.mark_failed(
            UUID(document_id),
            code="retries_exhausted",
            message=f"gave up after retries: {exc.message}",
        )
        return
    except Exception as exc:  # noqa: BLE001 -- a bug must fail the document, not loop forever
        _log.exception("ingest_crashed")
        await container.mark_failed(
            UUID(document_id), code="internal_error", message=type(exc).__name__
        )
        return
    _log.info(
        "document_ingested",
        status=outcome.status,
        chunk_count=outcome.chunk_count,
        error_code=outcome.error_code,
    )


@dramatiq.actor(actor_name=DELETE_DOCUMENT, queue_name=QUEUES[DELETE_DOCUMENT], **_retry)
async def delete_document(document_id: str, request_id: str | None = None, **_: Any) -> None:
    _bind(request_id, document_id=document_id)
    if await runtime.container.purge_document(UUID(document_id)):
        _log.info("document_deleted")


@dramatiq.actor(actor_name=DELIVER_WEBHOOK, queue_name=QUEUES[DELIVER_WEBHOOK], **_retry)
async def deliver_webhook(delivery_id: str, request_id: str | None = None, **_: Any) -> None:
    _bind(request_id, delivery_id=delivery_id)
    container = runtime.container
    try:
        status = await container.deliver_webhook(UUID(delivery_id))
    except DependencyUnavailable as exc:
        if _retries_left():
            raise
        await container.deliver_webhook.give_up(
            UUID(delivery_id), f"retries exhausted: {exc.message}"
        )
        return
    _log.info("webhook_delivery", status=status.value if status else None)
