"""Domain errors, each with a stable `code` from the catalogue (domain/codes.py).

The HTTP layer maps codes to statuses in one table (`entrypoints/http/problems.py`),
and docs/guide/07-errors.md documents each.
Adapters raise these (or their ports' subclasses), never a code of their own. A
`Conflict` or `InvalidInput` raised where a more specific class below fits is a bug:
clients branch on `code`. `details` hold facts a client can act on (an id, a status),
never a database constraint, table or driver message.
"""

from __future__ import annotations

from avataradam.domain import codes


class DomainError(Exception):
    code = codes.DOMAIN_ERROR

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The object does not exist or belongs to another dealership (never told apart)."""

    code = codes.NOT_FOUND


class Conflict(DomainError):
    """The change conflicts with the current state. Raise a subclass: this generic
    code means a conflict nobody gave a specific code yet."""

    code = codes.CONFLICT


class ConcurrentUpdate(Conflict):
    """Another transaction changed the same data first (serialization failure,
    deadlock, a compare-and-set beaten); the same request may succeed if repeated."""

    code = codes.CONCURRENT_UPDATE


class EmailTaken(Conflict):
    """Another user already has this email (unique case-insensitively, service-wide)."""

    code = codes.EMAIL_TAKEN


class DuplicateDocument(Conflict):
    """The same bytes are already a live document of this dealership and topic;
    `details.document_id` names it."""

    code = codes.DUPLICATE_DOCUMENT


class IllegalTransition(Conflict):
    """An entity was asked for a move its lifecycle does not allow from its current
    status (`details.entity`, `details.transition`, `details.status`). Raised by the
    entity itself (see `domain/model/lifecycle.py`); a move a request can ask for has a
    specific subclass below, any other is a race or a bug and still answers 409."""

    code = codes.CONFLICT


class DocumentNotRetryable(IllegalTransition):
    """Only a `failed` document can be retried; `details.status` is its status."""

    code = codes.DOCUMENT_NOT_RETRYABLE


class ScenarioSlugTaken(Conflict):
    """Another live scenario of the dealership, or a built-in one, has this slug."""

    code = codes.SCENARIO_SLUG_TAKEN


class RubricIdTaken(Conflict):
    """The dealership already has an own rubric with this id, or a built-in rubric has
    it (`field: id`); publish a new version of it instead."""

    code = codes.RUBRIC_ID_TAKEN


class ConversationCompleted(Conflict):
    """The roleplay session was completed (`POST .../complete`): it takes no more
    messages, so its scorecard judges exactly what was said."""

    code = codes.CONVERSATION_COMPLETED


class InvalidRequest(DomainError):
    """The request is malformed: a value that cannot be parsed as what the API
    reference declares (e.g. a `cursor` the API never issued). HTTP 400."""

    code = codes.INVALID_REQUEST


class InvalidInput(DomainError):
    """The request is well-formed, but a value breaks a rule of the service. HTTP 422."""

    code = codes.INVALID_INPUT


class IdempotencyKeyReused(InvalidInput):
    """The `Idempotency-Key` was first used with a different request: HTTP 422, as
    draft-ietf-httpapi-idempotency-key-header (section 2.7) prescribes."""

    code = codes.IDEMPOTENCY_KEY_REUSED


class WebhookDestinationRefused(InvalidInput):
    """The webhook URL points at an address webhooks may not reach."""

    code = codes.WEBHOOK_DESTINATION_REFUSED


class NotARoleplay(InvalidInput):
    """Only a roleplay session is completed and scored; a training conversation is not."""

    code = codes.NOT_A_ROLEPLAY


class UnsupportedFileType(InvalidInput):
    code = codes.UNSUPPORTED_FILE_TYPE


class UndecodableText(UnsupportedFileType):
    """Text whose character encoding cannot be told with confidence: storing a guess
    would index garbled text, so the file is refused and the uploader told to re-save
    it (e.g. as UTF-8)."""

    code = codes.UNDECODABLE_TEXT


class UnsupportedMediaType(InvalidInput):
    """A body or an uploaded part of a media type the operation does not take (a
    recording that is not WebM, Ogg, WAV, MP3 or M4A, judged by its bytes)."""

    code = codes.UNSUPPORTED_MEDIA_TYPE


class FileTooLarge(InvalidInput):
    code = codes.FILE_TOO_LARGE


class AuthenticationFailed(DomainError):
    code = codes.AUTHENTICATION_FAILED


class InvalidToken(AuthenticationFailed):
    code = codes.INVALID_TOKEN


class SessionEnded(InvalidToken):
    """A well-signed, unexpired access token whose session was ended: the password was
    changed or reset, the user or the dealership deactivated, or an admin ended the
    user's sessions. Refreshing cannot help; the user signs in again."""

    code = codes.SESSION_ENDED


class PermissionDenied(DomainError):
    code = codes.PERMISSION_DENIED


class CurrentPasswordRequired(PermissionDenied):
    """One's own password is changed with POST /v1/me/password, which asks for the
    current one; the admins' user update may not change it."""

    code = codes.CURRENT_PASSWORD_REQUIRED


class WrongCurrentPassword(PermissionDenied):
    """The `current_password` of a password change is wrong (it counts against the
    sign-in guard like a failed sign-in)."""

    code = codes.WRONG_CURRENT_PASSWORD


class ScenarioReadOnly(PermissionDenied):
    """Built-in scenarios belong to the library, not to a dealership: nobody may change
    or delete them (copy one into an own scenario instead). `details.scenario_id`."""

    code = codes.SCENARIO_READ_ONLY


class RubricReadOnly(PermissionDenied):
    """Built-in rubrics belong to the product: nobody publishes versions of them (write
    an own rubric, reusing their checks with `uses`). `details.rubric_id`."""

    code = codes.RUBRIC_READ_ONLY


class FeatureDisabled(PermissionDenied):
    """A feature the dealership (or the service) has not switched on, e.g. the
    leaderboard (`leaderboard_enabled`). `details.feature` names it."""

    code = codes.FEATURE_DISABLED


class RateLimited(DomainError):
    code = codes.RATE_LIMITED

    def __init__(self, message: str, *, retry_after_s: float, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s


class BudgetExhausted(RateLimited):
    """The dealership's monthly token budget cannot cover this reply (HTTP 429 with
    `Retry-After` at the start of the next month, UTC). `details`: `budget`,
    `remaining` and `required` tokens, `resets_at` (ISO 8601)."""

    code = codes.BUDGET_EXHAUSTED


class DependencyUnavailable(DomainError):
    """A backing service (database, cache, vector store, model) cannot be reached."""

    code = codes.DEPENDENCY_UNAVAILABLE


class TaskQueueUnavailable(DependencyUnavailable):
    code = codes.TASK_QUEUE_UNAVAILABLE


class EmbeddingRejected(DomainError):
    """Permanent: the embedding service refused the request (bad key, model, input)."""

    code = codes.EMBEDDING_REJECTED


class VectorDimensionMismatch(DomainError):
    """A vector's length differs from the index's dimension.

    Permanent, not retryable: it means the configured embedder changed (or a caller
    built a wrong vector), and mixing dimensions would make every score meaningless.
    Re-embedding into a fresh index is the only way forward.
    """

    code = codes.VECTOR_DIMENSION_MISMATCH

    def __init__(self, *, expected: int, actual: int, where: str) -> None:
        super().__init__(
            f"vector dimension {actual} does not match {where} dimension {expected}",
            expected=expected,
            actual=actual,
        )
        self.expected = expected
        self.actual = actual
