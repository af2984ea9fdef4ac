"""In-memory twin of the scenario repository; see `adapters/postgres/scenarios.py`."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from avataradam.adapters.memory.rows import insert, page, require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.errors import NotFound, ScenarioSlugTaken
from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor


def _require_free_slug(t: Tables, scenario: Scenario) -> None:
    """The partial unique index (dealership_id, slug) WHERE deleted_at IS NULL."""
    for other in t.scenarios.values():
        if (
            other.id != scenario.id
            and other.deleted_at is None
            and other.dealership_id == scenario.dealership_id
            and other.slug == scenario.slug
        ):
            raise ScenarioSlugTaken(
                "another scenario of this dealership has this slug", field="slug"
            )


class InMemoryScenarioRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, scenario: Scenario) -> None:
        dealership_id = scenario.dealership_id
        if dealership_id is None:
            raise ValueError("built-in scenarios are not stored")

        def op(t: Tables) -> None:
            require(t.dealerships, dealership_id, "dealership")
            _require_free_slug(t, scenario)
            insert(t.scenarios, scenario.id, scenario)

        self._tx.write(op)

    async def get(
        self, scenario_id: UUID, *, dealership_id: UUID | None, include_deleted: bool = False
    ) -> Scenario | None:
        found = self._tx.tables.scenarios.get(scenario_id)
        if found is None or dealership_id not in (None, found.dealership_id):
            return None
        if found.deleted_at is not None and not include_deleted:
            return None
        return found

    async def update(self, scenario: Scenario) -> None:
        def op(t: Tables) -> None:
            current = t.scenarios.get(scenario.id)
            if (
                current is None
                or current.deleted_at is not None
                or current.dealership_id != scenario.dealership_id
            ):
                raise NotFound("scenario not found")
            _require_free_slug(t, scenario)
            t.scenarios[scenario.id] = msgspec.structs.replace(
                scenario, created_at=current.created_at, deleted_at=None
            )

        self._tx.write(op)

    async def delete(self, scenario_id: UUID, *, dealership_id: UUID, at: datetime) -> bool:
        def op(t: Tables) -> bool:
            current = t.scenarios.get(scenario_id)
            if (
                current is None
                or current.deleted_at is not None
                or current.dealership_id != dealership_id
            ):
                return False
            t.scenarios[scenario_id] = msgspec.structs.replace(current, deleted_at=at)
            return True

        return self._tx.write(op, replay_must_agree=True)

    async def list_page(
        self,
        *,
        dealership_id: UUID,
        product: Product | None = None,
        difficulty: int | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Scenario]:
        rows = [
            s
            for s in self._tx.tables.scenarios.values()
            if s.dealership_id == dealership_id
            and s.deleted_at is None
            and (product is None or s.product is product)
            and (difficulty is None or s.difficulty == difficulty)
        ]
        return page(rows, lambda s: (s.created_at, s.id), cursor, limit)
