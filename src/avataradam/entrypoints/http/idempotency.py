"""Answers of creating requests that accept `Idempotency-Key` (see domain/idempotency.py)."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader

from avataradam.domain.idempotency import Answer

T = TypeVar("T")

REPLAYED_HEADER = ResponseHeader(
    name="Idempotent-Replayed",
    value="true",
    description="`true` when the answer replays the first answer to this `Idempotency-Key`.",
    documentation_only=True,
)


def answered(answer: Answer[Any], body: T, status_code: int) -> Response[T]:
    """`body` with `status_code`, marked `Idempotent-Replayed: true` for a replay."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(body, status_code=status_code, headers=headers)
