"""The built-in scenario library and the scenario use cases on in-memory adapters:
what the library holds, how built-ins and own scenarios share one list and one id
space, and the rules an admin's scenario must keep."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from avataradam.adapters.memory.store import InMemoryStore
from avataradam.adapters.memory.uow import InMemoryUnitOfWorkFactory
from avataradam.adapters.system import UuidGenerator
from avataradam.domain.access import Principal
from avataradam.domain.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    ScenarioReadOnly,
    ScenarioSlugTaken,
)
from avataradam.domain.model import Dealership, Role
from avataradam.domain.model.scenarios import Product, Scenario, is_slug
from avataradam.domain.pagination import Cursor
from avataradam.domain.personas import PERSONAS
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.scenarios import BUILT_IN, built_in_page
from avataradam.domain.usecases.scenario_rules import PersonaDraft, ScenarioChanges, ScenarioDraft
from avataradam.domain.usecases.scenarios import ScenarioUseCases
from tests.support.fakes import ManualClock

SITUATIONS = {
    "price_focused": "price objection",
    "tire_wheel_think_about_it": "I'll think about it",
    "theft_protection_insurance_covers": "my insurance covers it",
    "payment_focused": "payment-focused",
    "appearance_spouse_not_present": "spouse not present",
    "prepaid_maintenance_cash_buyer": "cash buyer",
    "gap_negative_equity": "negative equity",
    "vsc_bad_claim_experience": "previous bad claim",
}


def test_the_library_covers_every_product_and_situation_with_complete_scenarios() -> None:
    assert len(BUILT_IN) >= 12
    assert {s.product for s in BUILT_IN.values()} >= set(Product) - {Product.MENU}
    assert set(SITUATIONS) <= set(BUILT_IN)
    for slug, scenario in BUILT_IN.items():
        assert is_slug(slug), slug
        assert scenario.public_id == scenario.slug == scenario.persona.scenario == slug
        assert scenario.built_in
        assert 1 <= scenario.difficulty <= 3, slug
        assert len(scenario.objectives) >= 3, slug
        assert scenario.rubric_id == FI_OFFICE_RUBRIC_ID
        assert scenario.persona.opening_lines, slug
        assert len(scenario.persona.script) >= 3, slug
        assert set(scenario.persona.translations) == {"es"}, slug
    assert {s.difficulty for s in BUILT_IN.values()} == {1, 2, 3}


def test_the_five_personas_of_roleplay_are_built_ins_under_their_keys() -> None:
    for key, persona in PERSONAS.items():
        assert BUILT_IN[key].persona == persona
    assert list(BUILT_IN)[: len(PERSONAS)] == list(PERSONAS)


def test_built_in_ids_are_stable_and_page_in_library_order() -> None:
    assert BUILT_IN["skeptical"].id == uuid.uuid5(
        uuid.UUID("5b0f8a9e-3c1d-4e7a-9a26-7f6f2d1c0b17"), "skeptical"
    )
    slugs, cursor = [], None
    while page := built_in_page(cursor=cursor, limit=5):
        slugs += [s.slug for s in page]
        cursor = Cursor(created_at=page[-1].created_at, id=page[-1].id)
    assert slugs == list(BUILT_IN)
    gap = built_in_page(product=Product.GAP, difficulty=2, cursor=None, limit=50)
    assert gap
    assert all(s.product is Product.GAP and s.difficulty == 2 for s in gap)


def test_no_slug_has_the_shape_of_a_uuid() -> None:
    assert not is_slug(str(uuid.uuid4()))
    assert not is_slug("Upper_case")
    assert not is_slug("x")
    assert is_slug("gap_first_time_buyer")


ADMIN_ID, DEALERSHIP_ID = uuid.uuid4(), uuid.uuid4()
ADMIN = Principal(user_id=ADMIN_ID, role=Role.DEALERSHIP_ADMIN, dealership_id=DEALERSHIP_ID)
USER = Principal(user_id=uuid.uuid4(), role=Role.USER, dealership_id=DEALERSHIP_ID)
ROOT = Principal(user_id=uuid.uuid4(), role=Role.SUPER_ADMIN, dealership_id=None)


def draft(slug: str = "first_time_buyer", **changes: object) -> ScenarioDraft:
    persona = PersonaDraft(
        name="Lee",
        description="a first-time buyer",
        traits=("nervous",),
        opening_lines=("Is this required?",),
        script=("What if I say no?",),
    )
    fields: dict[str, object] = {
        "slug": slug,
        "title": "First-time buyer",
        "product": Product.GAP,
        "difficulty": 1,
        "persona": persona,
        "objectives": ("Say GAP is optional.",),
    }
    return ScenarioDraft(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture
async def scenarios() -> ScenarioUseCases:
    uow = InMemoryUnitOfWorkFactory(InMemoryStore())
    clock = ManualClock()
    async with uow() as work:
        await work.dealerships.add(
            Dealership(
                id=DEALERSHIP_ID,
                name="Lakeside",
                active=True,
                knowledge_base_generation=0,
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        await work.commit()
    return ScenarioUseCases(uow, clock, UuidGenerator())


async def all_pages(scenarios: ScenarioUseCases, principal: Principal, limit: int) -> list[str]:
    """Walks the list as the HTTP layer does (limit + 1, cursor on the last kept)."""
    slugs: list[str] = []
    cursor: Cursor | None = None
    while True:
        rows = await scenarios.list(principal, cursor=cursor, limit=limit + 1)
        slugs += [s.slug for s in rows[:limit]]
        if len(rows) <= limit:
            return slugs
        last = rows[limit - 1]
        cursor = Cursor(created_at=last.created_at, id=last.id)


async def test_built_ins_then_own_scenarios_page_through_every_boundary(
    scenarios: ScenarioUseCases,
) -> None:
    created = [(await scenarios.create(ADMIN, draft(f"own_{n}"))).value for n in range(5)]
    # Oldest first; the clock stands still here, so the id breaks the ties.
    own = [s.slug for s in sorted(created, key=lambda s: (s.created_at, s.id))]
    for limit in (1, 3, 4, len(BUILT_IN), len(BUILT_IN) + 1, 50):
        assert await all_pages(scenarios, USER, limit) == [*BUILT_IN, *own], limit
    assert await all_pages(scenarios, ROOT, 5) == list(BUILT_IN)


async def test_admins_write_own_scenarios_and_nobody_writes_built_ins(
    scenarios: ScenarioUseCases,
) -> None:
    created = (await scenarios.create(ADMIN, draft("lee"))).value
    assert created.public_id == str(created.id)
    assert (await scenarios.get(USER, created.public_id)) == created
    assert (await scenarios.get(USER, "skeptical")) == BUILT_IN["skeptical"]
    with pytest.raises(PermissionDenied) as refused:
        await scenarios.create(USER, draft("by_user"))
    assert type(refused.value) is PermissionDenied
    for write in (
        scenarios.update(ADMIN, "skeptical", ScenarioChanges(title="Mine")),
        scenarios.delete(ADMIN, "skeptical"),
        scenarios.delete(ROOT, "skeptical"),
    ):
        with pytest.raises(ScenarioReadOnly):
            await write
    renamed = await scenarios.update(
        ADMIN, created.public_id, ScenarioChanges(slug="lee_renamed", difficulty=3)
    )
    assert renamed == msgspec.structs.replace(
        created,
        slug="lee_renamed",
        difficulty=3,
        persona=msgspec.structs.replace(created.persona, scenario="lee_renamed"),
        updated_at=renamed.updated_at,
    )
    await scenarios.delete(ADMIN, created.public_id)
    with pytest.raises(NotFound):
        await scenarios.get(USER, created.public_id)
    with pytest.raises(NotFound):
        await scenarios.get(USER, "not_a_scenario")


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"slug": "payment_focused"}, ScenarioSlugTaken, "slug"),
        ({"slug": "Has Spaces"}, InvalidInput, "slug"),
        ({"difficulty": 0}, InvalidInput, "difficulty"),
        ({"rubric_id": "made-up"}, InvalidInput, "rubric_id"),
        ({"title": " \t"}, InvalidInput, "title"),
        ({"objectives": ()}, InvalidInput, "objectives"),
        ({"objectives": ("x" * 301,)}, InvalidInput, "objectives"),
        (
            {
                "persona": PersonaDraft(
                    name="Lee", description="d", opening_lines=("Hi",), script=()
                )
            },
            InvalidInput,
            "persona.script",
        ),
        (
            {
                "persona": PersonaDraft(
                    name="Lee\x00",
                    description="d",
                    opening_lines=("Hi",),
                    script=("No",),
                )
            },
            InvalidInput,
            "persona.name",
        ),
    ],
)
async def test_a_scenario_breaking_a_rule_is_refused_naming_the_field(
    scenarios: ScenarioUseCases, changes: dict[str, object], error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as refused:
        await scenarios.create(ADMIN, draft(**({"slug": "rule_breaker"} | changes)))  # type: ignore[arg-type]
    assert getattr(refused.value, "details", {}).get("field") == field


async def test_an_own_scenario_is_invisible_to_another_dealership(
    scenarios: ScenarioUseCases,
) -> None:
    created = (await scenarios.create(ADMIN, draft("private"))).value
    stranger = Principal(
        user_id=uuid.uuid4(), role=Role.DEALERSHIP_ADMIN, dealership_id=uuid.uuid4()
    )
    with pytest.raises(NotFound):
        await scenarios.get(stranger, created.public_id)
    with pytest.raises(NotFound):
        await scenarios.update(stranger, created.public_id, ScenarioChanges(title="Mine"))
    with pytest.raises(NotFound):
        await scenarios.delete(stranger, created.public_id)
    assert isinstance(await scenarios.get(USER, created.public_id), Scenario)
