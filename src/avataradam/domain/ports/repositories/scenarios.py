"""Persistence port of a dealership's own roleplay scenarios (built-ins live in code)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor


class ScenarioRepository(Protocol):
    """Own scenarios of a dealership, keyed by UUID, paged by (created_at, id).

    A deleted scenario keeps its row (`deleted_at` set): only `get(...,
    include_deleted=True)` finds it, so a conversation that practised it still has its
    persona. A live scenario's slug is unique in its dealership: `add` and `update`
    raise ScenarioSlugTaken when another live one has it.
    """

    async def add(self, scenario: Scenario) -> None: ...
    async def get(
        self, scenario_id: UUID, *, dealership_id: UUID | None, include_deleted: bool = False
    ) -> Scenario | None:
        """The scenario when it is `dealership_id`'s (None: any dealership's, for a super
        admin), else None."""
        ...

    async def update(self, scenario: Scenario) -> None:
        """Writes every field but `id`, `dealership_id`, `created_at` and `deleted_at` of
        the live scenario; NotFound when it is missing, deleted or another dealership's."""
        ...

    async def delete(self, scenario_id: UUID, *, dealership_id: UUID, at: datetime) -> bool:
        """Marks the live scenario deleted at `at`; False when there is none to delete."""
        ...

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        product: Product | None = None,
        difficulty: int | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Scenario]:
        """Live scenarios matching the filters, oldest first, after `cursor`."""
        ...
