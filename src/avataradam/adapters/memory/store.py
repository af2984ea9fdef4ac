"""The committed state of the in-memory persistence twin, and its transactions.

A transaction works on a copy of the committed tables and journals each write as a
function of the tables. `commit` replays the journal on a fresh copy of whatever is
committed by then and publishes it at once, so concurrent units of work interleave
like rows under READ COMMITTED: increments add up, uniqueness is checked again, and
a compare-and-set that another commit has beaten fails the commit with ConcurrentUpdate.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from avataradam.adapters.memory.gap_rows import GapQuestionRow, GapRow
from avataradam.domain.errors import ConcurrentUpdate, NotFound
from avataradam.domain.model import (
    Chunk,
    Conversation,
    Dealership,
    Document,
    Message,
    MessageFeedback,
    OutboxEntry,
    RefreshToken,
    StoredResponse,
    UsageRecord,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from avataradam.domain.model.assignments import AssigneeProgress, Assignment
from avataradam.domain.model.rubrics import StoredRubric
from avataradam.domain.model.scenarios import Scenario
from avataradam.domain.model.scorecards import StoredScorecard
from avataradam.domain.model.speech import StoredAudio
from avataradam.domain.vectors import Reembedding

T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class Tables:
    """Rows by primary key. Values are immutable, so copying the dicts copies a state."""

    dealerships: dict[UUID, Dealership] = dataclasses.field(default_factory=dict)
    users: dict[UUID, User] = dataclasses.field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = dataclasses.field(default_factory=dict)
    documents: dict[UUID, Document] = dataclasses.field(default_factory=dict)
    chunks: dict[str, Chunk] = dataclasses.field(default_factory=dict)
    blobs: dict[UUID, tuple[bytes, ...]] = dataclasses.field(default_factory=dict)
    conversations: dict[UUID, Conversation] = dataclasses.field(default_factory=dict)
    # (insertion sequence, message): the sequence orders messages stored in one instant.
    messages: dict[UUID, tuple[int, Message]] = dataclasses.field(default_factory=dict)
    feedback: dict[UUID, MessageFeedback] = dataclasses.field(default_factory=dict)
    outbox: dict[UUID, OutboxEntry] = dataclasses.field(default_factory=dict)
    idempotency: dict[tuple[str, str], StoredResponse] = dataclasses.field(default_factory=dict)
    webhook_subscriptions: dict[UUID, WebhookSubscription] = dataclasses.field(default_factory=dict)
    webhook_deliveries: dict[UUID, WebhookDelivery] = dataclasses.field(default_factory=dict)
    usage_records: dict[UUID, UsageRecord] = dataclasses.field(default_factory=dict)
    # (dealership_id, period, threshold) -> when the alert was raised
    usage_alerts: dict[tuple[UUID, date, int], datetime] = dataclasses.field(default_factory=dict)
    reembeddings: dict[tuple[UUID, int], Reembedding] = dataclasses.field(default_factory=dict)
    # (dealership_id, generation) -> documents written into it
    reembedded: dict[tuple[UUID, int], frozenset[UUID]] = dataclasses.field(default_factory=dict)
    scenarios: dict[UUID, Scenario] = dataclasses.field(default_factory=dict)
    scorecards: dict[UUID, StoredScorecard] = dataclasses.field(default_factory=dict)
    assignments: dict[UUID, Assignment] = dataclasses.field(default_factory=dict)
    # (assignment_id, user_id) -> the stored part of the assignee (progress is derived)
    assignees: dict[tuple[UUID, UUID], AssigneeProgress] = dataclasses.field(default_factory=dict)
    rubric_versions: dict[tuple[UUID, str, int], StoredRubric] = dataclasses.field(
        default_factory=dict
    )
    gap_questions: dict[UUID, GapQuestionRow] = dataclasses.field(default_factory=dict)
    gaps: dict[UUID, GapRow] = dataclasses.field(default_factory=dict)
    # (message_id, engine, voice) -> the reply's audio; its bytes in `audio_blobs`
    message_audio: dict[tuple[UUID, str, str], StoredAudio] = dataclasses.field(
        default_factory=dict
    )
    audio_blobs: dict[UUID, tuple[bytes, ...]] = dataclasses.field(default_factory=dict)

    def copy(self) -> Tables:
        return Tables(**{f.name: dict(getattr(self, f.name)) for f in dataclasses.fields(self)})


class InMemoryStore:
    """Committed data shared by every unit of work of one InMemoryUnitOfWorkFactory.

    `commits` counts published transactions, for tests that check a use case commits.
    """

    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0
        self.outbox_claims: dict[UUID, object] = {}
        self._sequence = itertools.count()

    def next_sequence(self) -> int:
        return next(self._sequence)


_ANY_RESULT: Any = object()


class InMemoryTransaction:
    """One transaction: a private copy of the tables plus the journal of its writes."""

    def __init__(self, store: InMemoryStore, *, read_only: bool) -> None:
        self.store = store
        self.read_only = read_only
        self.tables = store.tables.copy()
        self._journal: list[tuple[Callable[[Tables], Any], Any]] = []

    def require_writable(self) -> None:
        """Writes and row locks (FOR UPDATE) are refused in read-only work, as by PostgreSQL."""
        if self.read_only:
            raise RuntimeError("write attempted in a read-only unit of work")

    def write(self, op: Callable[[Tables], T], *, replay_must_agree: bool = False) -> T:
        """Applies `op` now and again at commit; see the module docstring."""
        self.require_writable()
        result = op(self.tables)
        self._journal.append((op, result if replay_must_agree else _ANY_RESULT))
        return result

    def claim(self, entry_id: UUID) -> bool:
        """Locks an outbox entry for this transaction unless another one holds it."""
        self.require_writable()
        owner = self.store.outbox_claims.setdefault(entry_id, self)
        return owner is self

    def commit(self) -> None:
        candidate = self.store.tables.copy()
        for op, expected in self._journal:
            if op(candidate) != expected and expected is not _ANY_RESULT:
                raise ConcurrentUpdate("another request changed the same data first; retry")
        for blob_id in candidate.blobs:
            if blob_id not in candidate.documents:
                raise NotFound("a blob's document does not exist", blob_id=str(blob_id))
        spoken = {audio.blob_id for audio in candidate.message_audio.values()}
        for blob_id in candidate.audio_blobs:
            if blob_id not in spoken:
                raise NotFound("an audio blob's reply audio does not exist", blob_id=str(blob_id))
        self.store.tables = candidate
        self.store.commits += 1
        self.restart()

    def restart(self) -> None:
        """Drops uncommitted writes and claims, and starts over from committed state."""
        self.release()
        self.tables = self.store.tables.copy()
        self._journal.clear()

    def release(self) -> None:
        claims = self.store.outbox_claims
        for entry_id in [k for k, owner in claims.items() if owner is self]:
            del claims[entry_id]
