"""Row helpers shared by the in-memory repositories: PostgreSQL's keyset paging and constraints.

Each write of a repository is a function of the tables handed to the transaction (see
`store.py`), which runs it now on the private copy and again on commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from avataradam.domain.errors import Conflict, NotFound
from avataradam.domain.pagination import Cursor

T = TypeVar("T")
K = TypeVar("K")
S = TypeVar("S", bound=msgspec.Struct)


def page(
    rows: Iterable[T], key: Callable[[T], tuple[datetime, UUID]], cursor: Cursor | None, limit: int
) -> list[T]:
    """The page after `cursor` as `postgres.rows.page_after` selects it."""
    if cursor is not None and cursor.newest_first:
        before = (cursor.created_at, cursor.id)
        return [row for row in sorted(rows, key=key, reverse=True) if key(row) < before][:limit]
    ordered = sorted(rows, key=key)
    if cursor is not None:
        after = (cursor.created_at, cursor.id)
        ordered = [row for row in ordered if key(row) > after]
    return ordered[:limit]


def insert(table: dict[K, T], key: K, row: T) -> None:
    if key in table:
        raise Conflict("already exists")
    table[key] = row


def replace(table: dict[K, T], key: K, row: T, what: str) -> None:
    if key not in table:
        raise NotFound(f"{what} not found")
    table[key] = row


def overwrite(table: dict[K, S], key: K, changed: S, fields: Sequence[str], what: str) -> None:
    """Copies `fields` of `changed` onto the row at `key`, as an UPDATE that sets only
    those columns would; NotFound naming `what` when there is no such row."""
    current = table.get(key)
    if current is None:
        raise NotFound(f"{what} not found")
    table[key] = msgspec.structs.replace(current, **{f: getattr(changed, f) for f in fields})


def require(table: Mapping[K, object], key: K, what: str) -> None:
    if key not in table:
        raise NotFound(f"a referenced {what} does not exist")
