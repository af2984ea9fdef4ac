"""Rows to entities: columns are named like the entity's fields."""

from __future__ import annotations

from typing import Any, TypeVar

import asyncpg
import msgspec

T = TypeVar("T")


def from_row(entity: type[T], row: asyncpg.Record, **computed: Any) -> T:
    """Builds `entity` from `row`, with `computed` fields that have no column of their
    own; msgspec validates and converts (enums from text, tuples from arrays)."""
    return msgspec.convert({**dict(row), **computed}, entity)
