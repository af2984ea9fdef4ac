"""Content negotiation on `Accept` (RFC 9110 §12.5.1) and the `Allow` value of a route."""

from __future__ import annotations

import pytest

from avataradam.entrypoints.http.methods import allowed_methods
from avataradam.entrypoints.http.negotiation import (
    JSON,
    preferred,
    wants_event_stream,
)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json;q=0", None),
        ("application/json;q=0, */*;q=0.5", None),
        ("text/html", None),
        ("text/html, */*;q=0.1", JSON),
    ],
)
def test_the_preferred_representation_honours_quality_values(
    accept: str | None, chosen: str | None
) -> None:
    assert preferred(accept, (JSON,)) == chosen


@pytest.mark.parametrize(
    ("accept", "streamed"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/event-stream", True),
        ("text/event-stream, application/json", True),
        ("application/json, text/event-stream", True),
        ("text/event-stream;q=0.5, application/json", False),
        ("application/json;q=0.5, text/event-stream", True),
        ("text/event-stream;q=0, application/json", False),
        ("text/*", True),
        ("text/event-stream;q=0", None),
        ("text/html", None),
    ],
)
def test_a_reply_streams_only_when_events_are_named_and_not_ranked_below_json(
    accept: str | None, streamed: bool | None
) -> None:
    assert wants_event_stream(accept) is streamed


def test_allow_adds_head_wherever_get_and_keeps_a_stable_order() -> None:
    assert (
        allowed_methods({"POST", "OPTIONS", "get", "DELETE"}) == "GET, HEAD, POST, DELETE, OPTIONS"
    )
    assert allowed_methods({"OPTIONS", "POST"}) == "POST, OPTIONS"
    assert allowed_methods({"OPTIONS", "PROPFIND"}) == "OPTIONS, PROPFIND"
