"""What the outbox carries: background tasks and webhook events, one struct each.

Two tagged unions: a `Task` is tagged by its `task` name (the queue's message is its
`payload()`), an `Event` by its `type` (a webhook receiver gets `webhook_body()`). An
outbox row stores `payload()`, the flat text mapping the service always stored, and
`decode_message` reads it back (text numbers and instants are converted), so rows
written before these structs existed still decode.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar, Literal, Self
from uuid import UUID

import msgspec

from avataradam.domain.model.documents import Document, DocumentStatus, Topic
from avataradam.domain.tasks import (
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_OVERDUE,
    CONVERSATION_SCORED,
    DELETE_DOCUMENT,
    DOCUMENT_DELETED,
    DOCUMENT_FAILED,
    DOCUMENT_READY,
    INGEST_DOCUMENT,
    OUTBOX_EVENT,
    OUTBOX_TASK,
    SCORE_CONVERSATION,
    USAGE_BUDGET_THRESHOLD,
)


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


class _Message(msgspec.Struct, frozen=True, kw_only=True):
    kind: ClassVar[str]

    def payload(self) -> dict[str, str]:
        """The message as flat text: its tag first, then each field that is set."""
        config = self.__struct_config__
        out = {str(config.tag_field): str(config.tag)}
        for field in msgspec.structs.fields(self):
            value = getattr(self, field.name)
            if value is not None:
                out[field.encode_name] = _text(value)
        return out


class Task(_Message, frozen=True, kw_only=True, tag_field="task"):
    """A background task; its tag is the task's name (`domain/tasks.py`)."""

    kind: ClassVar[str] = OUTBOX_TASK

    @property
    def name(self) -> str:
        return str(self.__struct_config__.tag)


class IngestDocumentTask(Task, frozen=True, kw_only=True, tag=INGEST_DOCUMENT):
    document_id: UUID
    request_id: str | None = None
    """The upload's request id, so the worker's logs name it."""


class DeleteDocumentTask(Task, frozen=True, kw_only=True, tag=DELETE_DOCUMENT):
    document_id: UUID


class ScoreConversationTask(Task, frozen=True, kw_only=True, tag=SCORE_CONVERSATION):
    conversation_id: UUID


class Event(_Message, frozen=True, kw_only=True, tag_field="type"):
    """A webhook event of one dealership; its tag is the event type."""

    kind: ClassVar[str] = OUTBOX_EVENT
    dealership_id: UUID
    occurred_at: datetime

    @property
    def event_type(self) -> str:
        return str(self.__struct_config__.tag)

    def data(self) -> dict[str, str]:
        """The receiver's `data`: every field but the type and the instant, as text, in
        the key order PostgreSQL's jsonb gave the stored payload (shorter keys first,
        then bytewise), which is what receivers have always been sent."""
        fields = self.payload()
        del fields["type"], fields["occurred_at"]
        return dict(sorted(fields.items(), key=lambda item: (len(item[0]), item[0])))

    def webhook_body(self) -> bytes:
        """The JSON every subscriber receives: `{"type", "timestamp", "data"}`."""
        return msgspec.json.encode(
            {
                "type": self.event_type,
                "timestamp": self.occurred_at.isoformat(),
                "data": self.data(),
            }
        )


class DocumentEvent(Event, frozen=True, kw_only=True):
    document_id: UUID
    filename: str
    topic: Topic
    status: DocumentStatus
    chunk_count: int
    error_code: str | None = None

    @classmethod
    def of(cls, document: Document, occurred_at: datetime) -> Self:
        """The event announcing `document` as it is now."""
        return cls(
            dealership_id=document.dealership_id,
            occurred_at=occurred_at,
            document_id=document.id,
            filename=document.filename,
            topic=document.topic,
            status=document.status,
            chunk_count=document.chunk_count,
            error_code=None if document.error is None else document.error.code,
        )


class DocumentReady(DocumentEvent, frozen=True, kw_only=True, tag=DOCUMENT_READY):
    pass


class DocumentFailed(DocumentEvent, frozen=True, kw_only=True, tag=DOCUMENT_FAILED):
    pass


class DocumentDeleted(DocumentEvent, frozen=True, kw_only=True, tag=DOCUMENT_DELETED):
    pass


class UsageBudgetThreshold(Event, frozen=True, kw_only=True, tag=USAGE_BUDGET_THRESHOLD):
    """A dealership's monthly token budget reached `threshold` percent (80 or 100)."""

    threshold: int
    period: str
    """The month, `YYYY-MM` (UTC)."""
    monthly_token_budget: int
    used_tokens: int


class ConversationScored(Event, frozen=True, kw_only=True, tag=CONVERSATION_SCORED):
    """A roleplay session's scoring ended: `status` `scored` (with `overall` 0-100 and
    `passed`) or `failed` (with `error_code`). Read the scorecard for the rest."""

    conversation_id: UUID
    user_id: UUID
    status: str
    rubric_id: str
    rubric_version: int
    overall: int | None = None
    passed: Literal["true", "false"] | None = None
    """As text, like every field of an event's `data` (`true` / `false`)."""
    error_code: str | None = None


class AssignmentEvent(Event, frozen=True, kw_only=True):
    """One assignee's assignment as it is when the event is recorded."""

    assignment_id: UUID
    user_id: UUID
    scenario_id: str
    due_at: datetime
    attempts: int
    best_score: int | None = None


class AssignmentCompleted(AssignmentEvent, frozen=True, kw_only=True, tag=ASSIGNMENT_COMPLETED):
    """The assignee became done (`occurred_at`: then)."""


class AssignmentOverdue(AssignmentEvent, frozen=True, kw_only=True, tag=ASSIGNMENT_OVERDUE):
    """The assignee's due date passed without the assignment being done: a reminder."""


TaskMessage = IngestDocumentTask | DeleteDocumentTask | ScoreConversationTask
EventMessage = (
    DocumentReady
    | DocumentFailed
    | DocumentDeleted
    | UsageBudgetThreshold
    | ConversationScored
    | AssignmentCompleted
    | AssignmentOverdue
)
OutboxMessage = TaskMessage | EventMessage

_UNIONS: dict[str, Any] = {OUTBOX_TASK: TaskMessage, OUTBOX_EVENT: EventMessage}


def decode_message(kind: str, payload: dict[str, Any]) -> OutboxMessage:
    """The message an outbox row of `kind` stores as `payload` (see `payload()`);
    msgspec.ValidationError if it is not one."""
    message: OutboxMessage = msgspec.convert(payload, _UNIONS[kind], strict=False)
    return message
