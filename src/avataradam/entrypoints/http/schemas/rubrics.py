"""Rubrics a roleplay session is scored against (DESIGN "The training product")."""

from __future__ import annotations

import msgspec

from avataradam.domain.training.rubrics import Rubric


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


class RubricOut(msgspec.Struct, frozen=True):
    id: str
    version: int
    """Immutable: a change to a rubric is a new version; scorecards keep theirs."""
    versions: list[int]
    """Every version of this rubric, oldest first."""
    title: str
    description: str
    criteria: list[RubricCriterionOut]


def rubric_out(rubric: Rubric, versions: list[int]) -> RubricOut:
    return RubricOut(
        id=rubric.id,
        version=rubric.version,
        versions=versions,
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
    )
