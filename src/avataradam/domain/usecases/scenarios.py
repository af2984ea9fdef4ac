"""Roleplay scenarios: the built-in library plus a dealership's own, read by everyone of
the dealership, written by its admins (built-ins are read-only: ScenarioReadOnly).

Rules of what an admin writes, and the resolution of a `scenario_id`, are in
`scenario_rules.py`. Deleting an own scenario is soft: a conversation that practised it
still plays its customer (`scenario_rules.practised_persona`).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import NotFound, ScenarioReadOnly
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import Role
from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor
from avataradam.domain.ports.repositories.uow import UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.training.scenarios import built_in, built_in_page
from avataradam.domain.usecases.scenario_rules import (
    ScenarioChanges,
    ScenarioDraft,
    checked,
    find_scenario,
    own_slug,
    persona_of,
    require_rubric,
)


def _scope(principal: Principal, dealership_id: UUID | None) -> UUID | None:
    """Whose own scenarios `principal` reaches by id: a super admin's without a
    `dealership_id` are any dealership's (None), as documents and webhooks are."""
    if principal.is_super_admin and dealership_id is None:
        return None
    return dealership_scope(principal, dealership_id)


def _own(
    principal: Principal, scenario_id: str, dealership_id: UUID | None
) -> tuple[UUID | None, UUID]:
    """(dealership scope, scenario key) of an own scenario an admin may change:
    PermissionDenied for other roles, ScenarioReadOnly for a built-in, NotFound for
    what is no UUID."""
    require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
    if built_in(scenario_id) is not None:
        raise ScenarioReadOnly(
            "built-in scenarios are read-only; create an own scenario instead",
            scenario_id=scenario_id,
        )
    scope = _scope(principal, dealership_id)
    try:
        return scope, UUID(scenario_id)
    except ValueError:
        raise NotFound("scenario not found") from None


class ListScenarios:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self,
        principal: Principal,
        *,
        dealership_id: UUID | None = None,
        product: Product | None = None,
        difficulty: int | None = None,
        cursor: Cursor | None,
        limit: int,
    ) -> list[Scenario]:
        """Built-ins (library order), then the dealership's own (oldest first). A super
        admin without `dealership_id` sees the built-ins only."""
        rows = built_in_page(product=product, difficulty=difficulty, cursor=cursor, limit=limit)
        if len(rows) >= limit or (principal.is_super_admin and dealership_id is None):
            return rows
        scope = dealership_scope(principal, dealership_id)
        async with self._uow(read_only=True) as uow:
            own = await uow.scenarios.list_page(
                dealership_id=scope,
                product=product,
                difficulty=difficulty,
                cursor=cursor if not rows else None,
                limit=limit - len(rows),
            )
        return rows + own


class GetScenario:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def __call__(
        self, principal: Principal, scenario_id: str, *, dealership_id: UUID | None = None
    ) -> Scenario:
        found = built_in(scenario_id)
        if found is None:
            scope = _scope(principal, dealership_id)
            async with self._uow(read_only=True) as uow:
                found = await find_scenario(uow, scenario_id, dealership_id=scope)
        if found is None:
            raise NotFound("scenario not found")
        return found


class CreateScenario:
    """An own scenario of the dealership. With an idempotency key (the caller's own),
    repeats replay the first answer instead of creating another one."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def __call__(
        self, principal: Principal, draft: ScenarioDraft, *, idempotency_key: str | None = None
    ) -> Answer[Scenario]:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, draft.dealership_id)
        slug = own_slug(draft.slug)
        now = self._clock.now()
        scenario = checked(
            Scenario(
                id=self._ids.new_id(),
                dealership_id=scope,
                slug=slug,
                title=draft.title,
                product=draft.product,
                difficulty=draft.difficulty,
                persona=persona_of(slug, draft.persona),
                objectives=draft.objectives,
                rubric_id=draft.rubric_id,
                created_at=now,
                updated_at=now,
            )
        )
        request = IdempotentRequest.of(f"scenarios:{principal.user_id}", idempotency_key, draft)
        async with self._uow() as uow:
            replay = await first_answer(uow, request, scenario, status_code=201, now=now)
            if replay is not None:
                return replay
            if await uow.dealerships.get(scope) is None:
                raise NotFound("dealership not found")
            await require_rubric(uow, scope, scenario.rubric_id)
            await uow.scenarios.add(scenario)
            await uow.commit()
        return Answer(value=scenario)


class UpdateScenario:
    """Changes an own scenario: absent (None) fields are kept, `persona` and
    `objectives` replaced whole. Conversations practising it play the new customer from
    their next turn."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self,
        principal: Principal,
        scenario_id: str,
        changes: ScenarioChanges,
        *,
        dealership_id: UUID | None = None,
    ) -> Scenario:
        scope, key = _own(principal, scenario_id, dealership_id)
        async with self._uow() as uow:
            current = await uow.scenarios.get(key, dealership_id=scope)
            if current is None:
                raise NotFound("scenario not found")
            slug = current.slug if changes.slug in (None, current.slug) else own_slug(changes.slug)
            persona = (
                persona_of(slug, changes.persona)
                if changes.persona is not None
                else msgspec.structs.replace(current.persona, scenario=slug)
            )
            updated = checked(
                msgspec.structs.replace(
                    current,
                    slug=slug,
                    title=current.title if changes.title is None else changes.title,
                    product=current.product if changes.product is None else changes.product,
                    difficulty=current.difficulty
                    if changes.difficulty is None
                    else changes.difficulty,
                    persona=persona,
                    objectives=current.objectives
                    if changes.objectives is None
                    else changes.objectives,
                    rubric_id=current.rubric_id if changes.rubric_id is None else changes.rubric_id,
                    updated_at=self._clock.now(),
                )
            )
            if changes.rubric_id is not None and current.dealership_id is not None:
                await require_rubric(uow, current.dealership_id, changes.rubric_id)
            await uow.scenarios.update(updated)
            await uow.commit()
        return updated


class DeleteScenario:
    """Soft-deletes an own scenario (see `ScenarioRepository`); NotFound when it is not
    a live one of the dealership."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow, self._clock = uow, clock

    async def __call__(
        self, principal: Principal, scenario_id: str, *, dealership_id: UUID | None = None
    ) -> None:
        scope, key = _own(principal, scenario_id, dealership_id)
        async with self._uow() as uow:
            current = await uow.scenarios.get(key, dealership_id=scope)
            owner = None if current is None else current.dealership_id
            if owner is None or not await uow.scenarios.delete(
                key, dealership_id=owner, at=self._clock.now()
            ):
                raise NotFound("scenario not found")
            await uow.commit()


class ScenarioUseCases:
    """The scenario use cases, wired together (the container holds this one object)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self.list = ListScenarios(uow)
        self.get = GetScenario(uow)
        self.create = CreateScenario(uow, clock, ids)
        self.update = UpdateScenario(uow, clock)
        self.delete = DeleteScenario(uow, clock)
