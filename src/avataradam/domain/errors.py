"""Domain errors. Each carries a stable `code`; the HTTP layer maps classes to statuses."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The object does not exist or belongs to another dealership (never told apart)."""

    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    code = "invalid_input"


class AuthenticationFailed(DomainError):
    code = "authentication_failed"


class InvalidToken(AuthenticationFailed):
    code = "invalid_token"


class PermissionDenied(DomainError):
    code = "permission_denied"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s


class DependencyUnavailable(DomainError):
    """A backing service (database, cache, vector store, model) cannot be reached."""

    code = "dependency_unavailable"


class UnsupportedFileType(InvalidInput):
    code = "unsupported_file_type"


class FileTooLarge(InvalidInput):
    code = "file_too_large"


class UndecodableText(UnsupportedFileType):
    """Text whose character encoding cannot be told with confidence: storing a guess
    would index garbled text, so the file is refused and the uploader told to re-save
    it (e.g. as UTF-8)."""

    code = "undecodable_text"
