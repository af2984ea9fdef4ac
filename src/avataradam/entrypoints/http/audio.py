"""Stored audio over HTTP: caching headers, conditional requests and byte ranges.

A stored reply's WAV never changes (it is keyed by message, engine and voice), so it
carries a strong entity tag (its SHA-256) and `Cache-Control: private, max-age=…`
(private: it is the owner's). Requests are evaluated in RFC 9110's order (§13.2.2):
`If-Match` (412 when no tag matches), `If-None-Match` (304 when one does), then `Range`
(§14): one byte range is answered 206 with `Content-Range`; a range starting beyond the
end 416 with `Content-Range: bytes */<length>`; several ranges, another unit, a
malformed header or an `If-Range` naming another tag are ignored (the whole audio, 200,
as §14.2 allows). Parsing is werkzeug's; Litestar serves no ranges for bytes bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from litestar import Response
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_206_PARTIAL_CONTENT,
    HTTP_304_NOT_MODIFIED,
    HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
)
from werkzeug.http import parse_etags, parse_range_header

from avataradam.domain.model.speech import StoredAudio
from avataradam.entrypoints.http.headers import PreconditionFailed

MAX_AGE_S = 86_400
"""A reply's audio is the same tomorrow; after a day the browser asks again (304)."""


def entity_tag(stored: StoredAudio) -> str:
    return f'"{stored.sha256[:32]}"'


def cache_headers(stored: StoredAudio) -> dict[str, str]:
    return {
        "ETag": entity_tag(stored),
        "Cache-Control": f"private, max-age={MAX_AGE_S}",
        "Accept-Ranges": "bytes",
    }


def _byte_range(header: str, length: int) -> tuple[int, int] | None:
    """[start, stop) of the one byte range `header` asks for; None when it is to be
    ignored. Raises 416 when it starts beyond `length`."""
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        return None
    start, stop = parsed.ranges[0]
    if stop is None and start < 0:  # a suffix: the last -start bytes (all, if fewer)
        start, stop = max(length + start, 0), length
    stop = length if stop is None else min(stop, length)
    if start >= length or start >= stop:
        raise HTTPException(
            status_code=HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
            detail=f"{header} starts beyond the audio's {length} bytes",
            headers={"Content-Range": f"bytes */{length}"},
        )
    return start, stop


async def stored_audio_response(
    headers: Mapping[str, str], stored: StoredAudio, read: Callable[[], Awaitable[bytes]]
) -> Response[bytes]:
    """The answer to a GET of `stored` with request `headers` (see the module
    docstring); `read` gives its bytes, called only when they are sent."""
    tag = entity_tag(stored)
    answer_headers = cache_headers(stored)
    if_match = headers.get("if-match")
    if if_match is not None and not parse_etags(if_match).contains(tag.strip('"')):
        raise PreconditionFailed(detail="If-Match names no entity tag of this audio")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None and parse_etags(if_none_match).contains_weak(tag.strip('"')):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=answer_headers)
    data = await read()
    wanted = headers.get("range")
    if_range = headers.get("if-range")
    if wanted is not None and (if_range is None or if_range.strip() == tag):
        span = _byte_range(wanted, len(data))
        if span is not None:
            start, stop = span
            answer_headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
            return Response(
                data[start:stop],
                status_code=HTTP_206_PARTIAL_CONTENT,
                media_type=stored.content_type,
                headers=answer_headers,
            )
    return Response(
        data, status_code=HTTP_200_OK, media_type=stored.content_type, headers=answer_headers
    )
