"""In-memory twin of the rubric version repository; see `adapters/postgres/rubrics.py`."""

from __future__ import annotations

from uuid import UUID

from avataradam.adapters.memory.rows import require
from avataradam.adapters.memory.store import InMemoryTransaction, Tables
from avataradam.domain.model.rubrics import RubricVersions, StoredRubric


class InMemoryRubricRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, version: StoredRubric) -> bool:
        key = (version.dealership_id, version.rubric_id, version.version)

        def op(t: Tables) -> bool:
            require(t.dealerships, version.dealership_id, "dealership")
            if key in t.rubric_versions:
                return False
            t.rubric_versions[key] = version
            return True

        return self._tx.write(op, replay_must_agree=True)

    def _versions(self, dealership_id: UUID, rubric_id: str) -> list[int]:
        return sorted(
            v
            for (d, r, v) in self._tx.tables.rubric_versions
            if d == dealership_id and r == rubric_id
        )

    async def get(
        self, *, dealership_id: UUID, rubric_id: str, version: int | None
    ) -> StoredRubric | None:
        if version is None:
            versions = self._versions(dealership_id, rubric_id)
            if not versions:
                return None
            version = versions[-1]
        return self._tx.tables.rubric_versions.get((dealership_id, rubric_id, version))

    async def versions(self, *, dealership_id: UUID, rubric_id: str) -> list[int]:
        return self._versions(dealership_id, rubric_id)

    async def list_latest(self, *, dealership_id: UUID) -> list[RubricVersions]:
        ids = sorted({r for (d, r, _) in self._tx.tables.rubric_versions if d == dealership_id})
        found: list[RubricVersions] = []
        for rubric_id in ids:
            versions = self._versions(dealership_id, rubric_id)
            latest = self._tx.tables.rubric_versions[(dealership_id, rubric_id, versions[-1])]
            found.append(RubricVersions(latest=latest, versions=tuple(versions)))
        return found
