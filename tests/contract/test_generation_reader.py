"""GenerationReader contract: the committed generation, at once, from the source of truth."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from avataradam.adapters.memory.identity import InMemoryGenerationReader
from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.postgres.database import PostgresDatabase
from avataradam.adapters.postgres.identity import PostgresGenerationReader
from avataradam.adapters.postgres.uow import PostgresUnitOfWorkFactory
from avataradam.domain.ports.repositories.identity import GenerationReader
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.vectors import ActiveVectors, KnowledgeBaseState
from tests.contract.builders import seed


@pytest.fixture(params=["memory", "postgres"])
async def pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[UnitOfWorkFactory, GenerationReader]]:
    if request.param == "memory":
        store = InMemoryStore()
        yield InMemoryUnitOfWorkFactory(store), InMemoryGenerationReader(store)
        return
    database = PostgresDatabase(
        request.getfixturevalue("contract_database_url"),
        min_size=1,
        max_size=2,
        command_timeout_s=10,
        statement_cache_size=100,
    )
    await database.start()
    yield PostgresUnitOfWorkFactory(database), PostgresGenerationReader(database)
    await database.close()


async def test_a_committed_bump_is_read_at_once_and_an_uncommitted_one_never(
    pair: tuple[UnitOfWorkFactory, GenerationReader],
) -> None:
    uow, generations = pair
    dealership, _ = await seed(uow)
    assert await generations.state(dealership.id) == KnowledgeBaseState(generation=0)
    async with uow() as work:
        await work.dealerships.bump_generation(dealership.id)
        assert await generations.state(dealership.id) == KnowledgeBaseState(generation=0)
        await work.commit()
    assert await generations.state(dealership.id) == KnowledgeBaseState(generation=1)


async def test_a_switch_of_vectors_is_read_with_the_generation_it_bumps(
    pair: tuple[UnitOfWorkFactory, GenerationReader],
) -> None:
    uow, generations = pair
    dealership, _ = await seed(uow)
    async with uow() as work:
        await work.dealerships.record_vector_profile(dealership.id, "hashing:none")
        await work.dealerships.record_vector_profile(dealership.id, "e5:none")  # kept first
        await work.commit()
    assert await generations.state(dealership.id) == KnowledgeBaseState(
        generation=0, vectors=ActiveVectors(generation=0, profile="hashing:none")
    )
    async with uow() as work:
        locked = await work.dealerships.vectors_for_update(dealership.id)
        assert locked == ActiveVectors(generation=0, profile="hashing:none")
        switched = ActiveVectors(generation=1, profile="e5:title_section")
        assert await work.dealerships.switch_vectors(dealership.id, switched) == 1
        await work.commit()
    assert await generations.state(dealership.id) == KnowledgeBaseState(
        generation=1, vectors=ActiveVectors(generation=1, profile="e5:title_section")
    )
    async with uow(read_only=True) as work:
        assert "e5:title_section" in await work.dealerships.vector_profiles()


async def test_an_unknown_dealership_has_no_generation(
    pair: tuple[UnitOfWorkFactory, GenerationReader],
) -> None:
    _, generations = pair
    assert await generations.state(uuid.uuid4()) is None
