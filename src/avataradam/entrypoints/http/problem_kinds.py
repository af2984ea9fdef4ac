"""What each error status of the API means, as the OpenAPI document tells it: the
status's most common `code`, what its problems mean and what to do, and an example
`detail` (the codes themselves are catalogued in `problems.py`)."""

from __future__ import annotations


class ProblemKind:
    """The problems of one status: its most common `code`, what they mean, what to do,
    and an example `detail` of that code."""

    def __init__(self, code: str, description: str, detail: str) -> None:
        self.code = code
        self.description = description
        self.detail = detail


PROBLEM_KINDS: dict[int, ProblemKind] = {
    400: ProblemKind(
        "invalid_request",
        "The request is malformed (`invalid_request`): it cannot be parsed as this "
        "reference declares it, e.g. a wrong type, a value out of its stated range or "
        "length, a missing or unknown field, in the body, the query or a header, or a "
        "`cursor` the API never issued. `errors` lists each field. Fix the request; do "
        "not retry it.",
        "Validation failed for POST /v1/search",
    ),
    401: ProblemKind(
        "invalid_token",
        "No bearer token, or an invalid, expired or revoked one (`invalid_token`): refresh "
        "the access token or sign in again; a token whose session was ended (password "
        "changed or reset, account or dealership deactivated, sessions ended by an admin: "
        "`session_ended`): sign in again; on sign-in, wrong credentials "
        "(`authentication_failed`).",
        "token has expired",
    ),
    403: ProblemKind(
        "permission_denied",
        "The caller's role may not do this (`permission_denied`); one's own password is "
        "changed with POST /v1/me/password (`current_password_required`), whose "
        "`current_password` was wrong (`wrong_current_password`); built-in scenarios are "
        "read-only for every role (`scenario_read_only`); a feature that is switched off "
        "(`feature_disabled`, `details.feature`: e.g. `speech` without a synthesizer).",
        "this action needs the role dealership_admin or super_admin",
    ),
    404: ProblemKind(
        "not_found",
        "No such object in the caller's dealership (`not_found`). Objects of another "
        "dealership answer 404 too, never 403.",
        "document not found",
    ),
    406: ProblemKind(
        "not_acceptable",
        "The `Accept` header rules out every representation of the resource "
        "(`not_acceptable`): accept `application/json` (a reply also `text/event-stream`).",
        "this resource is available as application/json only",
    ),
    408: ProblemKind(
        "request_timeout",
        "The request body did not arrive in full within the server's deadline "
        "(`request_timeout`); the connection is closed. Retry on a better connection.",
        "the request body did not arrive within 120 s",
    ),
    409: ProblemKind(
        "duplicate_document",
        "The request conflicts with the current state: the same file already in the "
        "topic (`duplicate_document`, `details.document_id` names it), an email another "
        "user has (`email_taken`), a document that is not `failed` (`document_not_retryable`, "
        "`details.status`), a scenario slug in use (`scenario_slug_taken`), another request "
        "changing the same data first "
        "(`concurrent_update`: retry).",
        "the same file is already in this knowledge base",
    ),
    412: ProblemKind(
        "precondition_failed",
        "A precondition header is false (`precondition_failed`): no representation "
        "carries an entity tag, so `If-Match` can only be `*`, and `If-None-Match: *` "
        "fails on a resource that exists (a reply's audio carries an entity tag: `If-Match` "
        "with another one fails there). Nothing was done; send the request without it.",
        "no representation of this API carries an entity tag: If-Match can only be '*'",
    ),
    413: ProblemKind(
        "file_too_large",
        "The body or the uploaded file exceeds its size limit (`file_too_large`, "
        "`payload_too_large`); a recording lasts longer than the service transcribes "
        "(`audio_too_long`, `details.duration_s` and `details.limit_s`).",
        "the file exceeds the upload limit of 26214400 bytes",
    ),
    415: ProblemKind(
        "unsupported_file_type",
        "The uploaded file is not PDF, DOCX, HTML, Markdown or plain text, judged by its "
        "bytes (`unsupported_file_type`); or the body is not of the operation's type: "
        "JSON in UTF-8, `multipart/form-data` for uploads, never content-coded "
        "(`unsupported_media_type`); a recording that is not WebM, Ogg, WAV, MP3 or "
        "M4A (`unsupported_media_type`).",
        "only PDF, DOCX, HTML, Markdown and plain text files are accepted",
    ),
    416: ProblemKind(
        "range_not_satisfiable",
        "The `Range` asks for bytes beyond the end of the audio (`range_not_satisfiable`); "
        "`Content-Range: bytes */<length>` gives its length. Ask for a range within it, or "
        "for the whole audio without `Range`.",
        "bytes=90000- starts beyond the audio's 58444 bytes",
    ),
    422: ProblemKind(
        "invalid_input",
        "Well-formed, but a value breaks a rule of the service that this reference "
        "cannot state (`invalid_input`), e.g. a super admin acting on dealership data "
        "without `dealership_id`, an empty file; a webhook URL that points at a private, "
        "link-local or metadata address (`webhook_destination_refused`); an "
        "`Idempotency-Key` first used for a different request (`idempotency_key_reused`); "
        "a recording that cannot be decoded (`unreadable_audio`) or holds no speech "
        "(`no_speech`).",
        "a super admin must pass dealership_id",
    ),
    429: ProblemKind(
        "rate_limited",
        "A rate limit is exhausted (`rate_limited`). Wait `Retry-After` seconds; the "
        "`RateLimit` header tells what remains of each policy.",
        "rate limit 'search' exceeded",
    ),
    405: ProblemKind(
        "method_not_allowed",
        "The path exists, but not with this method (`method_not_allowed`); `Allow` lists "
        "the methods it has.",
        "Method Not Allowed",
    ),
    500: ProblemKind(
        "internal_error",
        "A bug (`internal_error`). Retry once; report the `request_id` if it persists.",
        "an unexpected error occurred; quote the request_id when reporting it",
    ),
    503: ProblemKind(
        "dependency_unavailable",
        "A backing service (database, Redis, vector store, model, speech engine) cannot be "
        "reached "
        "(`dependency_unavailable`). Retry with exponential backoff.",
        "the database is unavailable",
    ),
}
