"""Persistence port of a dealership's own rubric versions (built-ins live in code)."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from avataradam.domain.model.rubrics import RubricVersions, StoredRubric


class RubricRepository(Protocol):
    """Own rubric versions keyed by (dealership_id, rubric_id, version); append-only:
    a stored version is never changed or removed."""

    async def add(self, version: StoredRubric) -> bool:
        """Stores `version`; False (nothing written) when the dealership already has
        that rubric id at that version (a concurrent publication won)."""
        ...

    async def get(
        self, *, dealership_id: UUID, rubric_id: str, version: int | None
    ) -> StoredRubric | None:
        """That version (None: the highest) of the dealership's rubric, else None."""
        ...

    async def versions(self, *, dealership_id: UUID, rubric_id: str) -> list[int]:
        """The stored versions of the dealership's rubric, ascending (empty: none)."""
        ...

    async def list_latest(self, *, dealership_id: UUID) -> list[RubricVersions]:
        """Every own rubric of the dealership (its latest version), by id."""
        ...
