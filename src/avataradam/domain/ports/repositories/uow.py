"""The unit of work: one transaction over every repository."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from avataradam.domain.ports.repositories.analytics import AnalyticsRepository
from avataradam.domain.ports.repositories.assignments import AssignmentRepository
from avataradam.domain.ports.repositories.conversations import (
    ConversationRepository,
    FeedbackRepository,
)
from avataradam.domain.ports.repositories.documents import (
    BlobRepository,
    ChunkRepository,
    DocumentRepository,
)
from avataradam.domain.ports.repositories.identity import (
    DealershipRepository,
    RefreshTokenRepository,
    UserRepository,
)
from avataradam.domain.ports.repositories.knowledge_gaps import KnowledgeGapRepository
from avataradam.domain.ports.repositories.outbox import IdempotencyRepository, OutboxRepository
from avataradam.domain.ports.repositories.rubrics import RubricRepository
from avataradam.domain.ports.repositories.scenarios import ScenarioRepository
from avataradam.domain.ports.repositories.scorecards import ScorecardRepository
from avataradam.domain.ports.repositories.speech import MessageAudioRepository
from avataradam.domain.ports.repositories.usage import UsageRepository
from avataradam.domain.ports.repositories.vectors import ReembeddingRepository
from avataradam.domain.ports.repositories.webhooks import WebhookRepository


class UnitOfWork(Protocol):
    """One transaction over every repository. Leaving without `commit` rolls back.

    After `commit` the unit of work goes on in a new transaction, which is again
    rolled back unless committed. A read-only unit of work rejects writes with
    RuntimeError (a programming error, not a user's).
    """

    dealerships: DealershipRepository
    users: UserRepository
    refresh_tokens: RefreshTokenRepository
    documents: DocumentRepository
    chunks: ChunkRepository
    blobs: BlobRepository
    conversations: ConversationRepository
    feedback: FeedbackRepository
    outbox: OutboxRepository
    idempotency: IdempotencyRepository
    webhooks: WebhookRepository
    usage: UsageRepository
    reembeddings: ReembeddingRepository
    scenarios: ScenarioRepository
    scorecards: ScorecardRepository
    assignments: AssignmentRepository
    rubrics: RubricRepository
    analytics: AnalyticsRepository
    knowledge_gaps: KnowledgeGapRepository
    message_audio: MessageAudioRepository
    audio_blobs: BlobRepository
    """Replies' audio (`message_audio`'s `blob_id`s), beside the documents' `blobs`."""

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens units of work; `read_only` ones may be served by a replica."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork: ...
