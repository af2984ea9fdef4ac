"""Which field a 400 names when Litestar refuses a request body (docs/guide/07-errors.md)."""

from __future__ import annotations

import pytest

from avataradam.entrypoints.http.problems import body_field


@pytest.mark.parametrize(
    ("key", "message", "field"),
    [
        # The body's own keys: Litestar says "data" and names the field in the message.
        ("data", "Object missing required field `topic`", "topic"),
        ("data", "Object missing required field `file`", "file"),
        ("data", "Object contains unknown field `colour`", "colour"),
        # Nested: the parent is in the key, the field in the message.
        ("criteria[0]", "Object missing required field `weight`", "criteria[0].weight"),
        # A wrong type: the key is already the field.
        ("items[0].n", "Expected `int`, got `str`", "items[0].n"),
        ("topic", "Expected `str`, got `int`", "topic"),
        # The body as a whole is wrong.
        ("data", "Expected `object`, got `array`", "body"),
    ],
)
def test_a_body_error_names_the_field_a_client_sent_or_missed(
    key: str, message: str, field: str
) -> None:
    assert body_field(key, message) == field
