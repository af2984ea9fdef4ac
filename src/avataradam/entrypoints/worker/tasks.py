"""What the worker does with one message, and with a failure of its work.

A failure is retried with Dramatiq's exponential backoff while retries are left
(`AVATARADAM_INGESTION_MAX_RETRIES`, `_MIN_BACKOFF_MS`, `_MAX_BACKOFF_MS`), whether a
dependency is down or the code met something it did not expect (a bug, a library's
`RuntimeError`): one unlucky attempt must not fail a user's document for good. Only the
last attempt records the failure: the document fails (`retries_exhausted` after an
outage, `internal_error` after anything else), the webhook delivery is given up.
An attempt interrupted by the worker's stop is always retried (`retry_when`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from dramatiq.middleware import CurrentMessage

from avataradam.domain import codes
from avataradam.domain.errors import DependencyUnavailable
from avataradam.domain.model import DeliveryStatus
from avataradam.domain.usecases.ingestion_run import IngestOutcome
from avataradam.domain.usecases.scoring_run import ScoringOutcome
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings.features import IngestionSettings
from avataradam.entrypoints.worker.memory import release_free_memory
from avataradam.entrypoints.worker.shutdown import retry_when

_log = structlog.get_logger("avataradam.worker")


def actor_options(ingestion: IngestionSettings) -> dict[str, Any]:
    """Dramatiq options of every actor: retries with backoff, and the time limit."""
    return {
        "retry_when": retry_when(ingestion.max_retries),
        "min_backoff": ingestion.min_backoff_ms,
        "max_backoff": ingestion.max_backoff_ms,
        "time_limit": ingestion.worker_time_limit_s * 1000,
    }


def last_attempt(max_retries: int) -> bool:
    """Whether the message being processed has no retry left (CurrentMessage middleware)."""
    return _retries() >= max_retries


def retry_within(ingestion: IngestionSettings) -> timedelta:
    """The longest Dramatiq's Retries middleware waits before retrying the message being
    processed should it fail: its backoff is `min_backoff * 2**retries`, stretched by
    a jitter of up to twice that, at most `max_backoff`."""
    backoff_ms = min(ingestion.max_backoff_ms, ingestion.min_backoff_ms * 2 ** (_retries() + 1))
    return timedelta(milliseconds=backoff_ms)


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return int(message.options.get("retries", 0)) if message is not None else 0


async def ingest(
    container: Container,
    document_id: UUID,
    *,
    last_attempt: bool,
    retry_within: timedelta | None = None,
) -> IngestOutcome:
    """Ingests a document; raises for Dramatiq to retry unless this is the last attempt,
    which fails the document instead (outcome `failed` with the code). A failed attempt
    lets the document go for `retry_within` (see IngestDocument)."""
    try:
        return await container.ingest_document(
            document_id, retry_within=None if last_attempt else retry_within
        )
    except Exception as exc:
        _log_failure("ingest", exc, last_attempt=last_attempt)
        if not last_attempt:
            raise
        code, message = _given_up(exc)
        if not await container.mark_failed(document_id, code=code, message=message):
            # Another worker holds the document now: its run decides.
            return IngestOutcome(document_id=document_id, status="superseded")
        return IngestOutcome(document_id=document_id, status="failed", error_code=code)
    finally:
        # The model's activations are freed but kept by malloc unless trimmed.
        await asyncio.to_thread(release_free_memory)


async def deliver(
    container: Container, delivery_id: UUID, *, last_attempt: bool
) -> DeliveryStatus | None:
    """Makes one attempt of a webhook delivery; the use case schedules its retries in
    PostgreSQL. An error of the service itself (database down, a bug) raises for
    Dramatiq to retry unless this is the last attempt, which gives the delivery up
    instead (status `failed`)."""
    try:
        return await container.deliver_webhook(delivery_id)
    except Exception as exc:
        _log_failure("webhook", exc, last_attempt=last_attempt)
        if not last_attempt:
            raise
        reason = f"retries exhausted: {_describe(exc)}"
        await container.deliver_webhook.give_up(delivery_id, reason)
        return DeliveryStatus.FAILED


async def score(
    container: Container,
    conversation_id: UUID,
    *,
    last_attempt: bool,
    retry_within: timedelta | None = None,
) -> ScoringOutcome:
    """Scores a completed session; raises for Dramatiq to retry unless this is the last
    attempt, which fails its scorecard instead (`retries_exhausted` after an outage,
    `internal_error` after anything else), keeping the error."""
    scoring = container.scoring
    try:
        return await scoring.score(
            conversation_id, retry_within=None if last_attempt else retry_within
        )
    except Exception as exc:
        _log_failure("score", exc, last_attempt=last_attempt)
        if not last_attempt:
            raise
        code, message = _given_up(exc)
        if not await scoring.score.fail(conversation_id, code=code, message=message):
            return ScoringOutcome(conversation_id=conversation_id, status="superseded")
        return ScoringOutcome(conversation_id=conversation_id, status="failed", error_code=code)


def _given_up(exc: Exception) -> tuple[str, str]:
    """(code, message) of work that failed its last attempt: `retries_exhausted` after
    an outage of a dependency, `internal_error` after anything else."""
    if isinstance(exc, DependencyUnavailable):
        return codes.RETRIES_EXHAUSTED, f"gave up after retries: {exc.message}"
    return codes.INTERNAL_ERROR, _describe(exc)


def _describe(exc: Exception) -> str:
    """What a failure record may say: a dependency's message, or only the exception's
    type (its text may quote document content)."""
    return exc.message if isinstance(exc, DependencyUnavailable) else type(exc).__name__


def _log_failure(task: str, exc: Exception, *, last_attempt: bool) -> None:
    event = f"{task}_gave_up" if last_attempt else f"{task}_retrying"
    if isinstance(exc, DependencyUnavailable):
        _log.warning(event, error_code=exc.code, error=exc.message)
    else:
        _log.error(event, error_type=type(exc).__name__, exc_info=exc)
