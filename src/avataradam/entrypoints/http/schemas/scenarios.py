"""Bodies of roleplay scenarios: the built-in library and a dealership's own."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from avataradam.domain.model import Language
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
    SLUG_PATTERN,
    Product,
)
from avataradam.domain.training import FI_OFFICE_RUBRIC_ID
from avataradam.entrypoints.http.schemas.common import DealershipId

Line = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LINE_CHARS)]
OpeningLines = Annotated[list[Line], msgspec.Meta(min_length=1, max_length=MAX_OPENING_LINES)]
Script = Annotated[list[Line], msgspec.Meta(min_length=1, max_length=MAX_SCRIPT_LINES)]
Slug = Annotated[
    str,
    msgspec.Meta(
        pattern=SLUG_PATTERN,
        examples=["gap_first_time_buyer"],
        description="2 to 64 lowercase letters, digits or `_`, starting with a letter.",
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE_CHARS)]
Difficulty = Annotated[
    int,
    msgspec.Meta(
        ge=MIN_DIFFICULTY,
        le=MAX_DIFFICULTY,
        description="1: one objection, cooperative; 3: several objections, hostile.",
    ),
]
Objectives = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_OBJECTIVE_CHARS)]],
    msgspec.Meta(min_length=1, max_length=MAX_OBJECTIVES),
]
RubricId = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=[FI_OFFICE_RUBRIC_ID])]


class PersonaLinesBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The customer's script in one language: first lines, then lines to come back to."""

    opening_lines: OpeningLines
    script: Script


class PersonaBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Who the avatar plays. A generative model plays `description`, `traits` and the
    objections `concerns` steers retrieval to; the extractive model (no generative model
    configured) says `opening_lines`, then `script` lines between quotes from the
    dealership's objection-handling documents."""

    name: Annotated[
        str, msgspec.Meta(min_length=1, max_length=MAX_PERSONA_NAME_CHARS, examples=["Lee"])
    ]
    description: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_DESCRIPTION_CHARS,
            examples=["a first-time buyer with a thin credit file and a tight budget"],
        ),
    ]
    traits: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TRAIT_CHARS)]],
        msgspec.Meta(max_length=MAX_TRAITS),
    ] = msgspec.field(default_factory=list)
    concerns: Annotated[str, msgspec.Meta(max_length=MAX_CONCERNS_CHARS)] = ""
    """Words of the objections this customer raises (steers retrieval)."""
    opening_lines: OpeningLines
    script: Script
    """English lines; Spanish ones in `translations.es`."""
    translations: dict[Language, PersonaLinesBody] = msgspec.field(default_factory=dict)
    """The script in another language (`es`), for a roleplay held in it."""
    voice_gender: Literal["male", "female"] | None = None
    """The kind of voice the customer speaks with when replies are spoken; null: any
    voice of the speech engine (GET /v1/speech/voices)."""


class ScenarioCreate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    slug: Slug
    title: Title
    product: Product
    difficulty: Difficulty
    persona: PersonaBody
    objectives: Objectives
    """What the trainee should accomplish, in a trainer's words."""
    rubric_id: RubricId = FI_OFFICE_RUBRIC_ID
    dealership_id: DealershipId | None = None


class ScenarioUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Absent fields are kept; `persona` and `objectives` are replaced whole."""

    slug: Slug | None = None
    title: Title | None = None
    product: Product | None = None
    difficulty: Difficulty | None = None
    persona: PersonaBody | None = None
    objectives: Objectives | None = None
    rubric_id: RubricId | None = None


class PersonaOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str
    traits: list[str]
    concerns: str
    opening_lines: list[str]
    script: list[str]
    translations: dict[Language, PersonaLinesBody]
    languages: list[Language]
    """Values of a roleplay's `language` this customer has a script in."""
    voice_gender: Literal["male", "female"] | None = None


class TrainingScenarioOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    """Built-in: its slug. The dealership's own: its UUID. Pass it as a roleplay's
    `scenario_id`."""
    slug: str
    title: str
    product: Product
    difficulty: int
    persona: PersonaOut
    objectives: list[str]
    rubric_id: str
    built_in: bool
    """Built-ins belong to the library: read-only for everyone."""
