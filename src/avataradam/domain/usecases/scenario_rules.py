"""The rules of a scenario an admin writes, and how a `scenario_id` is resolved.

`scenario_id` strings: a built-in's slug, or an own scenario's UUID (see
`domain/model/scenarios.py`). An own scenario's slug may not be a built-in's, nor that
of another live scenario of the dealership (ScenarioSlugTaken, the latter raised by the
repository). Text is stripped and bounded by the limits of `domain/model/scenarios.py`.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from avataradam.domain.errors import InvalidInput, ScenarioSlugTaken
from avataradam.domain.model import Conversation, Language
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
from avataradam.domain.personas import CustomerPersona, PersonaLines
from avataradam.domain.ports.repositories.uow import UnitOfWork
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.scenarios import BUILT_IN, KNOWN_RUBRIC_IDS, built_in


class PersonaDraft(msgspec.Struct, frozen=True, kw_only=True):
    """The customer of an own scenario (`CustomerPersona` without its slug)."""

    name: str
    description: str
    traits: tuple[str, ...] = ()
    concerns: str = ""
    opening_lines: tuple[str, ...]
    script: tuple[str, ...]
    translations: dict[str, PersonaLines] = msgspec.field(default_factory=dict)
    voice_gender: str | None = None


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


def persona_of(slug: str, draft: PersonaDraft) -> CustomerPersona:
    """The customer of own scenario `slug`, its text checked; InvalidInput naming the
    field (`persona.name`, `persona.translations.es.script`, …) otherwise."""
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
        voice_gender=_voice_gender(draft.voice_gender),
    )


def _voice_gender(value: str | None) -> str | None:
    if value not in (None, "male", "female"):
        raise InvalidInput("voice_gender is male or female", field="persona.voice_gender")
    return value


def own_slug(slug: str) -> str:
    """`slug` when an own scenario may take it: InvalidInput when it is not a slug,
    ScenarioSlugTaken when a built-in has it."""
    if not is_slug(slug):
        raise InvalidInput(
            "slug is 2 to 64 lowercase letters, digits or _, starting with a letter",
            field="slug",
        )
    if slug in BUILT_IN:
        raise ScenarioSlugTaken("a built-in scenario has this slug", field="slug")
    return slug


def checked(scenario: Scenario) -> Scenario:
    """InvalidInput unless difficulty and objectives keep the service's rules (the
    rubric is `require_rubric`'s, which reads the store)."""
    if not MIN_DIFFICULTY <= scenario.difficulty <= MAX_DIFFICULTY:
        raise InvalidInput(
            f"difficulty is {MIN_DIFFICULTY} to {MAX_DIFFICULTY}", field="difficulty"
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


async def require_rubric(uow: UnitOfWork, dealership_id: UUID, rubric_id: str) -> None:
    """InvalidInput (`field: rubric_id`) unless `rubric_id` is a built-in rubric's or
    one of the dealership's own (`POST /v1/rubrics`)."""
    if rubric_id in KNOWN_RUBRIC_IDS:
        return
    if not await uow.rubrics.versions(dealership_id=dealership_id, rubric_id=rubric_id):
        raise InvalidInput(
            "unknown rubric; choose a built-in one"
            f" ({', '.join(sorted(KNOWN_RUBRIC_IDS))}) or one of the dealership's own",
            field="rubric_id",
        )


async def find_scenario(
    uow: UnitOfWork, scenario_id: str, *, dealership_id: UUID | None, include_deleted: bool = False
) -> Scenario | None:
    """The built-in with slug `scenario_id`, or the own scenario with that UUID of
    `dealership_id` (None: of any dealership, for a super admin); None for anything else
    (another dealership's included)."""
    found = built_in(scenario_id)
    if found is not None:
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
