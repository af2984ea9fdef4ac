"""Roleplay scenarios: the built-in library plus a dealership's own, read by everyone of
the dealership, written by its admins (built-ins are read-only: ScenarioReadOnly).

`scenario_id` strings: a built-in's slug, or an own scenario's UUID (see
`domain/model/scenarios.py`). An own scenario's slug may not be a built-in's, nor that
of another live scenario of the dealership (ScenarioSlugTaken). Deleting one is soft: a
conversation that practised it still plays its customer (`practised_persona`).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.access import Principal, dealership_scope, require_role
from avataradam.domain.errors import (
    InvalidInput,
    NotFound,
    ScenarioReadOnly,
    ScenarioSlugTaken,
)
from avataradam.domain.idempotency import Answer, IdempotentRequest, first_answer
from avataradam.domain.model import Conversation, Language, Role
from avataradam.domain.model.scenarios import (
    MAX_CONCERNS_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_DIFFICULTY,
    MAX_LINE_CHARS,
    MAX_OBJECTIVE_CHARS,
    MAX_OBJECTIVES,
    MAX_OPENING_LINES,
    MAX_PERSONA_NAME_CHARS,
    MAX_SCRIPT_LINES,
    MAX_TITLE_CHARS,
    MAX_TRAIT_CHARS,
    MAX_TRAITS,
    MIN_DIFFICULTY,
    Product,
    Scenario,
    is_slug,
)
from avataradam.domain.pagination import Cursor
from avataradam.domain.personas import CustomerPersona, PersonaLines
from avataradam.domain.ports.repositories.uow import UnitOfWork, UnitOfWorkFactory
from avataradam.domain.ports.system import Clock, IdGenerator
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.scenarios import (
    BUILT_IN,
    KNOWN_RUBRIC_IDS,
    built_in,
    built_in_page,
)


class PersonaDraft(msgspec.Struct, frozen=True, kw_only=True):
    """The customer of an own scenario (`CustomerPersona` without its slug)."""

    name: str
    description: str
    traits: tuple[str, ...] = ()
    concerns: str = ""
    opening_lines: tuple[str, ...]
    script: tuple[str, ...]
    translations: dict[str, PersonaLines] = msgspec.field(default_factory=dict)


class ScenarioDraft(msgspec.Struct, frozen=True, kw_only=True):
    slug: str
    title: str
    product: Product
    difficulty: int
    persona: PersonaDraft
    objectives: tuple[str, ...]
    rubric_id: str = FI_OFFICE_RUBRIC_ID
    dealership_id: UUID | None = None


class ScenarioChanges(msgspec.Struct, frozen=True, kw_only=True):
    """None keeps a field; `persona` and `objectives` are replaced whole."""

    slug: str | None = None
    title: str | None = None
    product: Product | None = None
    difficulty: int | None = None
    persona: PersonaDraft | None = None
    objectives: tuple[str, ...] | None = None
    rubric_id: str | None = None


def _text(value: str, field: str, max_chars: int) -> str:
    """`value` stripped; InvalidInput when blank, longer than `max_chars` or holding NUL
    (PostgreSQL text cannot)."""
    stripped = value.strip()
    if not stripped or len(stripped) > max_chars or "\x00" in stripped:
        raise InvalidInput(
            f"{field} must be 1 to {max_chars} characters of text without NUL characters",
            field=field,
        )
    return stripped


def _texts(
    values: tuple[str, ...], field: str, *, at_least: int, at_most: int, max_chars: int
) -> tuple[str, ...]:
    if not at_least <= len(values) <= at_most:
        raise InvalidInput(f"{field} needs {at_least} to {at_most} entries", field=field)
    return tuple(_text(value, field, max_chars) for value in values)


def _lines(values: tuple[str, ...], field: str, at_most: int) -> tuple[str, ...]:
    return _texts(values, field, at_least=1, at_most=at_most, max_chars=MAX_LINE_CHARS)


def _persona(slug: str, draft: PersonaDraft) -> CustomerPersona:
    translations: dict[str, PersonaLines] = {}
    for language, lines in draft.translations.items():
        field = f"persona.translations.{language}"
        if language not in {lang.value for lang in Language} or language == Language.EN:
            raise InvalidInput("translations are keyed by a language other than en", field=field)
        translations[language] = PersonaLines(
            opening_lines=_lines(lines.opening_lines, f"{field}.opening_lines", MAX_OPENING_LINES),
            script=_lines(lines.script, f"{field}.script", MAX_SCRIPT_LINES),
        )
    concerns = draft.concerns.strip()
    return CustomerPersona(
        scenario=slug,
        name=_text(draft.name, "persona.name", MAX_PERSONA_NAME_CHARS),
        description=_text(draft.description, "persona.description", MAX_DESCRIPTION_CHARS),
        traits=_texts(
            draft.traits,
            "persona.traits",
            at_least=0,
            at_most=MAX_TRAITS,
            max_chars=MAX_TRAIT_CHARS,
        ),
        concerns=_text(concerns, "persona.concerns", MAX_CONCERNS_CHARS) if concerns else "",
        opening_lines=_lines(draft.opening_lines, "persona.opening_lines", MAX_OPENING_LINES),
        script=_lines(draft.script, "persona.script", MAX_SCRIPT_LINES),
        translations=translations,
    )


def _slug(slug: str) -> str:
    if not is_slug(slug):
        raise InvalidInput(
            "slug is 2 to 64 lowercase letters, digits or _, starting with a letter",
            field="slug",
        )
    if slug in BUILT_IN:
        raise ScenarioSlugTaken("a built-in scenario has this slug", field="slug")
    return slug


def _checked(scenario: Scenario) -> Scenario:
    """InvalidInput unless difficulty, rubric and objectives keep the service's rules."""
    if not MIN_DIFFICULTY <= scenario.difficulty <= MAX_DIFFICULTY:
        raise InvalidInput(
            f"difficulty is {MIN_DIFFICULTY} to {MAX_DIFFICULTY}", field="difficulty"
        )
    if scenario.rubric_id not in KNOWN_RUBRIC_IDS:
        raise InvalidInput(
            f"unknown rubric; choose one of {', '.join(sorted(KNOWN_RUBRIC_IDS))}",
            field="rubric_id",
        )
    return msgspec.structs.replace(
        scenario,
        title=_text(scenario.title, "title", MAX_TITLE_CHARS),
        objectives=_texts(
            scenario.objectives,
            "objectives",
            at_least=1,
            at_most=MAX_OBJECTIVES,
            max_chars=MAX_OBJECTIVE_CHARS,
        ),
    )


async def find_scenario(
    uow: UnitOfWork, scenario_id: str, *, dealership_id: UUID | None, include_deleted: bool = False
) -> Scenario | None:
    """The built-in with slug `scenario_id`, or the dealership's own scenario with that
    UUID; None for anything else (another dealership's included)."""
    found = built_in(scenario_id)
    if found is not None or dealership_id is None:
        return found
    try:
        key = UUID(scenario_id)
    except ValueError:
        return None
    return await uow.scenarios.get(
        key, dealership_id=dealership_id, include_deleted=include_deleted
    )


async def practised_persona(uow: UnitOfWork, conversation: Conversation) -> CustomerPersona:
    """The customer of the scenario a roleplay practises, even if it was deleted since;
    a roleplay stored without one plays the library's first customer."""
    key = conversation.scenario_id or conversation.scenario
    found = None
    if key:
        found = await find_scenario(
            uow, key, dealership_id=conversation.dealership_id, include_deleted=True
        )
    return (found or next(iter(BUILT_IN.values()))).persona


class ScenarioUseCases:
    """List, read, create, update and delete scenarios (one object: they share rules)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, ids: IdGenerator) -> None:
        self._uow, self._clock, self._ids = uow, clock, ids

    async def list(
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

    async def get(
        self, principal: Principal, scenario_id: str, *, dealership_id: UUID | None = None
    ) -> Scenario:
        found = built_in(scenario_id)
        if found is None:
            scope = dealership_scope(principal, dealership_id)
            async with self._uow(read_only=True) as uow:
                found = await find_scenario(uow, scenario_id, dealership_id=scope)
        if found is None:
            raise NotFound("scenario not found")
        return found

    async def create(
        self, principal: Principal, draft: ScenarioDraft, *, idempotency_key: str | None = None
    ) -> Answer[Scenario]:
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        scope = dealership_scope(principal, draft.dealership_id)
        slug = _slug(draft.slug)
        now = self._clock.now()
        scenario = _checked(
            Scenario(
                id=self._ids.new_id(),
                dealership_id=scope,
                slug=slug,
                title=draft.title,
                product=draft.product,
                difficulty=draft.difficulty,
                persona=_persona(slug, draft.persona),
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
            await uow.scenarios.add(scenario)
            await uow.commit()
        return Answer(value=scenario)

    async def _own(
        self, principal: Principal, scenario_id: str, dealership_id: UUID | None
    ) -> tuple[UUID, UUID]:
        """(dealership, scenario key) of an own scenario an admin may change."""
        require_role(principal, Role.SUPER_ADMIN, Role.DEALERSHIP_ADMIN)
        if built_in(scenario_id) is not None:
            raise ScenarioReadOnly(
                "built-in scenarios are read-only; create an own scenario instead",
                scenario_id=scenario_id,
            )
        scope = dealership_scope(principal, dealership_id)
        try:
            return scope, UUID(scenario_id)
        except ValueError:
            raise NotFound("scenario not found") from None

    async def update(
        self,
        principal: Principal,
        scenario_id: str,
        changes: ScenarioChanges,
        *,
        dealership_id: UUID | None = None,
    ) -> Scenario:
        scope, key = await self._own(principal, scenario_id, dealership_id)
        async with self._uow() as uow:
            current = await uow.scenarios.get(key, dealership_id=scope)
            if current is None:
                raise NotFound("scenario not found")
            slug = current.slug if changes.slug in (None, current.slug) else _slug(changes.slug)
            persona = (
                _persona(slug, changes.persona)
                if changes.persona is not None
                else msgspec.structs.replace(current.persona, scenario=slug)
            )
            updated = _checked(
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
            await uow.scenarios.update(updated)
            await uow.commit()
        return updated

    async def delete(
        self, principal: Principal, scenario_id: str, *, dealership_id: UUID | None = None
    ) -> None:
        scope, key = await self._own(principal, scenario_id, dealership_id)
        async with self._uow() as uow:
            if not await uow.scenarios.delete(key, dealership_id=scope, at=self._clock.now()):
                raise NotFound("scenario not found")
            await uow.commit()
