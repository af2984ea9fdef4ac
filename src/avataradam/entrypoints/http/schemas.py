"""Request and response bodies of the public API (v1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec

from avataradam.domain.model import (
    ConversationMode,
    Dealership,
    DeliveryStatus,
    Document,
    DocumentStatus,
    FeedbackRating,
    MessageRole,
    Role,
    Stage,
    Topic,
    User,
    WebhookSubscription,
)
from avataradam.domain.usecases.dealerships import MAX_DEALERSHIP_NAME_CHARS
from avataradam.domain.usecases.users import (
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    MAX_PERSON_NAME_LENGTH,
    MIN_EMAIL_LENGTH,
    MIN_PASSWORD_LENGTH,
)

T = TypeVar("T")

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_EMAIL_LENGTH,
        max_length=MAX_EMAIL_LENGTH,
        # No control characters: PostgreSQL refuses NUL in text, and no address has them.
        pattern=r"^[^\x00-\x1f\x7f]*$",
        examples=["admin@example.com"],
    ),
]
Password = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_PASSWORD_LENGTH,
        description="The account's password as it was set (a wrong one is simply wrong).",
        examples=["correct-horse-battery-staple"],
    ),
]
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=MIN_PASSWORD_LENGTH,
        max_length=MAX_PASSWORD_LENGTH,
        description=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters.",
        examples=["correct-horse-battery-staple"],
    ),
]
DealershipId = Annotated[
    UUID,
    msgspec.Meta(
        description="A super admin names the dealership to act on; others act on their own.",
        examples=["0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90"],
    ),
]


class TokenRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class RefreshRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    refresh_token: Annotated[
        str, msgspec.Meta(min_length=1, max_length=512, examples=["Qm9ndXMtcmVmcmVzaC10b2tlbg"])
    ]


class UserOut(msgspec.Struct, frozen=True):
    id: UUID
    email: str
    role: Role
    dealership_id: UUID | None
    first_name: str | None
    last_name: str | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            dealership_id=user.dealership_id,
            first_name=user.first_name,
            last_name=user.last_name,
            active=user.active,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class DealershipOut(msgspec.Struct, frozen=True):
    id: UUID
    name: str
    active: bool
    knowledge_base_generation: int
    created_at: datetime
    updated_at: datetime
    monthly_token_budget: int | None = None
    """The dealership's own monthly token budget; null = the service default."""

    @classmethod
    def of(cls, dealership: Dealership) -> DealershipOut:
        return cls(
            monthly_token_budget=dealership.monthly_token_budget,
            id=dealership.id,
            name=dealership.name,
            active=dealership.active,
            knowledge_base_generation=dealership.knowledge_base_generation,
            created_at=dealership.created_at,
            updated_at=dealership.updated_at,
        )


Name = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=MAX_DEALERSHIP_NAME_CHARS, examples=["Riverside Motors"]),
]
PersonName = Annotated[str, msgspec.Meta(max_length=MAX_PERSON_NAME_LENGTH, examples=["Dana"])]


class DealershipCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name


TokenBudget = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=2**62,
        description="Prompt plus completion tokens per calendar month (UTC); 0 = unlimited.",
        examples=[2_000_000],
    ),
]


class DealershipUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | None = None
    active: bool | None = None
    monthly_token_budget: TokenBudget | msgspec.UnsetType | None = msgspec.UNSET
    """The dealership's own monthly token budget; null returns it to the service default
    (`AVATARADAM_USAGE_MONTHLY_TOKEN_BUDGET`); absent leaves it unchanged."""


class UserCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: NewPassword
    role: Role = Role.USER
    dealership_id: DealershipId | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None


class UserUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    password: NewPassword | None = None
    """A reset by an admin: every session of the user ends. Not for one's own password
    (`current_password_required`: use POST /v1/me/password)."""
    role: Role | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    active: bool | None = None


class PasswordChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class ListResponse(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None


class LogoutRequest(RefreshRequest, frozen=True, forbid_unknown_fields=True):
    pass


class DocumentErrorOut(msgspec.Struct, frozen=True):
    code: str
    message: str


class DocumentOut(msgspec.Struct, frozen=True):
    """A document and its processing state.

    `stalled` is true when no worker holds a `processing` document's lease: its worker
    died (the lease lapsed) or it waits for a retry after a failure (`error` says which)
    or for a worker to take it up again; the reconciler re-drives it. It tells a held-up
    document apart from one working or merely `queued` behind others. `title` is the title the file
    names for itself (e.g. Markdown front matter), `warnings` what extraction had to skip
    ("3 images without text skipped"); both are set once the document is ready.
    """

    id: UUID
    dealership_id: UUID
    filename: str
    topic: Topic
    content_type: str
    status: DocumentStatus
    stage: Stage | None
    progress: float
    chunk_count: int
    error: DocumentErrorOut | None
    attempts: int
    size_bytes: int
    sha256: str
    stalled: bool
    created_at: datetime
    updated_at: datetime
    title: Annotated[str | None, msgspec.Meta(examples=["Menu selling basics"])]
    warnings: Annotated[list[str], msgspec.Meta(examples=[["3 images without text skipped"]])]

    @classmethod
    def of(cls, document: Document, *, now: datetime) -> DocumentOut:
        return cls(
            id=document.id,
            dealership_id=document.dealership_id,
            filename=document.filename,
            topic=document.topic,
            content_type=document.content_type,
            status=document.status,
            stage=document.stage,
            progress=document.progress,
            chunk_count=document.chunk_count,
            error=DocumentErrorOut(document.error.code, document.error.message)
            if document.error
            else None,
            attempts=document.attempts,
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            stalled=document.stalled(now),
            created_at=document.created_at,
            updated_at=document.updated_at,
            title=document.title,
            warnings=list(document.warnings),
        )


class WebhookCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    url: Annotated[
        str,
        msgspec.Meta(
            min_length=8, max_length=2048, examples=["https://hooks.example.com/avataradam"]
        ),
    ]
    events: Annotated[
        list[str],
        msgspec.Meta(
            min_length=1,
            max_length=10,
            description=(
                "Any of `document.ready`, `document.failed`, `document.deleted`, "
                "`usage.budget_threshold`."
            ),
            examples=[["document.ready", "document.failed"]],
        ),
    ]
    dealership_id: DealershipId | None = None


class WebhookOut(msgspec.Struct, frozen=True, omit_defaults=True):
    id: UUID
    dealership_id: UUID
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    secret: str | None = None
    """Present only in the answer to the creation and to a rotation; store it to verify
    signatures."""
    disabled_reason: str | None = None
    """Why a subscription is no longer `active` (say the receiver answered `410 Gone`)."""
    previous_secret_expires_at: datetime | None = None
    """After a rotation: until when the previous secret also signs every delivery."""
    circuit_open_until: datetime | None = None
    """While the receiver keeps failing: deliveries wait until then, then one probes."""

    @classmethod
    def of(cls, subscription: WebhookSubscription, *, with_secret: bool = False) -> WebhookOut:
        return cls(
            id=subscription.id,
            dealership_id=subscription.dealership_id,
            url=subscription.url,
            events=list(subscription.events),
            active=subscription.active,
            created_at=subscription.created_at,
            secret=subscription.secret if with_secret else None,
            disabled_reason=subscription.disabled_reason,
            previous_secret_expires_at=subscription.previous_secret_expires_at,
            circuit_open_until=subscription.circuit_open_until,
        )


class WebhookDeliveryOut(msgspec.Struct, frozen=True):
    id: UUID
    event_type: str
    message_id: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None = None
    """When a `pending` delivery is next attempted (or its running attempt's lease ends)."""


class WebhookDetailOut(msgspec.Struct, frozen=True):
    subscription: WebhookOut
    deliveries: list[WebhookDeliveryOut]


class SearchRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    query: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, examples=["GAP objection"])]
    topics: Annotated[list[Topic], msgspec.Meta(examples=[["objection_handling"]])] | None = None
    top_k: Annotated[int, msgspec.Meta(ge=1, le=50, examples=[5])] = 5
    dealership_id: DealershipId | None = None


class SearchHitOut(msgspec.Struct, frozen=True):
    chunk_id: str
    document_id: UUID
    filename: str
    topic: Topic
    text: str
    score: float
    page: int | None
    section: str | None


class SearchResponse(msgspec.Struct, frozen=True):
    results: list[SearchHitOut]
    cached: bool


class ConversationCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: ConversationMode
    scenario: Annotated[str, msgspec.Meta(max_length=200, examples=["price_focused"])] | None = None
    """Roleplay: a customer persona (GET /v1/conversations/scenarios), random when absent.
    Training: an optional focus for the session."""
    dealership_id: DealershipId | None = None


class ScenarioOut(msgspec.Struct, frozen=True):
    scenario: str
    name: str
    description: str


class SourceOut(msgspec.Struct, frozen=True):
    chunk_id: str
    document_id: UUID
    filename: str
    topic: Topic
    index: int
    page: int | None


class MessageOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    conversation_id: UUID
    role: MessageRole
    content: str
    sources: list[SourceOut]
    """Passages the reply cites, checked by the server: `[n]` in `content` cites
    `sources[n-1]`, and every source listed is cited."""
    created_at: datetime
    grounded: bool | None = None
    """Training replies: true when every claim (a sentence of four or more words that is
    not a question) is supported by a passage it cites; null for trainee messages and
    roleplay lines."""
    supported_share: float | None = None
    """Training replies: the share of claims supported by a cited passage, 0..1 (null
    when the reply makes no claim, e.g. when nothing relevant was found)."""
    cached: bool = False
    """Served from the answer cache: the same first question, asked in this dealership
    since its knowledge base last changed, was answered by the model once."""


class ConversationOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    dealership_id: UUID
    user_id: UUID
    mode: ConversationMode
    scenario: str | None
    created_at: datetime
    updated_at: datetime


class ConversationDetailOut(ConversationOut, frozen=True, kw_only=True):
    messages: list[MessageOut]


class MessageCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    content: Annotated[
        str, msgspec.Meta(min_length=1, max_length=4000, examples=["How do I present GAP?"])
    ]


class UsageOut(msgspec.Struct, frozen=True):
    prompt_tokens: int
    completion_tokens: int


class ModelOut(msgspec.Struct, frozen=True):
    name: str
    generative: bool
    """False for the extractive model: the reply was picked from documents, not written."""
    notice: str | None
    """What the reply cannot do, when the model has limits users must know about."""


class AssistantMessageOut(MessageOut, frozen=True, kw_only=True):
    usage: UsageOut | None
    model: ModelOut


class FeedbackCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    rating: FeedbackRating
    reason: (
        Annotated[
            str,
            msgspec.Meta(max_length=2000, examples=["The GAP price quoted is out of date."]),
        ]
        | None
    ) = None
    dealership_id: DealershipId | None = None


class FeedbackOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    message_id: UUID
    conversation_id: UUID
    user_id: UUID
    rating: FeedbackRating
    reason: str | None
    created_at: datetime
    """When the user first rated the message."""
    updated_at: datetime
    """When the user last rated it (the rating and reason are from then)."""


class FeedbackReportOut(FeedbackOut, frozen=True, kw_only=True):
    """A rating with the exchange it rates, so an admin can judge the answer."""

    mode: ConversationMode | None
    scenario: str | None
    question: str | None
    answer: str | None
    sources: list[SourceOut]


class UsageDayOut(msgspec.Struct, frozen=True):
    day: date
    """A UTC day."""
    model_calls: int
    """Replies that called the chat model."""
    cached_answers: int
    """Replies served from the answer cache (no model call, 0 tokens)."""
    prompt_tokens: int
    completion_tokens: int
    speech_seconds: float


class BudgetOut(msgspec.Struct, frozen=True):
    monthly_token_budget: int | None
    """Prompt plus completion tokens per calendar month (UTC); null = unlimited."""
    period_start: date
    resets_at: datetime
    used_tokens: int
    """Tokens recorded this month."""
    remaining_tokens: int | None
    """null = unlimited."""


class UsageReportOut(msgspec.Struct, frozen=True):
    dealership_id: UUID
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    days: list[UsageDayOut]
    budget: BudgetOut
