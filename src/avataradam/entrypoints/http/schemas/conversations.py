"""Bodies of conversations, their messages and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from avataradam.domain.model import ConversationMode, Language, MessageRole, Topic
from avataradam.entrypoints.http.schemas.common import DealershipId


class ConversationCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mode: ConversationMode
    scenario: Annotated[str, msgspec.Meta(max_length=200, examples=["price_focused"])] | None = None
    """Roleplay: a built-in scenario's slug (the persona keys of GET
    /v1/conversations/scenarios); prefer `scenario_id`. Training: an optional focus for
    the session."""
    scenario_id: (
        Annotated[
            str,
            msgspec.Meta(
                max_length=100,
                examples=["gap_negative_equity"],
                description=(
                    "Roleplay only: the scenario to practise (GET /v1/scenarios): a built-in's "
                    "slug or an own scenario's UUID; unknown: 404. With neither this nor "
                    "`scenario`, a random built-in one."
                ),
            ),
        ]
        | None
    ) = None
    assignment_id: UUID | None = None
    """Roleplay only: one of the caller's assignments (GET /v1/assignments); the session
    practises its scenario and its scorecard counts toward it. Not assigned to the
    caller: 404; a different `scenario_id`: 422."""
    dealership_id: DealershipId | None = None
    language: Annotated[
        str,
        msgspec.Meta(
            max_length=16,
            examples=["es"],
            description=(
                "`en` or `es`. Roleplay: the language the customer speaks. Training: Adam "
                "answers in each question's language, this one when that is unclear. "
                "Another value: 422 `invalid_input` naming the valid ones."
            ),
        ),
    ] = "en"
    """`en` or `es` (another value: 422 `invalid_input` naming the valid ones). Roleplay:
    the language the customer speaks. Training: Adam answers in the language of each
    question; this one is used when a question's language is unclear."""


class ScenarioOut(msgspec.Struct, frozen=True):
    scenario: str
    name: str
    description: str
    languages: list[Language]
    """Values of a roleplay conversation's `language` this customer has a script in."""


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
    scenario_id: str | None
    """Roleplay: the scenario practised (a built-in's slug or an own scenario's UUID)."""
    language: Language
    """`en` or `es`: the language the roleplay customer speaks (see ConversationCreate)."""
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None
    """Roleplay: when the trainee completed the session (`POST .../complete`); it then
    takes no more messages and has a scorecard (`GET .../scorecard`)."""
    assignment_id: UUID | None = None
    """Roleplay: the assignment the session counts toward, if started with one."""


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
