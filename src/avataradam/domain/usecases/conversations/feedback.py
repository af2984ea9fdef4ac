"""Thumbs up/down on Adam's answers, and the ratings' reports for the admins."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import InvalidInput, NotFound
from avataradam.domain.model import (
    Conversation,
    ConversationMode,
    FeedbackRating,
    Message,
    MessageFeedback,
    MessageRole,
    Role,
    Source,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.services import Telemetry
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.usecases.conversations.start import require_storable
from avataradam.domain.usecases.knowledge_gaps import GapRecorder

MAX_REASON_CHARS = 2000


class FeedbackReport(msgspec.Struct, frozen=True, kw_only=True):
    """A rating with the exchange it is about, for the dealership's admins."""

    feedback: MessageFeedback
    mode: ConversationMode | None
    scenario: str | None
    question: str | None
    answer: str | None
    sources: tuple[Source, ...]

    @property
    def id(self) -> UUID:
        return self.feedback.id

    @property
    def created_at(self) -> datetime:
        return self.feedback.created_at


class Rating(msgspec.Struct, frozen=True, kw_only=True):
    """The caller's rating as stored; `replaced` when it replaced an earlier one."""

    feedback: MessageFeedback
    replaced: bool


class RateMessage:
    """Thumbs up/down on an assistant message of one's own conversation.

    One rating per user and message: rating again (or concurrently) replaces the
    rating and reason, the latest wins, and the rating keeps its id.
    """

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        telemetry: Telemetry,
        gaps: GapRecorder | None = None,
    ) -> None:
        """`gaps`: records a thumbs-down training answer's question as a knowledge gap."""
        self._uow, self._clock, self._ids, self._telemetry = uow, clock, ids, telemetry
        self._gaps = gaps

    async def __call__(
        self,
        principal: Principal,
        message_id: UUID,
        *,
        rating: FeedbackRating,
        reason: str | None,
        dealership_id: UUID | None = None,
    ) -> Rating:
        scope = dealership_scope(principal, dealership_id)
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput(f"reason is at most {MAX_REASON_CHARS} characters", field="reason")
        require_storable(reason or "", "reason")
        async with self._uow() as uow:
            message = await uow.conversations.get_message(
                message_id, dealership_id=scope, user_id=principal.user_id
            )
            if message is None:
                raise NotFound("message not found")
            if message.role is not MessageRole.ASSISTANT:
                raise InvalidInput("only assistant messages can be rated", field="message_id")
            now = self._clock.now()
            feedback = MessageFeedback(
                id=self._ids.new_id(),
                message_id=message.id,
                conversation_id=message.conversation_id,
                dealership_id=scope,
                user_id=principal.user_id,
                rating=rating,
                reason=reason,
                created_at=now,
                updated_at=now,
            )
            stored = await uow.feedback.rate(feedback)
            gap = None
            if self._gaps is not None:
                gap = await self._gaps.record_rating(uow, message=message, feedback=stored)
            await uow.commit()
        if self._gaps is not None:
            await self._gaps.announce(gap)
        self._telemetry.event(
            "message_rated",
            message_id=str(message.id),
            conversation_id=str(message.conversation_id),
            rating=rating.value,
        )
        return Rating(feedback=stored, replaced=stored.id != feedback.id)


class ListFeedback:
    """Ratings of a dealership's answers with their context; admins only."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[FeedbackReport]:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, dealership_id)
        reports: list[FeedbackReport] = []
        async with self._uow(read_only=True) as uow:
            rows = await uow.feedback.list_page(dealership_id=scope, cursor=cursor, limit=limit)
            for feedback in rows:
                conversation = await uow.conversations.get(
                    feedback.conversation_id, dealership_id=scope, user_id=None
                )
                messages = (
                    await uow.conversations.messages(feedback.conversation_id)
                    if conversation
                    else []
                )
                reports.append(_report(feedback, conversation, messages))
        return reports


def _report(
    feedback: MessageFeedback, conversation: Conversation | None, messages: list[Message]
) -> FeedbackReport:
    position = next((i for i, m in enumerate(messages) if m.id == feedback.message_id), None)
    answer = messages[position] if position is not None else None
    question = next(
        (m.content for m in reversed(messages[: position or 0]) if m.role is MessageRole.USER),
        None,
    )
    return FeedbackReport(
        feedback=feedback,
        mode=conversation.mode if conversation else None,
        scenario=conversation.scenario if conversation else None,
        question=question,
        answer=answer.content if answer else None,
        sources=answer.sources if answer else (),
    )
