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


def _may_hold_secret(text: str) -> bool:
    """Whether `text` holds what every pattern above needs somewhere ("bearer" in any
    case, "eyJ", "whsec_", "://"): this rules most values out (ids, routes, numbers as
    text) before the four substitutions run. Plain substring tests, several times a
    case-insensitive regex search: every log line (two per request) passes here."""
    if "://" in text:
        return True
    folded = text.lower()
    return "bearer" in folded or "eyj" in folded or "whsec_" in folded


@functools.lru_cache(maxsize=4096)
def _is_sensitive_str_key(key: str) -> bool:
    normalised = key.lower().replace("-", "_")
    return normalised in SENSITIVE_KEYS or normalised.endswith(SENSITIVE_KEY_SUFFIXES)


def scrub_string(value: str) -> str:
    """Removes secrets that look like secrets wherever they appear in free text."""
    if not _may_hold_secret(value):
        return value
    for pattern, replacement in _SECRET_PATTERNS:
        value = pattern.sub(replacement, value)
    return value


_PLAIN: frozenset[type] = frozenset({int, float, bool, type(None)})
"""Values that cannot hold a secret: returned as they are."""


def redact(value: Any) -> Any:
    """A copy of `value` with sensitive keys masked and secret-looking strings scrubbed,
    at any depth of dicts, lists and tuples. The input is never mutated."""
    kind = type(value)
    if kind is str:
        return scrub_string(value)
    if kind in _PLAIN:
        return value
    if kind is dict or isinstance(value, Mapping):
        return {key: _redact_item(key, item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return scrub_string(value)
    return value


def _redact_item(key: object, item: Any) -> Any:
    """One mapping entry's value: masked under a sensitive key, else `redact`ed."""
    if type(key) is str and _is_sensitive_str_key(key):
        return REDACTED
    return redact(item)


def redact_sensitive(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: see `redact`. `event` keeps its key but is scrubbed.

    A line whose keys are all ordinary, whose values are all strings and numbers, and
    whose strings hold nothing `_may_hold_secret` finds (one test over them all, joined
    by a character no marker holds) is returned as it is: most lines, the two of every
    request included, are that."""
    texts: list[str] = []
    for key, value in event_dict.items():
        kind = type(value)
        if type(key) is not str or _is_sensitive_str_key(key):
            break
        if kind is str:
            texts.append(value)
        elif kind not in _PLAIN:
            break
    else:
        if not _may_hold_secret("\n".join(texts)):
            return event_dict
    redacted: EventDict = redact(event_dict)
    return redacted
