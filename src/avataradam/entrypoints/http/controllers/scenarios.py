"""Roleplay scenarios: the built-in library and the dealership's own."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.personas import PersonaLines
from avataradam.domain.usecases.scenario_rules import PersonaDraft, ScenarioChanges, ScenarioDraft
from avataradam.entrypoints.container import Container
from avataradam.entrypoints.http.idempotency import REPLAYED_HEADER, answered
from avataradam.entrypoints.http.openapi import problems
from avataradam.entrypoints.http.pagination import list_page
from avataradam.entrypoints.http.params import CursorParam, IdempotencyKey, Limit
from avataradam.entrypoints.http.schemas.common import ListResponse, to_out
from avataradam.entrypoints.http.schemas.scenarios import (
    PersonaBody,
    PersonaOut,
    ScenarioCreate,
    ScenarioUpdate,
    TrainingScenarioOut,
)
from avataradam.entrypoints.http.security import SECURITY, CurrentPrincipal

ScenarioId = Annotated[
    str,
    PathParameter(
        max_length=100,
        description="A built-in scenario's slug (`price_focused`) or an own scenario's UUID.",
    ),
]
DealershipParam = FromQuery[UUID | None]


def scenario_out(scenario: Scenario) -> TrainingScenarioOut:
    persona = scenario.persona
    return to_out(
        scenario,
        TrainingScenarioOut,
        id=scenario.public_id,
        built_in=scenario.built_in,
        persona=to_out(persona, PersonaOut, languages=["en", *sorted(persona.translations)]),
    )


def _draft(body: PersonaBody) -> PersonaDraft:
    return PersonaDraft(
        name=body.name,
        description=body.description,
        traits=tuple(body.traits),
        concerns=body.concerns,
        opening_lines=tuple(body.opening_lines),
        script=tuple(body.script),
        translations={
            language.value: PersonaLines(
                opening_lines=tuple(lines.opening_lines), script=tuple(lines.script)
            )
            for language, lines in body.translations.items()
        },
        voice_gender=body.voice_gender,
    )


class ScenarioController(Controller):
    path = "/v1/scenarios"
    tags = ["scenarios"]
    security = SECURITY

    @get(
        # listScenarios is GET /v1/conversations/scenarios's, kept for existing clients.
        operation_id="listScenarioLibrary",
        summary="List roleplay scenarios",
        description=(
            "The built-in library (library order) then the dealership's own scenarios "
            "(oldest first), cursor-paginated; filter by `product` and `difficulty`. A "
            "super admin passes `dealership_id` to see a dealership's own ones too."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def list_scenarios(
        self,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
        product: FromQuery[Product | None] = None,
        difficulty: Annotated[int | None, QueryParameter(ge=1, le=3)] = None,
        cursor: CursorParam = None,
        limit: Limit = None,
    ) -> ListResponse[TrainingScenarioOut]:
        return await list_page(
            partial(
                container.scenarios.list,
                principal,
                dealership_id=dealership_id,
                product=product,
                difficulty=difficulty,
            ),
            cursor,
            limit,
            render=scenario_out,
        )

    @get(
        "/{scenario_id:str}",
        operation_id="getScenario",
        summary="Read a scenario",
        description="A built-in by its slug, or one of the dealership's own by its UUID.",
        responses=problems(400, 403, 404, 422),
    )
    async def read(
        self,
        scenario_id: ScenarioId,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> TrainingScenarioOut:
        found = await container.scenarios.get(principal, scenario_id, dealership_id=dealership_id)
        return scenario_out(found)

    @post(
        operation_id="createScenario",
        summary="Create an own scenario",
        description=(
            "A customer persona of the dealership's own, with its product, difficulty, "
            "objectives and rubric (`fi-office`, or one of the dealership's own rubrics: 422 "
            "when it has none of that id). `slug` is unique among "
            "the dealership's live scenarios and may not be a built-in's (409 "
            "`scenario_slug_taken`). With an `Idempotency-Key`, repeats replay the first "
            "answer. Admins only."
        ),
        response_headers=[REPLAYED_HEADER],
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def create(
        self,
        data: JSONBody[ScenarioCreate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[TrainingScenarioOut]:
        answer = await container.scenarios.create(
            principal,
            ScenarioDraft(
                slug=data.slug,
                title=data.title,
                product=data.product,
                difficulty=data.difficulty,
                persona=_draft(data.persona),
                objectives=tuple(data.objectives),
                rubric_id=data.rubric_id,
                dealership_id=data.dealership_id,
            ),
            idempotency_key=idempotency_key,
        )
        return answered(answer, scenario_out(answer.value), HTTP_201_CREATED)

    @patch(
        "/{scenario_id:str}",
        operation_id="updateScenario",
        summary="Update an own scenario",
        description=(
            "Absent fields are kept; `persona` and `objectives` are replaced whole. "
            "Conversations already started play the updated customer from their next turn. "
            "Built-ins are read-only (403 `scenario_read_only`). Admins only."
        ),
        responses=problems(400, 403, 404, 409, 413, 422),
    )
    async def update(
        self,
        scenario_id: ScenarioId,
        data: JSONBody[ScenarioUpdate],
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> TrainingScenarioOut:
        changes = ScenarioChanges(
            slug=data.slug,
            title=data.title,
            product=data.product,
            difficulty=data.difficulty,
            persona=None if data.persona is None else _draft(data.persona),
            objectives=None if data.objectives is None else tuple(data.objectives),
            rubric_id=data.rubric_id,
        )
        updated = await container.scenarios.update(
            principal, scenario_id, changes, dealership_id=dealership_id
        )
        return scenario_out(updated)

    @delete(
        "/{scenario_id:str}",
        operation_id="deleteScenario",
        summary="Delete an own scenario",
        description=(
            "It is no longer listed, read or startable, and its slug is free again; "
            "conversations that practised it keep it (their customer goes on, their "
            "`scenario_id` stays). Built-ins are read-only (403 `scenario_read_only`). "
            "Admins only."
        ),
        responses=problems(400, 403, 404, 422),
    )
    async def remove(
        self,
        scenario_id: ScenarioId,
        principal: CurrentPrincipal,
        container: NamedDependency[Container],
        dealership_id: DealershipParam = None,
    ) -> None:
        await container.scenarios.delete(principal, scenario_id, dealership_id=dealership_id)
