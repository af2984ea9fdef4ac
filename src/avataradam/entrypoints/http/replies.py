"""A reply of Adam as the client asked for it: one JSON body, or Server-Sent Events
(`delta`* then `sources` then `done`, or `error`) with keep-alive comments."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request
from litestar.response.sse import ServerSentEventMessage

from avataradam.domain import codes
from avataradam.domain.errors import DomainError
from avataradam.domain.usecases.conversations.replies import (
    ReplyDelta,
    ReplyDone,
    ReplyEvent,
    ReplyFailed,
    ReplySources,
    ReplyStream,
)
from avataradam.entrypoints.http.negotiation import (
    EVENT_STREAM,
    JSON,
    NotAcceptable,
    wants_event_stream,
)
from avataradam.entrypoints.http.problems import domain_problem, problem_type
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.conversations import AssistantMessageOut, SourceOut


def reply_representation(request: Request[Any, Any, Any]) -> bool:
    """True for Server-Sent Events, False for JSON; 406 when `Accept` allows neither."""
    streamed = wants_event_stream(request.headers.get("accept"))
    if streamed is None:
        raise NotAcceptable(detail=f"a reply is available as {JSON} or {EVENT_STREAM}")
    return streamed


def assistant_out(done: ReplyDone) -> AssistantMessageOut:
    """The stored reply with the tokens it used and the model that wrote it."""
    return to_out(done.message, AssistantMessageOut, usage=done.usage, model=done.model)


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
        sources = [to_out(s, SourceOut) for s in event.sources]
        return ServerSentEventMessage(event="sources", data=_json({"sources": sources}))
    if isinstance(event, ReplyDone):
        body = assistant_out(event)
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
