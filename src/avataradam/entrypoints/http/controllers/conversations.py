"""Conversations with Adam (JSON or Server-Sent Events) and feedback on his answers."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import ServerSentEvent
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from avataradam.domain.training.scenarios import BUILT_IN
from avataradam.domain.usecases.conversations.feedback import FeedbackReport
from avataradam.domain.usecases.conversations.replies import (
    ReplyFailed,
)
from avataradam.domain.usecases.conversations.start import NewConversation
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.headers import representations
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.negotiation import (
    EVENT_STREAM,
    JSON,
)
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit, OrderParam
from avataradam.entrypoints.http.ratelimit import limited
from avataradam.entrypoints.http.replies import (
    assistant_out,
    first_event,
    reply_representation,
    sse_events,
)
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.conversations import (
    AssistantMessageOut,
    ConversationCreate,
    ConversationDetailOut,
    ConversationOut,
    MessageCreate,
    ScenarioOut,
)
from avataradam.entrypoints.http.schemas.feedback import (
    FeedbackCreate,
    FeedbackOut,
    FeedbackReportOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

DealershipParam = FromQuery[UUID | None]


def _report_out(report: FeedbackReport) -> FeedbackReportOut:
    """The rating's fields with the exchange's (the report's own fields) in front."""
    return to_out(report.feedback, FeedbackReportOut, **msgspec.structs.asdict(report))


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
            "citations, in the language of each question. `roleplay`: the avatar plays the "
            "customer of `scenario_id` (GET /v1/scenarios; the older `scenario` takes a "
            "built-in's slug; random built-in if neither), who speaks `language` (`en` or "
            "`es`); `scenario_id` in training: 422, an unknown one: 404. With "
            "`assignment_id` (one of the caller's assignments, else 404) the roleplay "
            "practises the assignment's scenario and counts toward it. "
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
                mode=data.mode,
                scenario=data.scenario,
                scenario_id=data.scenario_id,
                assignment_id=data.assignment_id,
                dealership_id=data.dealership_id,
                language=data.language,
            ),
            idempotency_key=idempotency_key,
        )
        return answered(answer, to_out(answer.value, ConversationOut), HTTP_201_CREATED)

    @get(
        operation_id="listConversations",
        summary="List own conversations",
        description=(
            "The caller's conversations, oldest first (`order=newest`: newest first), "
            "cursor-paginated."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_conversations(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        cursor: CursorParam = None,
        limit: Limit = None,
        order: OrderParam = "oldest",
    ) -> ListResponse[ConversationOut]:
        return await list_page(
            partial(container.list_conversations, principal, dealership_id=dealership_id),
            cursor,
            limit,
            render=lambda c: to_out(c, ConversationOut),
            order=order,
        )

    @get(
        "/scenarios",
        operation_id="listScenarios",
        summary="Customer personas for roleplay",
        description=(
            "Values of `scenario` for a roleplay conversation (the built-in scenarios' slugs), "
            "with who the customer is. GET /v1/scenarios lists them with the dealership's own."
        ),
        sync_to_thread=False,
        responses=problems(),
    )
    def scenarios(self, principal: CurrentPrincipal) -> list[ScenarioOut]:  # noqa: ARG002 -- authenticates
        return [
            to_out(p, ScenarioOut, languages=["en", *sorted(p.translations)])
            for p in (s.persona for s in BUILT_IN.values())
        ]

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
        return to_out(detail.conversation, ConversationDetailOut, messages=detail.messages)

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
            "disconnects. A completed roleplay session takes no message (409 "
            "`conversation_completed`); a reply still being written when it is completed "
            "is not stored, nor the message: the stream ends with an `error` event of "
            "that code."
        ),
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=str,
                media_type=EVENT_STREAM,
                description="The reply as Server-Sent Events (with `Accept: text/event-stream`).",
                generate_examples=False,
            ),
            **problems(400, 403, 404, 409, 413, 422, 429),
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
            return Response(assistant_out(await stream.result()), status_code=HTTP_201_CREATED)
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
        return Response(to_out(rating.feedback, FeedbackOut), status_code=status)

    @get(
        "/feedback",
        operation_id="listFeedback",
        summary="Ratings of the dealership's answers, with context (admins)",
        description=(
            "Each rating with the question, the answer and its sources, so an admin can "
            "judge reported answers; oldest first (`order=newest`: newest first), "
            "cursor-paginated. A super admin passes `dealership_id`."
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
        order: OrderParam = "oldest",
    ) -> ListResponse[FeedbackReportOut]:
        return await list_page(
            partial(container.list_feedback, principal, dealership_id=dealership_id),
            cursor,
            limit,
            render=_report_out,
            order=order,
        )
