"""Content negotiation on `Accept` (RFC 9110 §12.5.1), with Werkzeug's parser.

Litestar's own `Accept.best_match` treats `q=0` ("not acceptable") as acceptable, so the
media ranges are parsed and matched by Werkzeug's `MIMEAccept`, which follows the RFC:
quality values, `q=0` exclusions, wildcards and specificity.
"""

from __future__ import annotations

import functools

from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_406_NOT_ACCEPTABLE
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

JSON = "application/json"
EVENT_STREAM = "text/event-stream"


class NotAcceptable(ClientException):
    """406: no representation of the resource satisfies the request's `Accept`."""

    status_code = HTTP_406_NOT_ACCEPTABLE


def preferred(accept: str | None, offers: tuple[str, ...]) -> str | None:
    """The offer the client prefers, `offers[0]` on a tie or without an `Accept`
    header; None when the header rules every offer out (answer 406)."""
    if not accept or not accept.strip():
        return offers[0]
    return _best_match(accept, offers)


@functools.lru_cache(maxsize=512)
def _best_match(accept: str, offers: tuple[str, ...]) -> str | None:
    """Cached: parsing costs tens of microseconds, and clients repeat their `Accept`."""
    return parse_accept_header(accept, MIMEAccept).best_match(offers)


def wants_event_stream(accept: str | None) -> bool | None:
    """True to stream a reply as Server-Sent Events, False for JSON, None for neither.

    When both are acceptable, events only if the client names `text/event-stream`
    itself (a wildcard alone means JSON, the default representation) and does not rank
    it below JSON.
    """
    json_ok = preferred(accept, (JSON,)) is not None
    events_ok = preferred(accept, (EVENT_STREAM,)) is not None
    if not (json_ok and events_ok):
        return events_ok if json_ok or events_ok else None
    ranges = parse_accept_header(accept or "", MIMEAccept)
    named = any(value.lower() == EVENT_STREAM and quality > 0 for value, quality in ranges)
    return named and preferred(accept, (EVENT_STREAM, JSON)) == EVENT_STREAM
