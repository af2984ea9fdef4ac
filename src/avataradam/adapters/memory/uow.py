"""In-memory unit of work: the twin of PostgresUnitOfWork for tests and the demo."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from avataradam.adapters.memory.analytics import InMemoryAnalyticsRepository
from avataradam.adapters.memory.assignments import InMemoryAssignmentRepository
from avataradam.adapters.memory.conversations import (
    InMemoryConversationRepository,
    InMemoryFeedbackRepository,
)
from avataradam.adapters.memory.documents import (
    InMemoryBlobRepository,
    InMemoryChunkRepository,
    InMemoryDocumentRepository,
)
from avataradam.adapters.memory.identity import (
    InMemoryDealershipRepository,
    InMemoryRefreshTokenRepository,
    InMemoryUserRepository,
)
from avataradam.adapters.memory.knowledge_gaps import InMemoryKnowledgeGapRepository
from avataradam.adapters.memory.outbox import (
    InMemoryIdempotencyRepository,
    InMemoryOutboxRepository,
)
from avataradam.adapters.memory.reembeddings import InMemoryReembeddingRepository
from avataradam.adapters.memory.rubrics import InMemoryRubricRepository
from avataradam.adapters.memory.scenarios import InMemoryScenarioRepository
from avataradam.adapters.memory.scorecards import InMemoryScorecardRepository
from avataradam.adapters.memory.speech_audio import InMemoryMessageAudioRepository
from avataradam.adapters.memory.store import InMemoryStore, InMemoryTransaction
from avataradam.adapters.memory.usage import InMemoryUsageRepository
from avataradam.adapters.memory.webhooks import InMemoryWebhookRepository
from avataradam.domain.ports.repositories.uow import UnitOfWork


class InMemoryUnitOfWork(UnitOfWork):
    """Works on a copy of the store; `commit` publishes it, leaving discards it."""

    def __init__(self, store: InMemoryStore, *, read_only: bool) -> None:
        self._store = store
        self._read_only = read_only
        self._tx: InMemoryTransaction | None = None

    async def __aenter__(self) -> Self:
        if self._tx is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        tx = self._tx = InMemoryTransaction(self._store, read_only=self._read_only)
        self.dealerships = InMemoryDealershipRepository(tx)
        self.users = InMemoryUserRepository(tx)
        self.refresh_tokens = InMemoryRefreshTokenRepository(tx)
        self.documents = InMemoryDocumentRepository(tx)
        self.chunks = InMemoryChunkRepository(tx)
        self.blobs = InMemoryBlobRepository(tx)
        self.conversations = InMemoryConversationRepository(tx)
        self.feedback = InMemoryFeedbackRepository(tx)
        self.outbox = InMemoryOutboxRepository(tx)
        self.idempotency = InMemoryIdempotencyRepository(tx)
        self.webhooks = InMemoryWebhookRepository(tx)
        self.usage = InMemoryUsageRepository(tx)
        self.reembeddings = InMemoryReembeddingRepository(tx)
        self.scenarios = InMemoryScenarioRepository(tx)
        self.scorecards = InMemoryScorecardRepository(tx)
        self.assignments = InMemoryAssignmentRepository(tx)
        self.rubrics = InMemoryRubricRepository(tx)
        self.analytics = InMemoryAnalyticsRepository(tx)
        self.knowledge_gaps = InMemoryKnowledgeGapRepository(tx)
        self.message_audio = InMemoryMessageAudioRepository(tx)
        self.audio_blobs = InMemoryBlobRepository(tx, "audio_blobs")
        return self

    async def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit outside an entered unit of work")
        self._tx.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.release()


class InMemoryUnitOfWorkFactory:
    """Implements UnitOfWorkFactory over one InMemoryStore (`store` is for tests)."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store

    def __call__(self, *, read_only: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, read_only=read_only)
