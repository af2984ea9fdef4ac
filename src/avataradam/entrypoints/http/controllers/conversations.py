"""Conversations with Adam (JSON or Server-Sent Events) and feedback on his answers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from avataradam.domain import codes
from avataradam.domain.errors import DomainError
from avataradam.domain.model import Conversation, Message, MessageFeedback, Source
from avataradam.domain.personas import PERSONAS
from avataradam.domain.usecases.conversations import (
    FeedbackReport,
    NewConversation,
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplySources,
    ReplyStream,
)
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.headers import representations
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.negotiation import (
    EVENT_STREAM,
    JSON,
    NotAcceptable,
    wants_event_stream,
)
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit
from avataradam.entrypoints.http.problems import domain_problem, problem_type
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.schemas import (
    AssistantMessageOut,
    ConversationCreate,
    ConversationDetailOut,
    ConversationOut,
    FeedbackCreate,
    FeedbackOut,
    FeedbackReportOut,
    ListResponse,
    MessageCreate,
    MessageOut,
    ModelOut,
    ScenarioOut,
    SourceOut,
    UsageOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

DealershipParam = FromQuery[UUID | None]


def _sources(sources: tuple[Source, ...]) -> list[SourceOut]:
    return [
        SourceOut(
            chunk_id=s.chunk_id,
            document_id=s.document_id,
            filename=s.filename,
            topic=s.topic,
            index=s.index,
            page=s.page,
        )
        for s in sources
    ]


def _conversation(c: Conversation) -> ConversationOut:
    return ConversationOut(
        id=c.id,
        dealership_id=c.dealership_id,
        user_id=c.user_id,
        mode=c.mode,
        scenario=c.scenario,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _message(m: Message) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        role=m.role,
        content=m.content,
        sources=_sources(m.sources),
        created_at=m.created_at,
        grounded=m.grounded,
        supported_share=m.supported_share,
        cached=m.cached,
    )


def _assistant(done: ReplyDone) -> AssistantMessageOut:
    m = done.message
    return AssistantMessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        role=m.role,
        content=m.content,
        sources=_sources(m.sources),
        created_at=m.created_at,
        grounded=m.grounded,
        supported_share=m.supported_share,
        cached=m.cached,
        usage=UsageOut(done.usage.prompt_tokens, done.usage.completion_tokens)
        if done.usage
        else None,
        model=ModelOut(done.model.name, done.model.generative, done.model.notice),
    )


def _feedback(f: MessageFeedback) -> FeedbackOut:
    return FeedbackOut(
        id=f.id,
        message_id=f.message_id,
        conversation_id=f.conversation_id,
        user_id=f.user_id,
        rating=f.rating,
        reason=f.reason,
        created_at=f.created_at,
        updated_at=f.updated_at,
    )


def _report(r: FeedbackReport) -> FeedbackReportOut:
    f = r.feedback
    return FeedbackReportOut(
        id=f.id,
        message_id=f.message_id,
        conversation_id=f.conversation_id,
        user_id=f.user_id,
        rating=f.rating,
        reason=f.reason,
        created_at=f.created_at,
        updated_at=f.updated_at,
        mode=r.mode,
        scenario=r.scenario,
        question=r.question,
        answer=r.answer,
        sources=_sources(r.sources),
    )


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _failure(error: Exception) -> dict[str, object]:
    code = domain_problem(error)[0] if isinstance(error, DomainError) else codes.INTERNAL_ERROR
    detail = error.message if isinstance(error, DomainError) else "the reply failed"
    return {"type": problem_type(code), "code": code, "detail": detail}


def _event_message(event: ReplyEvent) -> ServerSentEventMessage:
    if isinstance(event, ReplyDelta):
        return ServerSentEventMessage(event="delta", data=_json({"text": event.text}))
    if isinstance(event, ReplySources):
        return ServerSentEventMessage(
            event="sources", data=_json({"sources": _sources(event.sources)})
        )
    if isinstance(event, ReplyDone):
        body = _assistant(event)
        return ServerSentEventMessage(
            event="done",
            id=str(body.id),
            data=_json(
                {"message_id": body.id, "usage": body.usage, "model": body.model, "message": body}
            ),
        )
    return ServerSentEventMessage(event="error", data=_json(_failure(event.error)))


async def first_event(stream: ReplyStream, *, wait_s: float) -> ReplyEvent | None:
    """The reply's next event if it comes within `wait_s`, else None (it stays queued)."""
    try:
        return await asyncio.wait_for(stream.next_event(), wait_s)
    except TimeoutError:
        return None


async def sse_events(
    stream: ReplyStream, *, keepalive_s: float, first: ReplyEvent | None = None
) -> AsyncIterator[ServerSentEventMessage]:
    """`delta`* then `sources` then `done` (or `error`), with `: keep-alive` comments
    whenever the model is silent for `keepalive_s`; `first` is an event already taken.

    Closing this generator (the client went away) leaves the reply's task running.
    """
    event = first
    while True:
        if event is None:
            yield ServerSentEventMessage(comment="keep-alive", data=None)
        else:
            yield _event_message(event)
            if isinstance(event, ReplyDone | ReplyFailed):
                return
        event = await first_event(stream, wait_s=keepalive_s)


def reply_representation(request: Request[Any, Any, Any]) -> bool:
    """True for Server-Sent Events, False for JSON; 406 when `Accept` allows neither."""
    streamed = wants_event_stream(request.headers.get("accept"))
    if streamed is None:
        raise NotAcceptable(detail=f"a reply is available as {JSON} or {EVENT_STREAM}")
    return streamed


class ConversationController(Controller):
    path = "/v1/conversations"
    tags = ["conversations"]
    security = SECURITY

    @post(
        status_code=HTTP_201_CREATED,
        operation_id="createConversation",
        summary="Start a conversation",
        description=(
            "`training`: Adam answers questions from the dealership's knowledge base, with "
            "citations. `roleplay`: the avatar plays a customer (`scenario`, random if absent). "
            "A super admin passes `dealership_id`. With an `Idempotency-Key`, repeats replay "
            "the first answer."
        ),
        response_headers=[REPLAYED_HEADER],
        responses=problems(400, 403, 404, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[ConversationCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ConversationOut]:
        answer = await container.start_conversation(
            principal,
            NewConversation(
                mode=data.mode, scenario=data.scenario, dealership_id=data.dealership_id
            ),
            idempotency_key=idempotency_key,
        )
        return answered(answer, _conversation(answer.value), HTTP_201_CREATED)

    @get(
        operation_id="listConversations",
        summary="List own conversations",
        description="The caller's conversations, newest first, cursor-paginated.",
        responses=problems(400, 403, 404, 422),
    )
    async def list_conversations(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        cursor: CursorParam = None,
        limit: Limit = None,
    ) -> ListResponse[ConversationOut]:
        return await list_page(
            lambda c, n: container.list_conversations(
                principal, dealership_id=dealership_id, cursor=c, limit=n
            ),
            cursor,
            limit,
            render=_conversation,
        )

    @get(
        "/scenarios",
        operation_id="listScenarios",
        summary="Customer personas for roleplay",
        description="Values of `scenario` for a roleplay conversation, with who the customer is.",
        sync_to_thread=False,
        responses=problems(),
    )
    def scenarios(self, principal: CurrentPrincipal) -> list[ScenarioOut]:  # noqa: ARG002 -- authenticates
        return [ScenarioOut(p.scenario, p.name, p.description) for p in PERSONAS.values()]

    @get(
        "/{conversation_id:uuid}",
        operation_id="getConversation",
        summary="Read a conversation with its messages",
        description="Messages oldest first; assistant messages carry their `sources`.",
        responses=problems(400, 403, 404, 422),
    )
    async def read(
        self,
        conversation_id: FromPath[UUID],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> ConversationDetailOut:
        detail = await container.get_conversation(
            principal, conversation_id, dealership_id=dealership_id
        )
        c = detail.conversation
        return ConversationDetailOut(
            id=c.id,
            dealership_id=c.dealership_id,
            user_id=c.user_id,
            mode=c.mode,
            scenario=c.scenario,
            created_at=c.created_at,
            updated_at=c.updated_at,
            messages=[_message(m) for m in detail.messages],
        )

    @post(
        "/{conversation_id:uuid}/messages",
        status_code=HTTP_201_CREATED,
        opt=limited("chat") | representations(JSON, EVENT_STREAM),
        operation_id="sendMessage",
        summary="Send a message and get the reply",
        description=(
            "Answers the stored assistant message. With `Accept: text/event-stream` the reply "
            "streams as Server-Sent Events: `delta` events (`{text}`), then `sources`, then "
            "`done` (`{message_id, usage, model, message}`) or `error`; `: keep-alive` "
            "comments while the model is silent. The reply is stored even if the client "
            "disconnects."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=str,
                media_type=EVENT_STREAM,
                description="The reply as Server-Sent Events (with `Accept: text/event-stream`).",
                generate_examples=False,
            ),
            **problems(400, 403, 404, 413, 422, 429),
        },
    )
    async def send(
        self,
        conversation_id: FromPath[UUID],
        data: JSONBody[MessageCreate],
        request: Request[Any, Any, Any],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> Response[AssistantMessageOut]:
        streamed = reply_representation(request)
        stream = await container.send_message.start(
            principal, conversation_id, data.content, dealership_id=dealership_id
        )
        if not streamed:
            return Response(_assistant(await stream.result()), status_code=HTTP_201_CREATED)
        # Whatever fails before the first event (the model refusing the prompt at once)
        # answers the same problem as the JSON path, before any byte of the stream.
        keepalive_s = container.settings.chat.keepalive_s
        first = await first_event(stream, wait_s=keepalive_s)
        if isinstance(first, ReplyFailed):
            raise first.error
        return ServerSentEvent(  # type: ignore[return-value]
            sse_events(stream, keepalive_s=keepalive_s, first=first), status_code=HTTP_200_OK
        )


class FeedbackController(Controller):
    path = "/v1"
    tags = ["feedback"]
    security = SECURITY

    @post(
        "/messages/{message_id:uuid}/feedback",
        status_code=HTTP_201_CREATED,
        operation_id="rateMessage",
        summary="Rate an answer (report an inaccurate one)",
        description=(
            "`up` or `down` with an optional `reason` (say what was wrong in an inaccurate "
            "answer). Only assistant messages of the caller's own conversations can be rated. "
            "One rating per user and message: rating it again replaces the rating and reason "
            "(200, same `id`, new `updated_at`); the latest wins, concurrent ratings included."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(FeedbackOut, description="An earlier rating, replaced."),
            **problems(400, 403, 404, 413, 422),
        },
    )
    async def rate(
        self,
        message_id: FromPath[UUID],
        data: JSONBody[FeedbackCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
    ) -> Response[FeedbackOut]:
        rating = await container.rate_message(
            principal,
            message_id,
            rating=data.rating,
            reason=data.reason,
            dealership_id=data.dealership_id,
        )
        status = HTTP_200_OK if rating.replaced else HTTP_201_CREATED
        return Response(_feedback(rating.feedback), status_code=status)

    @get(
        "/feedback",
        operation_id="listFeedback",
        summary="Ratings of the dealership's answers, with context (admins)",
        description=(
            "Each rating with the question, the answer and its sources, newest first, so an "
            "admin can judge reported answers. A super admin passes `dealership_id`."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_feedback(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        cursor: CursorParam = None,
        limit: Limit = None,
    ) -> ListResponse[FeedbackReportOut]:
        return await list_page(
            lambda c, n: container.list_feedback(
                principal, dealership_id=dealership_id, cursor=c, limit=n
            ),
            cursor,
            limit,
            render=_report,
        )
