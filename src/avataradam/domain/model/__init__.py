"""Entities and value objects, one module per aggregate.

Entities are frozen msgspec Structs; a change produces a new value, which keeps
repositories honest about what they persist. An entity with a lifecycle changes its
status only through its own methods, which refuse an illegal move (see `lifecycle`).
"""

from __future__ import annotations

from avataradam.domain.model.conversations import (
    Conversation,
    ConversationMode,
    FeedbackRating,
    Language,
    Message,
    MessageFeedback,
    MessageRole,
    Source,
)
from avataradam.domain.model.documents import (
    Chunk,
    Document,
    DocumentError,
    DocumentStatus,
    Stage,
    Topic,
)
from avataradam.domain.model.events import (
    DeleteDocumentTask,
    DocumentDeleted,
    DocumentEvent,
    DocumentFailed,
    DocumentReady,
    Event,
    EventMessage,
    IngestDocumentTask,
    OutboxMessage,
    Task,
    TaskMessage,
    UsageBudgetThreshold,
    decode_message,
)
from avataradam.domain.model.identity import (
    AccountState,
    Dealership,
    RefreshToken,
    Role,
    User,
)
from avataradam.domain.model.outbox import (
    OutboxEntry,
    StoredResponse,
)
from avataradam.domain.model.usage import (
    UsageDay,
    UsageKind,
    UsageRecord,
)
from avataradam.domain.model.webhooks import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ = [
    "AccountState",
    "Chunk",
    "Conversation",
    "ConversationMode",
    "Dealership",
    "DeleteDocumentTask",
    "DeliveryStatus",
    "Document",
    "DocumentDeleted",
    "DocumentError",
    "DocumentEvent",
    "DocumentFailed",
    "DocumentReady",
    "DocumentStatus",
    "Event",
    "EventMessage",
    "FeedbackRating",
    "IngestDocumentTask",
    "Language",
    "Message",
    "MessageFeedback",
    "MessageRole",
    "OutboxEntry",
    "OutboxMessage",
    "RefreshToken",
    "Role",
    "Source",
    "Stage",
    "StoredResponse",
    "Task",
    "TaskMessage",
    "Topic",
    "UsageBudgetThreshold",
    "UsageDay",
    "UsageKind",
    "UsageRecord",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
    "decode_message",
]
