"""Contract of the rubric version repository (a dealership's own rubrics), run against
every adapter: versions round trip whole, `None` reads the highest, a taken version is
refused without a change, listing shows each rubric's latest with every version, and
nothing crosses dealerships. PostgreSQL also refuses any UPDATE of a stored version.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.model.rubrics import RubricBody, StoredRubric
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.training.authoring import CheckDraft, CriterionDraft, RubricDraft, compose
from avataradam.domain.training.builtin import BUILT_IN_RUBRICS
from tests.contract.builders import NOW, seed


def version(
    dealership_id: object, rubric_id: str, number: int, title: str = "Ours"
) -> StoredRubric:
    draft = RubricDraft(
        title=title,
        criteria=(
            CriterionDraft(
                id="discovery",
                title="Discovery",
                weight=number,
                checks=(CheckDraft(uses="fi-office/asked_budget"),),
            ),
        ),
    )
    rubric = compose(draft, rubric_id=rubric_id, version=number, built_in=BUILT_IN_RUBRICS)
    return StoredRubric(
        dealership_id=dealership_id,  # type: ignore[arg-type]
        rubric_id=rubric_id,
        version=number,
        body=RubricBody(draft=draft, rubric=rubric),
        created_at=NOW + timedelta(minutes=number),
        created_by=dealership_id,  # type: ignore[arg-type]
    )


async def test_versions_round_trip_and_none_reads_the_highest(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    first, second = version(d.id, "ours", 1), version(d.id, "ours", 2, "Ours, v2")
    async with uow() as work:
        assert await work.rubrics.add(first)
        assert await work.rubrics.add(second)
        assert await work.rubrics.add(version(d.id, "another", 1))
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.rubrics.get(dealership_id=d.id, rubric_id="ours", version=1) == first
        assert await work.rubrics.get(dealership_id=d.id, rubric_id="ours", version=None) == second
        assert await work.rubrics.get(dealership_id=d.id, rubric_id="ours", version=3) is None
        assert await work.rubrics.get(dealership_id=other.id, rubric_id="ours", version=1) is None
        assert await work.rubrics.versions(dealership_id=d.id, rubric_id="ours") == [1, 2]
        assert await work.rubrics.versions(dealership_id=other.id, rubric_id="ours") == []
        listed = await work.rubrics.list_latest(dealership_id=d.id)
        assert [(r.latest, r.versions) for r in listed] == [
            (version(d.id, "another", 1), (1,)),
            (second, (1, 2)),
        ]
        assert await work.rubrics.list_latest(dealership_id=other.id) == []


async def test_a_taken_version_is_refused_and_keeps_the_first(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    async with uow() as work:
        assert await work.rubrics.add(version(d.id, "ours", 1))
        await work.commit()
    async with uow() as work:
        assert not await work.rubrics.add(version(d.id, "ours", 1, "Overwritten?"))
        await work.commit()
    async with uow(read_only=True) as work:
        kept = await work.rubrics.get(dealership_id=d.id, rubric_id="ours", version=1)
    assert kept is not None
    assert kept.body.rubric.title == "Ours"


async def test_postgres_refuses_to_update_a_stored_version(
    contract_database_url: str, postgres_database: PostgresDatabase
) -> None:
    uow = PostgresUnitOfWorkFactory(postgres_database)
    d, _ = await seed(uow)
    async with uow() as work:
        await work.rubrics.add(version(d.id, "ours", 1))
        await work.commit()
    connection = await asyncpg.connect(contract_database_url)
    try:
        with pytest.raises(asyncpg.CheckViolationError, match="immutable"):
            await connection.execute(
                "UPDATE rubric_versions SET created_at = now() WHERE dealership_id = $1", d.id
            )
    finally:
        await connection.close()
