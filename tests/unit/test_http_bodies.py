"""`to_out`, the one way a domain struct becomes a response body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import msgspec

from avataradam.domain.model import (
    Message,
    MessageRole,
    Source,
    Topic,
    WebhookSubscription,
)
from avataradam.entrypoints.http.schemas.common import to_out
from avataradam.entrypoints.http.schemas.conversations import MessageOut, SourceOut
from avataradam.entrypoints.http.schemas.webhooks import WebhookOut

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def test_fields_come_from_the_attributes_of_the_same_name_nested_structs_included() -> None:
    source = Source(
        chunk_id="c1", document_id=uuid4(), filename="menu.md", topic=Topic.PLAYBOOKS, index=0
    )
    message = Message(
        id=uuid4(),
        conversation_id=uuid4(),
        role=MessageRole.ASSISTANT,
        content="Present GAP early [1].",
        sources=(source,),
        created_at=NOW,
        grounded=True,
        supported_share=1.0,
    )
    out = to_out(message, MessageOut)
    assert out == MessageOut(
        id=message.id,
        conversation_id=message.conversation_id,
        role=MessageRole.ASSISTANT,
        content="Present GAP early [1].",
        sources=[
            SourceOut(
                chunk_id="c1",
                document_id=source.document_id,
                filename="menu.md",
                topic=Topic.PLAYBOOKS,
                index=0,
                page=None,
            )
        ],
        created_at=NOW,
        grounded=True,
        supported_share=1.0,
        cached=False,
    )


def test_computed_fields_win_over_the_attributes_so_a_secret_shows_only_when_asked() -> None:
    subscription = WebhookSubscription(
        id=uuid4(),
        dealership_id=uuid4(),
        url="https://hooks.example.com/avataradam",
        events=("document.ready",),
        secret="whsec_c2VjcmV0",
        active=True,
        created_at=NOW,
        previous_secret_expires_at=NOW + timedelta(days=1),
    )
    hidden = msgspec.json.decode(msgspec.json.encode(to_out(subscription, WebhookOut, secret=None)))
    assert "secret" not in hidden
    assert hidden["events"] == ["document.ready"]
    assert hidden["previous_secret_expires_at"] == "2026-01-06T09:30:00Z"
    shown = to_out(subscription, WebhookOut, secret=subscription.secret)
    assert shown.secret == "whsec_c2VjcmV0"
