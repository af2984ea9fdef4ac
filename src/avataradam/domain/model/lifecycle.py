"""Lifecycles: the legal moves of an entity's status, in one table per entity.

An entity with a status (a document today; conversations and sessions next:
active -> completed -> scored) declares its `Lifecycle` once, and every method that
changes the status asks it first: `lifecycle.check("ready", self.status)` returns the
status to move to or raises `IllegalTransition`. The table is data, so a test can walk
every (transition, status) pair (tests/unit/test_document_lifecycle.py does).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from avataradam.domain.errors import IllegalTransition

S = TypeVar("S", bound=enum.Enum)


class Lifecycle(Generic[S]):
    """Named transitions of an entity, each from a set of statuses to one status (None:
    the status stays, e.g. a progress report)."""

    def __init__(self, entity: str, moves: Mapping[str, tuple[Iterable[S], S | None]]) -> None:
        self.entity = entity
        self.moves: dict[str, tuple[frozenset[S], S | None]] = {
            name: (frozenset(sources), target) for name, (sources, target) in moves.items()
        }

    def allows(self, transition: str, status: S) -> bool:
        return status in self.moves[transition][0]

    def check(self, transition: str, status: S) -> S:
        """The status `transition` leads to from `status`; raises IllegalTransition
        (details: entity, transition, status) if it may not be taken from there."""
        sources, target = self.moves[transition]
        if status not in sources:
            raise IllegalTransition(
                f"a {status.value} {self.entity} cannot be {transition}",
                entity=self.entity,
                transition=transition,
                status=status.value,
            )
        return status if target is None else target
