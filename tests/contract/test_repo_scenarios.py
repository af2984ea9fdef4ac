"""Contract of the scenario repository (a dealership's own scenarios), run against every
adapter: scoping by dealership, soft deletion, slug uniqueness among live scenarios,
filters and keyset paging, and the conversation's `scenario_id` round trip.

The PostgreSQL database is shared by the whole session: every test makes its own
dealership and ids. Fixtures are in `conftest.py`, builders in `builders.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import uuid4

import msgspec
import pytest

from avataradam.domain.errors import NotFound, ScenarioSlugTaken
from avataradam.domain.model import ConversationMode
from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor
from avataradam.domain.personas import CustomerPersona, PersonaLines
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from tests.contract.builders import NOW, collect_pages, conversation, seed


async def committed(uow: UnitOfWorkFactory, write: Callable[[UnitOfWork], Awaitable[None]]) -> None:
    async with uow() as work:
        await write(work)
        await work.commit()


def scenario(
    dealership_id: object,
    slug: str = "first_time_buyer",
    *,
    product: Product = Product.GAP,
    difficulty: int = 2,
    minutes: int = 0,
) -> Scenario:
    at = NOW + timedelta(minutes=minutes)
    return Scenario(
        id=uuid4(),
        dealership_id=dealership_id,  # type: ignore[arg-type]
        slug=slug,
        title="First-time buyer, thin credit file",
        product=product,
        difficulty=difficulty,
        persona=CustomerPersona(
            scenario=slug,
            name="Lee",
            description="a first-time buyer with a tight budget",
            traits=("nervous", "asks many questions"),
            concerns="GAP budget first car objection",
            opening_lines=("Is all of this really necessary?",),
            script=("What happens if I say no?", "How much per month?"),
            translations={
                "es": PersonaLines(
                    opening_lines=("¿De verdad necesito todo esto?",),
                    script=("¿Qué pasa si digo que no?", "¿Cuánto es al mes?"),
                )
            },
        ),
        objectives=("Ask about the budget.", "Say that GAP is optional."),
        rubric_id="fi-office",
        created_at=at,
        updated_at=at,
    )


async def test_a_scenario_round_trips_whole_and_only_in_its_dealership(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    s = scenario(d.id)
    async with uow() as work:
        await work.scenarios.add(s)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.scenarios.get(s.id, dealership_id=d.id) == s
        assert await work.scenarios.get(s.id, dealership_id=other.id) is None
        assert await work.scenarios.get(s.id, dealership_id=None) == s  # any dealership's
        assert await work.scenarios.get(uuid4(), dealership_id=d.id) is None


async def test_a_deleted_scenario_is_found_only_when_asked_and_frees_its_slug(
    uow: UnitOfWorkFactory,
) -> None:
    d, _ = await seed(uow)
    s = scenario(d.id, "cash_deal")
    later = NOW + timedelta(hours=1)
    async with uow() as work:
        await work.scenarios.add(s)
        await work.commit()
    async with uow() as work:
        assert not await work.scenarios.delete(s.id, dealership_id=uuid4(), at=later)
        assert await work.scenarios.delete(s.id, dealership_id=d.id, at=later)
        await work.commit()
    async with uow() as work:
        assert not await work.scenarios.delete(s.id, dealership_id=d.id, at=later)
        assert await work.scenarios.get(s.id, dealership_id=d.id) is None
        kept = await work.scenarios.get(s.id, dealership_id=d.id, include_deleted=True)
        assert kept == msgspec.structs.replace(s, deleted_at=later)
        with pytest.raises(NotFound):
            await work.scenarios.update(msgspec.structs.replace(s, title="Revived"))
        await work.scenarios.add(scenario(d.id, "cash_deal"))  # the slug is free again
        await work.commit()
    async with uow(read_only=True) as work:
        page = await work.scenarios.list_page(dealership_id=d.id, cursor=None, limit=10)
    assert [row.slug for row in page] == ["cash_deal"]
    assert page[0].id != s.id


async def test_a_live_slug_is_unique_per_dealership(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    other, _ = await seed(uow)
    first = scenario(d.id, "spouse_at_home")
    async with uow() as work:
        await work.scenarios.add(first)
        await work.scenarios.add(scenario(other.id, "spouse_at_home"))
        await work.commit()
    with pytest.raises(ScenarioSlugTaken):
        await committed(uow, lambda work: work.scenarios.add(scenario(d.id, "spouse_at_home")))
    second = scenario(d.id, "another_one", minutes=1)
    async with uow() as work:
        await work.scenarios.add(second)
        await work.commit()
    taken = msgspec.structs.replace(second, slug="spouse_at_home")
    with pytest.raises(ScenarioSlugTaken):
        await committed(uow, lambda work: work.scenarios.update(taken))


async def test_update_writes_the_fields_an_admin_changes(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    s = scenario(d.id)
    async with uow() as work:
        await work.scenarios.add(s)
        await work.commit()
    changed = msgspec.structs.replace(
        s,
        slug="renamed",
        title="Renamed",
        product=Product.KEY_REPLACEMENT,
        difficulty=3,
        persona=msgspec.structs.replace(s.persona, name="Max", scenario="renamed"),
        objectives=("Only one now.",),
        updated_at=NOW + timedelta(days=1),
    )
    async with uow() as work:
        await work.scenarios.update(changed)
        await work.commit()
    async with uow(read_only=True) as work:
        assert await work.scenarios.get(s.id, dealership_id=d.id) == changed
    with pytest.raises(NotFound):
        async with uow() as work:
            await work.scenarios.update(msgspec.structs.replace(changed, dealership_id=uuid4()))


async def test_pages_follow_creation_order_and_filters(uow: UnitOfWorkFactory) -> None:
    d, _ = await seed(uow)
    made = [
        scenario(
            d.id,
            f"scenario_{n}",
            product=Product.VSC if n % 2 else Product.GAP,
            difficulty=1 + n % 3,
            minutes=n,
        )
        for n in range(7)
    ]
    async with uow() as work:
        for s in reversed(made):
            await work.scenarios.add(s)
        await work.commit()

    async def fetch(
        cursor: Cursor | None, limit: int, product: Product | None = None
    ) -> list[Scenario]:
        async with uow(read_only=True) as work:
            return await work.scenarios.list_page(
                dealership_id=d.id, product=product, cursor=cursor, limit=limit
            )

    def key(s: Scenario) -> Cursor:
        return Cursor(created_at=s.created_at, id=s.id)

    assert [s.slug for s in await collect_pages(fetch, 2, key)] == [s.slug for s in made]
    vsc = await collect_pages(lambda c, n: fetch(c, n, Product.VSC), 2, key)
    assert [s.slug for s in vsc] == [s.slug for s in made if s.product is Product.VSC]
    async with uow(read_only=True) as work:
        hard = await work.scenarios.list_page(
            dealership_id=d.id, difficulty=3, cursor=None, limit=10
        )
    assert [s.slug for s in hard] == [s.slug for s in made if s.difficulty == 3]


async def test_a_conversation_keeps_the_scenario_it_practised(uow: UnitOfWorkFactory) -> None:
    d, u = await seed(uow)
    s = scenario(d.id)
    roleplay = msgspec.structs.replace(
        conversation(d, u),
        mode=ConversationMode.ROLEPLAY,
        scenario=s.slug,
        scenario_id=str(s.id),
    )
    async with uow() as work:
        await work.scenarios.add(s)
        await work.conversations.add(roleplay)
        await work.commit()
    async with uow(read_only=True) as work:
        stored = await work.conversations.get(roleplay.id, dealership_id=d.id, user_id=u.id)
    assert stored == roleplay
    assert stored is not None
    assert stored.scenario_id == str(s.id)


async def test_a_scenario_of_a_missing_dealership_is_refused(uow: UnitOfWorkFactory) -> None:
    with pytest.raises(NotFound):
        await committed(uow, lambda work: work.scenarios.add(scenario(uuid4())))
