"""Redaction of log records: sensitive keys masked, secret-looking strings scrubbed.

The last processor before rendering (logging.py), so no processor added earlier can
reintroduce a secret.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from structlog.types import EventDict, WrappedLogger

REDACTED = "[REDACTED]"

SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        # credentials
        "password",
        "passwd",
        "new_password",
        "current_password",
        "old_password",
        "password_hash",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "jwt",
        "secret",
        "client_secret",
        "jwt_secret",
        "signing_secret",
        "webhook_secret",
        "api_key",
        "apikey",
        "x_api_key",
        "private_key",
        "credentials",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "session",
        # document and conversation text (customer data, never logged)
        "text",
        "document_text",
        "content",
        "chunk_text",
        "page_text",
        "raw_text",
        "body",
        "prompt",
        "completion",
    }
)
"""Keys whose values are always replaced, compared case-insensitively with `-` read as
`_` (so `Authorization`, `X-Api-Key` and `Set-Cookie` headers are covered)."""

SENSITIVE_KEY_SUFFIXES: tuple[str, ...] = (
    "_password",
    "_token",
    "_secret",
    "_api_key",
    "_apikey",
)
"""`openai_api_key`, `csrf_token`, `stripe_secret`: composite names of the same kinds."""

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}(?:\.[A-Za-z0-9_-]*){0,2}"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), REDACTED),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
)
"""Bearer tokens, JWTs (`eyJ…`), Standard Webhooks secrets and passwords inside URLs."""

_MAYBE_SECRET = re.compile(r"(?i)bearer|eyJ|whsec_|://")
"""What every pattern above needs somewhere in the text: one search rules most values
out (ids, routes, numbers as text) before the four substitutions run. Two log lines per
request pass through redaction, so this is on every request's path."""


@functools.lru_cache(maxsize=4096)
def _is_sensitive_str_key(key: str) -> bool:
    normalised = key.lower().replace("-", "_")
    return normalised in SENSITIVE_KEYS or normalised.endswith(SENSITIVE_KEY_SUFFIXES)


def _is_sensitive_key(key: object) -> bool:
    return isinstance(key, str) and _is_sensitive_str_key(key)


def scrub_string(value: str) -> str:
    """Removes secrets that look like secrets wherever they appear in free text."""
    if _MAYBE_SECRET.search(value) is None:
        return value
    for pattern, replacement in _SECRET_PATTERNS:
        value = pattern.sub(replacement, value)
    return value


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys masked and secret-looking strings scrubbed,
    at any depth of dicts, lists and tuples. The input is never mutated."""
    if isinstance(value, str):
        return scrub_string(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_sensitive_key(key) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def redact_sensitive(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: see `redact`. `event` keeps its key but is scrubbed."""
    redacted: EventDict = redact(event_dict)
    return redacted
