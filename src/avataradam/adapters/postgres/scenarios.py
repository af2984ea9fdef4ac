"""A dealership's own roleplay scenarios in PostgreSQL (migration 0017)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    insert,
    page_after,
    page_params,
    params,
    select,
)
from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor

_SCENARIO = columns(
    "id, dealership_id, slug, title, product, difficulty, persona, objectives, rubric_id,"
    " created_at, updated_at, deleted_at"
)
_SELECT = select("scenarios", _SCENARIO)
_INSERT = insert("scenarios", _SCENARIO)
_CHANGED = columns(
    "id, dealership_id, slug, title, product, difficulty, persona, objectives,"
    " rubric_id, updated_at"
)


class PostgresScenarioRepository(ConnectionRepository):
    @translate
    async def add(self, scenario: Scenario) -> None:
        await self._conn.execute(_INSERT, *params(scenario, _SCENARIO))

    @translate
    async def get(
        self, scenario_id: UUID, *, dealership_id: UUID | None, include_deleted: bool = False
    ) -> Scenario | None:
        return await self._one(
            Scenario,
            f"{_SELECT} WHERE id = $1 AND ($2::uuid IS NULL OR dealership_id = $2)"
            " AND ($3 OR deleted_at IS NULL)",
            scenario_id,
            dealership_id,
            include_deleted,
        )

    @translate
    async def update(self, scenario: Scenario) -> None:
        await self._update_one(
            "UPDATE scenarios SET slug = $3, title = $4, product = $5, difficulty = $6,"
            " persona = $7, objectives = $8, rubric_id = $9, updated_at = $10"
            " WHERE id = $1 AND dealership_id = $2 AND deleted_at IS NULL",
            params(scenario, _CHANGED),
            "scenario",
        )

    @translate
    async def delete(self, scenario_id: UUID, *, dealership_id: UUID, at: datetime) -> bool:
        status = await self._conn.execute(
            "UPDATE scenarios SET deleted_at = $3"
            " WHERE id = $1 AND dealership_id = $2 AND deleted_at IS NULL",
            scenario_id,
            dealership_id,
            at,
        )
        return affected_rows(status) == 1

    @translate
    async def list_page(
        self,
        *,
        dealership_id: UUID,
        product: Product | None = None,
        difficulty: int | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Scenario]:
        return await self._all(
            Scenario,
            f"{_SELECT} WHERE dealership_id = $1 AND deleted_at IS NULL"
            " AND ($2::text IS NULL OR product = $2) AND ($3::smallint IS NULL OR difficulty = $3)"
            f" AND {page_after(4, cursor)}",
            dealership_id,
            None if product is None else product.value,
            difficulty,
            *page_params(cursor, limit),
        )
