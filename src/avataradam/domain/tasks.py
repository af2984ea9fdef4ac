"""Names of background tasks and events: the contract between API, outbox and worker."""

from __future__ import annotations

INGEST_DOCUMENT = "ingest_document"
DELETE_DOCUMENT = "delete_document"
DELIVER_WEBHOOK = "deliver_webhook"
REEMBED_KNOWLEDGE_BASE = "reembed_knowledge_base"
SCORE_CONVERSATION = "score_conversation"
GROUP_KNOWLEDGE_GAPS = "group_knowledge_gaps"
"""Groups a dealership's new knowledge-gap questions (payload `dealership_id`)."""

OUTBOX_TASK = "task"
"""Outbox kind: payload carries `task` plus that task's arguments."""
OUTBOX_EVENT = "event"
"""Outbox kind: payload carries `type` (an event below) and its fields."""

DOCUMENT_READY = "document.ready"
DOCUMENT_FAILED = "document.failed"
DOCUMENT_DELETED = "document.deleted"
USAGE_BUDGET_THRESHOLD = "usage.budget_threshold"
"""A dealership's monthly token budget reached 80 % or 100 % (once each per month)."""
CONVERSATION_SCORED = "conversation.scored"
"""A completed roleplay session's scorecard was stored (`status: scored`) or gave up
(`status: failed`); a rescore announces its result again."""
ASSIGNMENT_COMPLETED = "assignment.completed"
"""An assignee of an assignment became done (once per assignee)."""
ASSIGNMENT_OVERDUE = "assignment.overdue"
"""An assignee's assignment passed its due date without being done (once per assignee
and due date): a reminder."""
WEBHOOK_EVENTS = (
    DOCUMENT_READY,
    DOCUMENT_FAILED,
    DOCUMENT_DELETED,
    USAGE_BUDGET_THRESHOLD,
    CONVERSATION_SCORED,
    ASSIGNMENT_COMPLETED,
    ASSIGNMENT_OVERDUE,
)
