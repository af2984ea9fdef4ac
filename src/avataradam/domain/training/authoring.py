"""A dealership's own rubric as its admin writes it, and the `Rubric` it composes to.

An admin never writes a regular expression: Python's `re` has no timeout, so one
pathological pattern (catastrophic backtracking) would stall the worker that scores
with it. A check of an own rubric is therefore either

- a **reference** to a built-in check, `uses: "<built-in rubric id>/<check id>"`
  (e.g. `fi-office/stated_optional`): it takes that check whole (patterns written and
  measured with the product, exemplars, context, negation handling, prohibition flag)
  from the built-in rubric's latest version at composition time, optionally with its
  own `id`, `description` and `advice`; or
- an **exemplars-only** check: `id`, `description` and 1 to `MAX_EXEMPLARS` phrasings
  (English or Spanish) a trainee sentence is compared with by embedding similarity
  (`RulesScorer.threshold`), optionally a `question`, or a prohibition (`forbidden`:
  it fails when a sentence says what an exemplar says; a sentence holding a negation
  does not count, as embeddings cannot tell "it's required" from "it's not").

`compose` checks the draft against the rules below (InvalidInput naming the field) and
answers the immutable `Rubric` that is stored with the version: a later change of a
built-in check never changes an own version that referenced it.
"""

from __future__ import annotations

import re
from typing import Final

import msgspec

from avataradam.domain.errors import InvalidInput
from avataradam.domain.training.rubrics import (
    Check,
    Criterion,
    Rubric,
    RubricRegistry,
    UnknownRubric,
)

RUBRIC_ID_PATTERN: Final = r"^[a-z][a-z0-9_-]{1,63}$"
"""An own rubric's id: 2 to 64 lowercase letters, digits, `_` or `-`, starting with a
letter; unique in its dealership and never a built-in rubric's id."""
CHECK_ID_PATTERN: Final = r"^[a-z][a-z0-9_]{0,63}$"
MAX_TITLE_CHARS: Final = 200
MAX_DESCRIPTION_CHARS: Final = 2000
MAX_CHECK_DESCRIPTION_CHARS: Final = 500
MAX_ADVICE_CHARS: Final = 1000
MAX_CRITERIA: Final = 20
MAX_CHECKS: Final = 20
"""Checks per criterion."""
MAX_EXEMPLARS: Final = 20
MAX_EXEMPLAR_CHARS: Final = 300
MAX_USES_CHARS: Final = 130
"""`<rubric id>/<check id>`: two ids of at most 64 characters and the slash."""
MAX_WEIGHT: Final = 100.0

_RUBRIC_ID = re.compile(RUBRIC_ID_PATTERN)
_CHECK_ID = re.compile(CHECK_ID_PATTERN)


class CheckDraft(msgspec.Struct, frozen=True, kw_only=True):
    """Either `uses` (a built-in check) or `id` + `description` + `exemplars`."""

    uses: str | None = None
    id: str | None = None
    description: str | None = None
    exemplars: tuple[str, ...] = ()
    question: bool = False
    forbidden: bool = False
    advice: str = ""


class CriterionDraft(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    weight: float
    blocker: bool = False
    advice: str = ""
    checks: tuple[CheckDraft, ...]


class RubricDraft(msgspec.Struct, frozen=True, kw_only=True):
    """One version of an own rubric as written (its id and version are the store's)."""

    title: str
    description: str = ""
    criteria: tuple[CriterionDraft, ...]


def check_rubric_id(rubric_id: str) -> str:
    """`rubric_id` when an own rubric may have it; InvalidInput for a malformed one.
    A built-in's id is refused by the caller (it is taken, not malformed)."""
    if not _RUBRIC_ID.fullmatch(rubric_id):
        raise InvalidInput(
            "id is 2 to 64 lowercase letters, digits, _ or -, starting with a letter",
            field="id",
        )
    return rubric_id


def _text(value: str, field: str, max_chars: int, *, required: bool = True) -> str:
    stripped = value.strip()
    if required and not stripped:
        raise InvalidInput(f"{field} may not be empty", field=field)
    if len(stripped) > max_chars:
        raise InvalidInput(f"{field} is at most {max_chars} characters", field=field)
    return stripped


def _check_id(value: str, field: str) -> str:
    if not _CHECK_ID.fullmatch(value):
        raise InvalidInput(
            f"{field} is 1 to 64 lowercase letters, digits or _, starting with a letter",
            field=field,
        )
    return value


def _used(draft: CheckDraft, field: str, built_in: RubricRegistry) -> tuple[Rubric, Check]:
    rubric_id, _, check_id = (draft.uses or "").partition("/")
    try:
        rubric = built_in.latest(rubric_id)
    except UnknownRubric:
        raise InvalidInput(
            f"{field}.uses names no built-in rubric; write <rubric id>/<check id>, e.g. "
            "fi-office/stated_optional",
            field=f"{field}.uses",
        ) from None
    found = next((check for _, check in rubric.checks() if check.id == check_id), None)
    if found is None:
        raise InvalidInput(
            f"{field}.uses names no check of {rubric.id} v{rubric.version}",
            field=f"{field}.uses",
        )
    return rubric, found


def _check(draft: CheckDraft, field: str, built_in: RubricRegistry) -> tuple[Check, Rubric | None]:
    """The check `draft` stands for, and the built-in rubric it came from (if any)."""
    advice = _text(draft.advice, f"{field}.advice", MAX_ADVICE_CHARS, required=False)
    if draft.uses is not None:
        if draft.exemplars or draft.question or draft.forbidden:
            raise InvalidInput(
                f"{field} uses a built-in check: give no exemplars, question or forbidden",
                field=field,
            )
        source, used = _used(draft, field, built_in)
        changes: dict[str, str] = {}
        if draft.id is not None:
            changes["id"] = _check_id(draft.id, f"{field}.id")
        if draft.description is not None:
            changes["description"] = _text(
                draft.description, f"{field}.description", MAX_CHECK_DESCRIPTION_CHARS
            )
        if advice:
            changes |= {"advice": advice, "advice_es": ""}
        return msgspec.structs.replace(used, **changes), source
    if draft.id is None or draft.description is None or not draft.exemplars:
        raise InvalidInput(
            f"{field} needs either uses, or id, description and exemplars", field=field
        )
    if len(draft.exemplars) > MAX_EXEMPLARS:
        raise InvalidInput(f"at most {MAX_EXEMPLARS} exemplars", field=f"{field}.exemplars")
    exemplars = tuple(_text(e, f"{field}.exemplars", MAX_EXEMPLAR_CHARS) for e in draft.exemplars)
    check = Check(
        id=_check_id(draft.id, f"{field}.id"),
        description=_text(draft.description, f"{field}.description", MAX_CHECK_DESCRIPTION_CHARS),
        exemplars=tuple(dict.fromkeys(exemplars)),
        question=draft.question,
        forbidden=draft.forbidden,
        negatable=draft.forbidden,
        advice=advice,
    )
    return check, None


def _criterion(
    draft: CriterionDraft, field: str, built_in: RubricRegistry
) -> tuple[Criterion, list[Rubric]]:
    if not draft.checks:
        raise InvalidInput(f"{field} needs at least one check", field=f"{field}.checks")
    if len(draft.checks) > MAX_CHECKS:
        raise InvalidInput(f"at most {MAX_CHECKS} checks", field=f"{field}.checks")
    if not 0 <= draft.weight <= MAX_WEIGHT:
        raise InvalidInput(f"weight is 0 to {MAX_WEIGHT:g}", field=f"{field}.weight")
    composed = [_check(c, f"{field}.checks[{n}]", built_in) for n, c in enumerate(draft.checks)]
    criterion = Criterion(
        id=_check_id(draft.id, f"{field}.id"),
        title=_text(draft.title, f"{field}.title", MAX_TITLE_CHARS),
        weight=float(draft.weight),
        blocker=draft.blocker,
        checks=tuple(check for check, _ in composed),
        advice=_text(draft.advice, f"{field}.advice", MAX_ADVICE_CHARS, required=False),
    )
    return criterion, [source for _, source in composed if source is not None]


def compose(
    draft: RubricDraft, *, rubric_id: str, version: int, built_in: RubricRegistry
) -> Rubric:
    """The rubric `draft` describes as `rubric_id` v`version`; InvalidInput (with the
    offending `field`, e.g. `criteria[1].checks[0].uses`) when it breaks a rule: at
    least one criterion, each with at least one check; criterion ids unique, check ids
    unique in the whole rubric; weights 0 to MAX_WEIGHT with at least one positive
    weight on a criterion that is no blocker (blockers decide pass/fail, not points);
    texts non-empty and bounded; references naming an existing built-in check."""
    if not draft.criteria:
        raise InvalidInput("a rubric needs at least one criterion", field="criteria")
    if len(draft.criteria) > MAX_CRITERIA:
        raise InvalidInput(f"at most {MAX_CRITERIA} criteria", field="criteria")
    criteria: list[Criterion] = []
    sources: dict[str, Rubric] = {}
    for n, criterion_draft in enumerate(draft.criteria):
        criterion, used = _criterion(criterion_draft, f"criteria[{n}]", built_in)
        criteria.append(criterion)
        sources |= {source.id: source for source in used}
    _require_unique([c.id for c in criteria], "criterion", "criteria")
    _require_unique([k.id for c in criteria for k in c.checks], "check", "criteria.checks")
    if not any(c.weight > 0 and not c.blocker for c in criteria):
        raise InvalidInput(
            "at least one criterion that is no blocker needs a weight above 0",
            field="criteria.weight",
        )
    return Rubric(
        id=rubric_id,
        version=version,
        title=_text(draft.title, "title", MAX_TITLE_CHARS),
        description=_text(draft.description, "description", MAX_DESCRIPTION_CHARS, required=False),
        criteria=tuple(criteria),
        # Referenced checks answering an objection need their rubric's objection words.
        objection_patterns=tuple(p for s in sources.values() for p in s.objection_patterns),
        objection_exemplars=tuple(e for s in sources.values() for e in s.objection_exemplars),
    )


def _require_unique(ids: list[str], what: str, field: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise InvalidInput(f"two {what}s have the id {value}", field=field)
        seen.add(value)
