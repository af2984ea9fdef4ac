"""What the bodies of several resources share: the page of a list, a dealership id,
and `to_out`, the one way a domain struct becomes a response body."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec

T = TypeVar("T")
B = TypeVar("B")

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


class _Overlay:
    """`source`'s attributes, `values` in front of them. `__getattribute__` rather than
    `__getattr__`: no failed lookup (an exception) before each value."""

    __slots__ = ("_source", "_values")

    def __init__(self, source: object, values: dict[str, object]) -> None:
        self._source = source
        self._values = values

    def __getattribute__(self, name: str) -> object:
        values: dict[str, object] = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        return getattr(object.__getattribute__(self, "_source"), name)


def to_out(source: object, out: type[B], **computed: object) -> B:
    """The response body `out` of `source` (a domain struct): each field of `out` is
    read from the attribute of the same (Python) name, or from `computed` when it is
    named there (a value the source does not hold as such, e.g. `stalled`), then
    converted by msgspec (nested structs, tuples to lists, enums); a field the source
    lacks takes its default. Raises `msgspec.ValidationError` when a value does not fit
    its field (a bug, not a client error)."""
    return msgspec.convert(
        _Overlay(source, computed) if computed else source, out, from_attributes=True
    )
