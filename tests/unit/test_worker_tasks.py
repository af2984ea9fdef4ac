"""A task's failure is retried with backoff; only the last attempt records it for good.

One `RuntimeError` used to fail a document as `internal_error` at once. Now every
failure, an outage or a bug, is re-raised for Dramatiq's Retries while retries are
left, and the last attempt fails the document (`retries_exhausted` after an outage,
`internal_error` after anything else) or gives the webhook delivery up. The last tests
run the actors' own options through Dramatiq's Worker and Retries middleware.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import compute_backoff
from dramatiq.middleware import AsyncIO, CurrentMessage

from avataradam.adapters.embeddings.hashing import HashingEmbedder
from avataradam.adapters.memory.queue import InMemoryTaskQueue
from avataradam.domain.access import Principal
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    DeliveryStatus,
    DocumentStatus,
    Message,
    MessageRole,
    Role,
    Topic,
    WebhookSubscription,
)
from avataradam.domain.model.scorecards import ScorecardStatus
from avataradam.domain.ports.knowledge import EmbedderUnavailable
from avataradam.domain.ports.services import WebhookResult
from avataradam.domain.tasks import DELIVER_WEBHOOK
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from avataradam.domain.training.rubrics import Rubric
from avataradam.domain.training.scorecard import Scorecard, Transcript
from avataradam.domain.usecases.documents import UploadedFile, UploadRequest
from avataradam.domain.usecases.rubric_catalog import RubricCatalog
from avataradam.domain.usecases.scoring_run import ScoreConversation, ScoringRunOptions
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.settings import load_settings
from avataradam.entrypoints.worker.runtime import WorkerRuntime
from avataradam.entrypoints.worker.tasks import (
    actor_options,
    deliver,
    ingest,
    last_attempt,
    retry_within,
    score,
)
from tests.contract.builders import user
from tests.support.world import in_memory_container

TEXT = "The F&I manager presents every product on one menu. " * 30
MAX_RETRIES = 2


class FailingEmbedder(HashingEmbedder):
    """Raises `error` on the first `failures` calls (all of them with None)."""

    def __init__(self, error: Exception, failures: int | None = None) -> None:
        super().__init__()
        self.error, self.failures, self.calls = error, failures, 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise self.error
        return await super().embed(texts)


class CrashingSender:
    """Implements `WebhookSender` by crashing, as a library bug would."""

    async def send(
        self,
        *,
        url: str,
        secret: str,
        message_id: str,
        payload: bytes,
        previous_secrets: Sequence[str] = (),
    ) -> WebhookResult:
        del url, secret, message_id, payload, previous_secrets
        raise RuntimeError("the HTTP client crashed")


def _container(embedder: HashingEmbedder, **overrides: Any) -> Container:
    settings = load_settings(
        {
            "AVATARADAM_EMBEDDER": "hashing",
            "AVATARADAM_INGESTION_MAX_RETRIES": str(MAX_RETRIES),
            "AVATARADAM_INGESTION_MIN_BACKOFF_MS": "1",
            "AVATARADAM_INGESTION_MAX_BACKOFF_MS": "5",
        },
        env_file=None,
    )
    return in_memory_container(settings, embedder=embedder, queue=InMemoryTaskQueue(), **overrides)


async def _upload(container: Container) -> tuple[Principal, uuid.UUID]:
    dealership = await container.create_dealership.create(f"Store {uuid.uuid4().hex[:6]}")
    principal = Principal(
        user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=dealership.id
    )
    data = TEXT.encode()

    async def parts() -> AsyncIterator[bytes]:
        yield data

    async def scan() -> UploadedFile:
        return UploadedFile(
            filename="menu.txt",
            content_type="text/plain",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    result = await container.upload_document(
        principal,
        UploadRequest(topic=Topic.PLAYBOOKS),
        scan,
        parts,
    )
    return principal, result.value.id


async def _document(container: Container, document_id: uuid.UUID) -> Any:
    async with container.uow(read_only=True) as uow:
        return await uow.documents.get(document_id, dealership_id=None)


async def test_an_unexpected_error_with_retries_left_is_raised_for_a_retry() -> None:
    container = _container(FailingEmbedder(RuntimeError("cannot schedule new futures")))
    _, document_id = await _upload(container)

    with pytest.raises(RuntimeError):
        await ingest(container, document_id, last_attempt=False)

    document = await _document(container, document_id)
    assert document.status is DocumentStatus.PROCESSING, "not failed while retries are left"


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (RuntimeError("boom"), "internal_error", "RuntimeError"),
        (EmbedderUnavailable("down"), "retries_exhausted", "gave up after retries: down"),
    ],
)
async def test_the_last_attempt_fails_the_document_with_the_kind_of_failure(
    error: Exception, code: str, message: str
) -> None:
    container = _container(FailingEmbedder(error))
    _, document_id = await _upload(container)

    outcome = await ingest(container, document_id, last_attempt=True)

    assert (outcome.status, outcome.error_code) == ("failed", code)
    document = await _document(container, document_id)
    assert document.status is DocumentStatus.FAILED
    assert (document.error.code, document.error.message) == (code, message)


async def _pending_delivery(container: Container) -> uuid.UUID:
    principal, document_id = await _upload(container)
    assert principal.dealership_id is not None
    async with container.uow() as uow:
        await uow.webhooks.add(
            WebhookSubscription(
                id=uuid.uuid4(),
                dealership_id=principal.dealership_id,
                url="https://example.com/hook",
                events=("document.ready",),
                secret="whsec_test",
                active=True,
                created_at=container.clock.now(),
            )
        )
        await uow.commit()
    await ingest(container, document_id, last_attempt=False)
    await container.relay_outbox()
    queue = container.queue
    assert isinstance(queue, InMemoryTaskQueue)
    [task] = queue.take(DELIVER_WEBHOOK)
    return uuid.UUID(task.payload["delivery_id"])


async def test_a_crashing_webhook_delivery_is_retried_then_given_up_on_the_last_attempt() -> None:
    container = _container(HashingEmbedder(), sender=CrashingSender())
    delivery_id = await _pending_delivery(container)

    with pytest.raises(RuntimeError):
        await deliver(container, delivery_id, last_attempt=False)
    async with container.uow(read_only=True) as uow:
        pending = await uow.webhooks.get_delivery(delivery_id)
    status = await deliver(container, delivery_id, last_attempt=True)
    async with container.uow(read_only=True) as uow:
        given_up = await uow.webhooks.get_delivery(delivery_id)

    assert pending is not None
    assert pending.status is DeliveryStatus.PENDING
    assert status is DeliveryStatus.FAILED
    assert given_up is not None
    assert given_up.status is DeliveryStatus.FAILED


def _run_through_dramatiq(container: Container) -> tuple[uuid.UUID, list[bool]]:
    """The ingest actor's composition (main.py) on a StubBroker with Dramatiq's default
    middleware; returns the document and each attempt's `last_attempt`."""
    broker = StubBroker()
    broker.add_middleware(AsyncIO())
    broker.add_middleware(CurrentMessage())
    attempts: list[bool] = []
    finished = threading.Event()

    options = actor_options(container.settings.ingestion)

    @dramatiq.actor(broker=broker, queue_name="ingest", **options)
    async def ingest_document(document_id: str) -> None:
        last = last_attempt(MAX_RETRIES)
        attempts.append(last)
        outcome = await ingest(container, uuid.UUID(document_id), last_attempt=last)
        if outcome.status in {"ready", "failed"}:
            finished.set()

    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=20)
    worker.start()
    try:
        loop = dramatiq.asyncio.get_event_loop_thread()
        assert loop is not None
        _, document_id = loop.run_coroutine(_upload(container))
        ingest_document.send(str(document_id))
        assert finished.wait(20), f"never settled after {len(attempts)} attempts"
    finally:
        worker.stop(timeout=5000)
    return document_id, attempts


def _status(container: Container, document_id: uuid.UUID) -> Any:
    return asyncio.run(_document(container, document_id))


def test_through_dramatiq_a_bug_fails_the_document_only_after_every_retry() -> None:
    embedder = FailingEmbedder(RuntimeError("boom"))
    container = _container(embedder)

    document_id, attempts = _run_through_dramatiq(container)

    assert attempts == [False] * MAX_RETRIES + [True]
    document = _status(container, document_id)
    assert document.status is DocumentStatus.FAILED
    assert document.error.code == "internal_error"


def test_through_dramatiq_a_passing_bug_is_retried_and_the_document_becomes_ready() -> None:
    container = _container(FailingEmbedder(RuntimeError("boom"), failures=1))

    document_id, attempts = _run_through_dramatiq(container)

    assert attempts == [False, False]
    document = _status(container, document_id)
    assert document.status is DocumentStatus.READY
    assert document.attempts == 2


@pytest.mark.parametrize("retries", [0, 1, 3, 8, 12])
def test_the_lease_is_let_go_at_least_as_long_as_dramatiqs_backoff(retries: int) -> None:
    """`retry_within` bounds the delay Dramatiq's Retries middleware draws (with its
    jitter) for the message being processed, so the reconciler does not re-drive a
    document whose retry is merely waiting."""
    ingestion = load_settings({}, env_file=None).ingestion
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name="ingest", actor_name="ingest_document", args=(), kwargs={}, options={}
    )
    message.options["retries"] = retries
    current = CurrentMessage._MESSAGE.set(message)  # what the middleware sets for a task
    try:
        window = retry_within(ingestion)
    finally:
        CurrentMessage._MESSAGE.reset(current)
    delays_ms = [
        compute_backoff(
            retries, factor=ingestion.min_backoff_ms, max_backoff=ingestion.max_backoff_ms
        )[1]
        for _ in range(200)
    ]
    assert max(delays_ms) <= window.total_seconds() * 1000
    assert window.total_seconds() * 1000 <= 2 * max(ingestion.min_backoff_ms * 2**retries, 1)


async def test_the_worker_heartbeat_exports_the_age_of_the_oldest_processing_document() -> None:
    container = _container(HashingEmbedder())
    runtime = WorkerRuntime(container.settings)
    runtime._container = container  # what `before_worker_boot` builds in a worker
    assert container.metrics_registry is not None
    gauge = "avataradam_documents_oldest_processing_age_seconds"

    await runtime.observe()
    assert container.metrics_registry.get_sample_value(gauge) == 0.0, "none is processing"

    _, document_id = await _upload(container)
    async with container.uow() as uow:
        queued = await uow.documents.get_for_update(document_id)
        assert queued is not None
        since = container.clock.now() - timedelta(seconds=90)
        await uow.documents.update(
            queued.claimed(token=uuid.uuid4(), now=since, lease=timedelta(seconds=20))
        )
        await uow.commit()
    observed = await runtime.observe()

    age = container.metrics_registry.get_sample_value(gauge)
    assert age is not None
    assert 90 <= age < 120
    assert observed["oldest_processing_age_s"] == age


class FailingScorer:
    """Implements `Scorer` by raising `error`, as a dependency down or a bug would."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard:
        del rubric, transcript
        raise self.error


async def _completed_roleplay(container: Container) -> uuid.UUID:
    """A roleplay of one trainee line, completed (its scorecard `pending`)."""
    dealership = await container.create_dealership.create(f"Store {uuid.uuid4().hex[:6]}")
    account = user(dealership.id)
    trainee = Principal(user_id=account.id, role=Role.USER, dealership_id=dealership.id)
    now = container.clock.now()
    conversation = Conversation(
        id=uuid.uuid4(),
        dealership_id=dealership.id,
        user_id=trainee.user_id,
        mode=ConversationMode.ROLEPLAY,
        scenario=None,
        created_at=now,
        updated_at=now,
    )
    async with container.uow() as uow:
        await uow.users.add(account)
        await uow.conversations.add(conversation)
        await uow.conversations.add_message(
            Message(
                id=uuid.uuid4(),
                conversation_id=conversation.id,
                role=MessageRole.USER,
                content="How long are you planning to keep the car?",
                sources=(),
                created_at=now,
            )
        )
        await uow.commit()
    await container.scoring.complete(trainee, conversation.id)
    return conversation.id


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (RuntimeError("boom"), "internal_error", "RuntimeError"),
        (EmbedderUnavailable("down"), "retries_exhausted", "gave up after retries: down"),
    ],
)
async def test_scoring_is_retried_then_failed_on_the_last_attempt_with_its_error(
    error: Exception, code: str, message: str
) -> None:
    container = _container(HashingEmbedder())
    scoring = container.scoring
    container.scoring = dataclasses.replace(
        scoring,
        score=ScoreConversation(
            container.uow,
            {"rules": FailingScorer(error)},
            RubricCatalog(BUILT_IN_RUBRICS),
            container.clock,
            container.ids,
            container.telemetry,
            ScoringRunOptions(lease=timedelta(seconds=60)),
        ),
    )
    conversation_id = await _completed_roleplay(container)

    with pytest.raises(type(error)):
        await score(container, conversation_id, last_attempt=False)
    async with container.uow(read_only=True) as uow:
        retried = await uow.scorecards.get(conversation_id)
    outcome = await score(container, conversation_id, last_attempt=True)
    async with container.uow(read_only=True) as uow:
        failed = await uow.scorecards.get(conversation_id)

    assert retried is not None
    assert retried.status is ScorecardStatus.PENDING, "not failed while retries are left"
    assert (outcome.status, outcome.error_code) == ("failed", code)
    assert failed is not None
    assert (failed.status, failed.error_code, failed.error_message) == (
        ScorecardStatus.FAILED,
        code,
        message,
    )
    assert failed.attempts == 2
