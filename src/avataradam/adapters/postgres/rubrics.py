"""A dealership's own rubric versions in PostgreSQL (migration 0019), append-only."""

from __future__ import annotations

from uuid import UUID

from avataradam.adapters.postgres.errors import affected_rows, translate
from avataradam.adapters.postgres.rows import (
    ConnectionRepository,
    columns,
    from_row,
    insert,
    params,
    select,
)
from avataradam.domain.model.rubrics import RubricVersions, StoredRubric

_VERSION = columns("dealership_id, rubric_id, version, body, created_at, created_by")
_SELECT = select("rubric_versions", _VERSION)
_INSERT = insert("rubric_versions", _VERSION)


class PostgresRubricRepository(ConnectionRepository):
    @translate
    async def add(self, version: StoredRubric) -> bool:
        status = await self._conn.execute(
            f"{_INSERT} ON CONFLICT (dealership_id, rubric_id, version) DO NOTHING",
            *params(version, _VERSION),
        )
        return affected_rows(status) == 1

    @translate
    async def get(
        self, *, dealership_id: UUID, rubric_id: str, version: int | None
    ) -> StoredRubric | None:
        return await self._one(
            StoredRubric,
            f"{_SELECT} WHERE dealership_id = $1 AND rubric_id = $2"
            " AND ($3::integer IS NULL OR version = $3) ORDER BY version DESC LIMIT 1",
            dealership_id,
            rubric_id,
            version,
        )

    @translate
    async def versions(self, *, dealership_id: UUID, rubric_id: str) -> list[int]:
        rows = await self._conn.fetch(
            "SELECT version FROM rubric_versions WHERE dealership_id = $1 AND rubric_id = $2"
            " ORDER BY version",
            dealership_id,
            rubric_id,
        )
        return [int(row["version"]) for row in rows]

    @translate
    async def list_latest(self, *, dealership_id: UUID) -> list[RubricVersions]:
        rows = await self._conn.fetch(
            "SELECT DISTINCT ON (rubric_id) dealership_id, rubric_id, version, body,"
            " created_at, created_by,"
            " array(SELECT v.version FROM rubric_versions v WHERE v.dealership_id = r.dealership_id"
            " AND v.rubric_id = r.rubric_id ORDER BY v.version) AS versions"
            " FROM rubric_versions r WHERE dealership_id = $1"
            " ORDER BY rubric_id, version DESC",
            dealership_id,
        )
        return [
            RubricVersions(
                latest=from_row(StoredRubric, row),  # `versions` is no field: ignored
                versions=tuple(row["versions"]),
            )
            for row in rows
        ]
