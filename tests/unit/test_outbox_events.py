"""Outbox messages are typed structs; what they become outside stays what it was: the
queue's message, the stored payload, and the webhook body receivers verify."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from avataradam.domain.model import (
    DeleteDocumentTask,
    Document,
    DocumentDeleted,
    DocumentError,
    DocumentFailed,
    DocumentReady,
    DocumentStatus,
    IngestDocumentTask,
    Topic,
    UsageBudgetThreshold,
    decode_message,
)
from avataradam.domain.model.events import ConversationScored, ScoreConversationTask
from tests.unit.test_processing_leases import queued_document

AT = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
DEALERSHIP = uuid.UUID("11111111-1111-1111-1111-111111111111")
DOCUMENT = uuid.UUID("22222222-2222-2222-2222-222222222222")


def failed_document() -> Document:
    return queued_document(
        id=DOCUMENT,
        dealership_id=DEALERSHIP,
        topic=Topic.PLAYBOOKS,
        filename="menu.pdf",
        status=DocumentStatus.FAILED,
        attempts=1,
        error=DocumentError(code="encrypted_pdf", message="locked"),
    )


def test_a_task_is_queued_with_the_arguments_it_always_had() -> None:
    ingest = IngestDocumentTask(document_id=DOCUMENT, request_id="req-1")
    assert ingest.payload() == {
        "task": "ingest_document",
        "document_id": str(DOCUMENT),
        "request_id": "req-1",
    }
    assert list(ingest.payload()) == ["task", "document_id", "request_id"]
    assert IngestDocumentTask(document_id=DOCUMENT).payload() == {
        "task": "ingest_document",
        "document_id": str(DOCUMENT),
    }
    assert DeleteDocumentTask(document_id=DOCUMENT).name == "delete_document"


def test_the_webhook_body_is_byte_for_byte_what_receivers_were_sent() -> None:
    event = DocumentFailed.of(failed_document(), AT)
    assert event.webhook_body() == (
        b'{"type":"document.failed","timestamp":"2026-03-04T05:06:07.890123+00:00",'
        b'"data":{"topic":"playbooks","status":"failed","filename":"menu.pdf",'
        b'"error_code":"encrypted_pdf","chunk_count":"0",'
        b'"document_id":"22222222-2222-2222-2222-222222222222",'
        b'"dealership_id":"11111111-1111-1111-1111-111111111111"}}'
    )
    usage = UsageBudgetThreshold(
        dealership_id=DEALERSHIP,
        occurred_at=AT,
        threshold=80,
        period="2026-03",
        monthly_token_budget=1000,
        used_tokens=812,
    )
    assert usage.webhook_body() == (
        b'{"type":"usage.budget_threshold","timestamp":"2026-03-04T05:06:07.890123+00:00",'
        b'"data":{"period":"2026-03","threshold":"80","used_tokens":"812",'
        b'"dealership_id":"11111111-1111-1111-1111-111111111111",'
        b'"monthly_token_budget":"1000"}}'
    )


def test_a_payload_stored_before_the_typed_structs_still_decodes() -> None:
    legacy = {
        "type": "document.ready",
        "dealership_id": str(DEALERSHIP),
        "document_id": str(DOCUMENT),
        "filename": "menu.pdf",
        "topic": "playbooks",
        "status": "ready",
        "chunk_count": "3",
        "occurred_at": AT.isoformat(),
    }
    decoded = decode_message("event", legacy)
    assert isinstance(decoded, DocumentReady)
    assert (decoded.chunk_count, decoded.occurred_at, decoded.error_code) == (3, AT, None)
    assert decoded.payload() == legacy
    task = {"task": "delete_document", "document_id": str(DOCUMENT)}
    assert decode_message("task", task) == DeleteDocumentTask(document_id=DOCUMENT)


def test_every_message_round_trips_through_its_payload() -> None:
    document = failed_document()
    messages = [
        IngestDocumentTask(document_id=DOCUMENT, request_id="r"),
        DeleteDocumentTask(document_id=DOCUMENT),
        DocumentReady.of(document, AT),
        DocumentFailed.of(document, AT),
        DocumentDeleted.of(document, AT),
        UsageBudgetThreshold(
            dealership_id=DEALERSHIP,
            occurred_at=AT,
            threshold=100,
            period="2026-03",
            monthly_token_budget=5,
            used_tokens=5,
        ),
        ScoreConversationTask(conversation_id=DOCUMENT),
        ConversationScored(
            dealership_id=DEALERSHIP,
            occurred_at=AT,
            conversation_id=DOCUMENT,
            user_id=DEALERSHIP,
            status="scored",
            rubric_id="fi-office",
            rubric_version=1,
            overall=82,
            passed="true",
        ),
        ConversationScored(
            dealership_id=DEALERSHIP,
            occurred_at=AT,
            conversation_id=DOCUMENT,
            user_id=DEALERSHIP,
            status="failed",
            rubric_id="fi-office",
            rubric_version=2,
            error_code="retries_exhausted",
        ),
    ]
    for message in messages:
        assert decode_message(message.kind, message.payload()) == message


def test_a_scored_conversation_is_announced_with_its_result_as_text() -> None:
    event = ConversationScored(
        dealership_id=DEALERSHIP,
        occurred_at=AT,
        conversation_id=DOCUMENT,
        user_id=DEALERSHIP,
        status="scored",
        rubric_id="fi-office",
        rubric_version=1,
        overall=82,
        passed="false",
    )
    assert event.data() == {
        "passed": "false",
        "status": "scored",
        "overall": "82",
        "user_id": str(DEALERSHIP),
        "rubric_id": "fi-office",
        "dealership_id": str(DEALERSHIP),
        "rubric_version": "1",
        "conversation_id": str(DOCUMENT),
    }
    assert ScoreConversationTask(conversation_id=DOCUMENT).payload() == {
        "task": "score_conversation",
        "conversation_id": str(DOCUMENT),
    }
