"""Entities to rows and back: columns are named like the entity's fields; table and
column names are this package's constants, never input.

A repository module declares a table's columns once, in order, with `columns`; `insert`,
`update` and `select` spell a statement over them and `params` gives an entity's values for them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from avataradam.adapters.postgres.database import PooledConnection
from avataradam.adapters.postgres.errors import require_affected
from avataradam.domain.pagination import Cursor

T = TypeVar("T")


class ConnectionRepository:
    """A repository that runs its statements on its unit of work's connection."""

    def __init__(self, connection: PooledConnection) -> None:
        self._conn = connection

    async def _one(self, entity: type[T], query: str, *args: object) -> T | None:
        """The row `query` finds as an `entity`, or None."""
        row = await self._conn.fetchrow(query, *args)
        return None if row is None else from_row(entity, row)

    async def _update_one(self, statement: str, values: Sequence[object], what: str) -> None:
        """Runs `statement`, an UPDATE of one row; NotFound naming `what` if none changed."""
        require_affected(await self._conn.execute(statement, *values), what)

    async def _all(self, entity: type[T], query: str, *args: object) -> list[T]:
        """The rows `query` finds as `entity`s, in its order."""
        return [from_row(entity, row) for row in await self._conn.fetch(query, *args)]


def from_row(entity: type[T], row: asyncpg.Record, **computed: Any) -> T:
    """Builds `entity` from `row`, with `computed` fields that have no column of their
    own; msgspec validates and converts (enums from text, tuples from arrays)."""
    return msgspec.convert({**dict(row), **computed}, entity)


def columns(names: str) -> tuple[str, ...]:
    """`"id, name"` as `("id", "name")`."""
    return tuple(name.strip() for name in names.split(","))


def params(entity: msgspec.Struct, columns: Sequence[str], **computed: object) -> list[object]:
    """The value of each of `columns`, in order: the entity's field of the same name,
    or `computed` for a column that is no field; enums as their value, tuples as lists
    (arrays), anything else (jsonb included) as it is."""
    values: list[object] = []
    for column in columns:
        value = computed[column] if column in computed else getattr(entity, column)
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        values.append(value)
    return values


def insert(table: str, columns: Sequence[str]) -> str:
    """`INSERT INTO table (a, b) VALUES ($1, $2)`, to be followed by any ON CONFLICT."""
    placeholders = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    names = ", ".join(columns)
    return f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608 -- our names


def update(table: str, columns: Sequence[str]) -> str:
    """`UPDATE table SET b = $2, c = $3` for `columns` (a, b, c): the first, the key, is
    $1 for the WHERE that follows."""
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns[1:], start=2))
    return f"UPDATE {table} SET {assignments}"  # noqa: S608 -- our names


def select(table: str, columns: Sequence[str]) -> str:
    """`SELECT a, b FROM table`, to be followed by its WHERE."""
    return f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 -- our names


def page_after(first: int, cursor: Cursor | None) -> str:
    """The keyset page's condition and order, its parameters `$first` on `page_params`:
    rows after the cursor (all without one) by (created_at, id), at most `limit`; a
    `newest_first` cursor's rows before it, newest first."""
    second, third = first + 1, first + 2
    if cursor is not None and cursor.newest_first:
        return (
            f"(created_at, id) < (${first}, ${second})"
            f" ORDER BY created_at DESC, id DESC LIMIT ${third}"
        )
    return (
        f"(${first}::timestamptz IS NULL OR (created_at, id) > (${first}, ${second}))"
        f" ORDER BY created_at, id LIMIT ${third}"
    )


def page_params(cursor: Cursor | None, limit: int) -> tuple[datetime | None, UUID | None, int]:
    """The parameters of `page_after`: the cursor's created_at and id (or NULLs), limit."""
    if cursor is None:
        return None, None, limit
    return cursor.created_at, cursor.id, limit
