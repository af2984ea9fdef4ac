"""Every error code of the service, in one catalogue.

A code is the stable, machine-readable name of what went wrong: the `code` of an API
problem (RFC 9457), or the `error.code` of a failed document. Errors name their code
from here (`DomainError.code`, an extraction failure's `reason`), and the HTTP edge
maps each code of `ANSWERED` to its status and title (entrypoints/http/problems.py),
so nothing else invents one. docs/guide/07-errors.md documents them all.
"""

# ruff: noqa: S105 -- error codes, not secrets
from __future__ import annotations

from typing import Final

# Refusals of a request: 400, 401, 403.
INVALID_REQUEST: Final = "invalid_request"
DOMAIN_ERROR: Final = "domain_error"
HTTP_ERROR: Final = "http_error"
INVALID_TOKEN: Final = "invalid_token"
SESSION_ENDED: Final = "session_ended"
AUTHENTICATION_FAILED: Final = "authentication_failed"
NOT_AUTHENTICATED: Final = "not_authenticated"
PERMISSION_DENIED: Final = "permission_denied"
CURRENT_PASSWORD_REQUIRED: Final = "current_password_required"
WRONG_CURRENT_PASSWORD: Final = "wrong_current_password"
SCENARIO_READ_ONLY: Final = "scenario_read_only"
RUBRIC_READ_ONLY: Final = "rubric_read_only"
FEATURE_DISABLED: Final = "feature_disabled"
# What the request names or how it is asked: 404 to 416.
NOT_FOUND: Final = "not_found"
METHOD_NOT_ALLOWED: Final = "method_not_allowed"
NOT_ACCEPTABLE: Final = "not_acceptable"
REQUEST_TIMEOUT: Final = "request_timeout"
CONFLICT: Final = "conflict"
CONCURRENT_UPDATE: Final = "concurrent_update"
EMAIL_TAKEN: Final = "email_taken"
DUPLICATE_DOCUMENT: Final = "duplicate_document"
DOCUMENT_NOT_RETRYABLE: Final = "document_not_retryable"
REEMBEDDING_RUNNING: Final = "reembedding_running"
SCENARIO_SLUG_TAKEN: Final = "scenario_slug_taken"
RUBRIC_ID_TAKEN: Final = "rubric_id_taken"
CONVERSATION_COMPLETED: Final = "conversation_completed"
FILE_TOO_LARGE: Final = "file_too_large"
PRECONDITION_FAILED: Final = "precondition_failed"
PAYLOAD_TOO_LARGE: Final = "payload_too_large"
UNSUPPORTED_FILE_TYPE: Final = "unsupported_file_type"
UNDECODABLE_TEXT: Final = "undecodable_text"
UNSUPPORTED_MEDIA_TYPE: Final = "unsupported_media_type"
AUDIO_TOO_LONG: Final = "audio_too_long"
RANGE_NOT_SATISFIABLE: Final = "range_not_satisfiable"
# Well-formed, against a rule of the service: 422; too much: 429.
INVALID_INPUT: Final = "invalid_input"
IDEMPOTENCY_KEY_REUSED: Final = "idempotency_key_reused"
WEBHOOK_DESTINATION_REFUSED: Final = "webhook_destination_refused"
NOT_A_ROLEPLAY: Final = "not_a_roleplay"
UNREADABLE_AUDIO: Final = "unreadable_audio"
NO_SPEECH: Final = "no_speech"
RATE_LIMITED: Final = "rate_limited"
BUDGET_EXHAUSTED: Final = "budget_exhausted"
# The service's own failures: 500, 503.
INTERNAL_ERROR: Final = "internal_error"
DEPENDENCY_UNAVAILABLE: Final = "dependency_unavailable"
SERVICE_UNAVAILABLE: Final = "service_unavailable"
WARMING_UP: Final = "warming_up"
WARM_UP_FAILED: Final = "warm_up_failed"
CACHE_UNAVAILABLE: Final = "cache_unavailable"
EMBEDDER_UNAVAILABLE: Final = "embedder_unavailable"
VECTOR_INDEX_UNAVAILABLE: Final = "vector_index_unavailable"
TASK_QUEUE_UNAVAILABLE: Final = "task_queue_unavailable"
CHAT_MODEL_UNAVAILABLE: Final = "chat_model_unavailable"
SPEECH_UNAVAILABLE: Final = "speech_unavailable"

ANSWERED: Final = frozenset(
    {
        INVALID_REQUEST, DOMAIN_ERROR, HTTP_ERROR, INVALID_TOKEN, SESSION_ENDED,
        AUTHENTICATION_FAILED, NOT_AUTHENTICATED, PERMISSION_DENIED,
        CURRENT_PASSWORD_REQUIRED, WRONG_CURRENT_PASSWORD, SCENARIO_READ_ONLY, NOT_FOUND,
        RUBRIC_READ_ONLY, RUBRIC_ID_TAKEN, FEATURE_DISABLED,
        METHOD_NOT_ALLOWED, SCENARIO_SLUG_TAKEN, CONVERSATION_COMPLETED, NOT_A_ROLEPLAY,
        NOT_ACCEPTABLE, REQUEST_TIMEOUT, CONFLICT, CONCURRENT_UPDATE, EMAIL_TAKEN,
        DUPLICATE_DOCUMENT, DOCUMENT_NOT_RETRYABLE, REEMBEDDING_RUNNING, FILE_TOO_LARGE,
        PRECONDITION_FAILED,
        PAYLOAD_TOO_LARGE, UNSUPPORTED_FILE_TYPE, UNDECODABLE_TEXT, UNSUPPORTED_MEDIA_TYPE,
        INVALID_INPUT, IDEMPOTENCY_KEY_REUSED, WEBHOOK_DESTINATION_REFUSED, RATE_LIMITED,
        BUDGET_EXHAUSTED, INTERNAL_ERROR, DEPENDENCY_UNAVAILABLE, SERVICE_UNAVAILABLE,
        WARMING_UP, WARM_UP_FAILED, CACHE_UNAVAILABLE, EMBEDDER_UNAVAILABLE,
        VECTOR_INDEX_UNAVAILABLE, TASK_QUEUE_UNAVAILABLE, CHAT_MODEL_UNAVAILABLE,
        AUDIO_TOO_LONG, UNREADABLE_AUDIO, NO_SPEECH, SPEECH_UNAVAILABLE,
        RANGE_NOT_SATISFIABLE,
    }
)  # fmt: skip
"""The codes an API problem may carry; problems.PROBLEMS maps exactly these."""

# Inside the service: a document's `error.code` while it is retried or once it failed.
EXTRACTION_FAILED: Final = "extraction_failed"
EXTRACTOR_UNAVAILABLE: Final = "extractor_unavailable"
EMBEDDING_REJECTED: Final = "embedding_rejected"
VECTOR_DIMENSION_MISMATCH: Final = "vector_dimension_mismatch"
RETRIES_EXHAUSTED: Final = "retries_exhausted"
# Why a file yields no text: an `ExtractionFailed`'s `reason`, the document's code.
ENCRYPTED_PDF: Final = "encrypted_pdf"
CORRUPT_FILE: Final = "corrupt_file"
TOO_LARGE: Final = "too_large"
EMPTY_TEXT: Final = "empty_text"
UNSUPPORTED_TYPE: Final = "unsupported_type"

DOCUMENT_ERRORS: Final = frozenset(
    {
        EXTRACTION_FAILED, EXTRACTOR_UNAVAILABLE, EMBEDDING_REJECTED,
        VECTOR_DIMENSION_MISMATCH, RETRIES_EXHAUSTED, INTERNAL_ERROR, ENCRYPTED_PDF,
        CORRUPT_FILE, TOO_LARGE, EMPTY_TEXT, UNSUPPORTED_TYPE, UNDECODABLE_TEXT,
    }
)  # fmt: skip
"""The codes a document's `error` may carry (docs/guide/04-documents.md)."""
