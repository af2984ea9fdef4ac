"""What the bodies of several resources share: the page of a list, a dealership id."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec

T = TypeVar("T")

DealershipId = Annotated[
    UUID,
    msgspec.Meta(
        description="A super admin names the dealership to act on; others act on their own.",
        examples=["0b6f3c52-6d0e-4c1a-9a43-2f1d5e7c8a90"],
    ),
]


class ListResponse(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None
