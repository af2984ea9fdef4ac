"""Rubrics a roleplay session is scored against (DESIGN "The training product"): the
built-ins and a dealership's own (`domain/training/authoring.py` states the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from avataradam.domain.training import authoring as rules
from avataradam.domain.usecases.rubrics import RubricEntry
from avataradam.entrypoints.http.schemas.common import DealershipId

RubricId = Annotated[
    str,
    msgspec.Meta(
        pattern=rules.RUBRIC_ID_PATTERN,
        examples=["our-fi-office"],
        description=(
            "2 to 64 lowercase letters, digits, `_` or `-`, starting with a letter; unique "
            "in the dealership and no built-in rubric's id."
        ),
    ),
]
CheckId = Annotated[
    str,
    msgspec.Meta(
        pattern=rules.CHECK_ID_PATTERN,
        examples=["offered_test_drive"],
        description="1 to 64 lowercase letters, digits or `_`, starting with a letter.",
    ),
]
Uses = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=rules.MAX_USES_CHARS,
        examples=["fi-office/stated_optional"],
        description="`<built-in rubric id>/<check id>`: that built-in check, whole.",
    ),
]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=rules.MAX_TITLE_CHARS)]
Advice = Annotated[str, msgspec.Meta(max_length=rules.MAX_ADVICE_CHARS)]
CheckDescription = Annotated[
    str, msgspec.Meta(min_length=1, max_length=rules.MAX_CHECK_DESCRIPTION_CHARS)
]
Exemplar = Annotated[str, msgspec.Meta(min_length=1, max_length=rules.MAX_EXEMPLAR_CHARS)]
Weight = Annotated[float, msgspec.Meta(ge=0, le=rules.MAX_WEIGHT)]


class RubricCheckBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Either `uses` (a built-in check, optionally with its own `id`, `description`,
    `advice`) or an exemplars-only check: `id`, `description`, `exemplars`. No regular
    expressions: see docs/rubrics.md."""

    uses: Uses | None = None
    id: CheckId | None = None
    description: CheckDescription | None = None
    exemplars: Annotated[list[Exemplar], msgspec.Meta(max_length=rules.MAX_EXEMPLARS)] = (
        msgspec.field(default_factory=list)
    )
    """Phrasings (English or Spanish) a trainee sentence is compared with by meaning."""
    question: bool = False
    """The matching sentence must be a question."""
    forbidden: bool = False
    """A prohibition: it fails when a sentence says what an exemplar says."""
    advice: Advice = ""


class RubricCriterionBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: CheckId
    title: Title
    weight: Weight
    """Its share of `overall`; at least one criterion that is no blocker weighs above 0."""
    blocker: bool = False
    """Compliance: one failed check fails the session whatever the score."""
    advice: Advice = ""
    checks: Annotated[
        list[RubricCheckBody], msgspec.Meta(min_length=1, max_length=rules.MAX_CHECKS)
    ]


class RubricDraftBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One version of an own rubric, whole."""

    title: Title
    description: Annotated[str, msgspec.Meta(max_length=rules.MAX_DESCRIPTION_CHARS)] = ""
    criteria: Annotated[
        list[RubricCriterionBody], msgspec.Meta(min_length=1, max_length=rules.MAX_CRITERIA)
    ]


class RubricVersionCreate(RubricDraftBody, frozen=True, forbid_unknown_fields=True, kw_only=True):
    dealership_id: DealershipId | None = None


class RubricCreate(RubricVersionCreate, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: RubricId


def draft_of(body: RubricDraftBody) -> rules.RubricDraft:
    """The domain draft of a request body (`id` and `dealership_id` are not in it)."""
    return msgspec.convert(msgspec.to_builtins(body), rules.RubricDraft)


class RubricCheckOut(msgspec.Struct, frozen=True):
    id: str
    description: str
    """The yes/no question the check answers about the trainee's words."""
    needs_evidence: bool
    """True: it passes (or, for a compliance check, fails) only on a verbatim quote."""


class RubricCriterionOut(msgspec.Struct, frozen=True):
    id: str
    title: str
    weight: float
    """Its share of `overall` (0 for a blocker: blockers decide pass/fail, not points)."""
    blocker: bool
    """A compliance criterion: one failed check fails the session whatever the score."""
    advice: str
    checks: list[RubricCheckOut]


class RubricOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    version: int
    """Immutable: a change to a rubric is a new version; scorecards keep theirs."""
    versions: list[int]
    """Every version of this rubric, oldest first."""
    built_in: bool
    """A rubric of the product (read-only), or the dealership's own."""
    title: str
    description: str
    criteria: list[RubricCriterionOut]
    draft: RubricDraftBody | None = None
    """An own rubric's version as its admin wrote it: edit it into the next version."""
    created_at: datetime | None = None
    """When an own rubric's version was published."""


def rubric_out(entry: RubricEntry) -> RubricOut:
    rubric = entry.rubric
    return RubricOut(
        id=rubric.id,
        version=rubric.version,
        versions=list(entry.versions),
        built_in=entry.built_in,
        title=rubric.title,
        description=rubric.description,
        criteria=[
            RubricCriterionOut(
                id=c.id,
                title=c.title,
                weight=c.weight,
                blocker=c.blocker,
                advice=c.advice,
                checks=[
                    RubricCheckOut(
                        id=k.id, description=k.description, needs_evidence=k.needs_evidence
                    )
                    for k in c.checks
                ],
            )
            for c in rubric.criteria
        ],
        draft=None
        if entry.draft is None
        else msgspec.convert(msgspec.to_builtins(entry.draft), RubricDraftBody),
        created_at=entry.created_at,
    )
