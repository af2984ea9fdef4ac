"""The built-in scenario library: every customer a trainee can practise on without a
dealership writing one (content in `library.py`, Spanish lines in `library_es.py` and
`domain/personas_es.py`).

Built-ins are identified by their slug (`scenario_id: "gap_negative_equity"`); the
first five slugs are the persona keys of roleplay before scenarios, so the old
`{"mode": "roleplay", "scenario": "price_focused"}` resolves here too: one mechanism.
Every built-in is scored against the F&I office rubric (`FI_OFFICE_RUBRIC_ID`).

For paging together with a dealership's own scenarios (keyset over `(created_at, id)`),
a built-in's `created_at` is the Unix epoch plus its library position in seconds (so
built-ins come first, in library order) and its `id` a UUID5 of its slug.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID, uuid5

import msgspec

from avataradam.domain.errors import InvalidInput
from avataradam.domain.model.scenarios import Product, Scenario
from avataradam.domain.pagination import Cursor
from avataradam.domain.personas import CustomerPersona, PersonaLines
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.domain.training.library import ENTRIES, LibraryEntry
from avataradam.domain.training.library_es import LIBRARY_SPANISH_LINES

BUILT_IN_NAMESPACE: Final = UUID("5b0f8a9e-3c1d-4e7a-9a26-7f6f2d1c0b17")
"""The UUID5 namespace of built-in scenarios' storage ids (never change it)."""
BUILT_IN_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

KNOWN_RUBRIC_IDS: Final = frozenset({FI_OFFICE_RUBRIC_ID})
"""Built-in rubrics a scenario may name; a dealership's own scenario may name its own
rubrics too (`usecases.scenario_rules.require_rubric`)."""


def _persona(entry: LibraryEntry) -> CustomerPersona:
    persona = entry.persona
    if "es" in persona.translations:
        return persona
    opening, script = LIBRARY_SPANISH_LINES[persona.scenario]
    return msgspec.structs.replace(
        persona, translations={"es": PersonaLines(opening_lines=opening, script=script)}
    )


def _built_in(position: int, entry: LibraryEntry) -> Scenario:
    slug = entry.persona.scenario
    at = BUILT_IN_EPOCH + timedelta(seconds=position)
    return Scenario(
        id=uuid5(BUILT_IN_NAMESPACE, slug),
        dealership_id=None,
        slug=slug,
        title=entry.title,
        product=entry.product,
        difficulty=entry.difficulty,
        persona=_persona(entry),
        objectives=entry.objectives,
        rubric_id=FI_OFFICE_RUBRIC_ID,
        created_at=at,
        updated_at=at,
    )


BUILT_IN: Final[dict[str, Scenario]] = {
    scenario.slug: scenario
    for scenario in (_built_in(position, entry) for position, entry in enumerate(ENTRIES))
}
"""The library by slug, in library order."""


def built_in(slug: str) -> Scenario | None:
    return BUILT_IN.get(slug)


def persona_for(scenario: str) -> CustomerPersona:
    """The persona of built-in `scenario` (a slug, the legacy `scenario` key of a
    roleplay); InvalidInput on `scenario` naming the valid slugs otherwise."""
    found = BUILT_IN.get(scenario)
    if found is None:
        raise InvalidInput(
            f"unknown roleplay scenario; choose one of {', '.join(sorted(BUILT_IN))}",
            field="scenario",
        )
    return found.persona


def built_in_page(
    *,
    product: Product | None = None,
    difficulty: int | None = None,
    cursor: Cursor | None,
    limit: int,
) -> list[Scenario]:
    """Built-ins matching the filters after `cursor`, in library order, at most `limit`."""
    after = None if cursor is None else (cursor.created_at, cursor.id)
    return [
        s
        for s in BUILT_IN.values()
        if (product is None or s.product is product)
        and (difficulty is None or s.difficulty == difficulty)
        and (after is None or (s.created_at, s.id) > after)
    ][:limit]
