"""Rubrics: what a roleplay session is scored against (issue 17, DESIGN "Scoring").

A `Rubric` is a list of `Criterion`s, each a list of objective yes/no `Check`s. A rubric
value is immutable (frozen Structs, tuples): a changed rubric is a new value with a new
`version`, so a scorecard that names `(id, version)` can always be re-read against the
exact rubric it was scored with. `RubricRegistry` holds the built-in rubrics by
`(id, version)`.

What the `rules` scorer (`domain.training.rules`) reads from a check:

- `patterns`: regular expressions (case-insensitive), English and Spanish, matched against
  each of the trainee's sentences with the customer's words masked out
  (`domain.training.speech`);
- `exemplars`: phrasings (either language) a sentence is compared with by embedding
  similarity; a sentence at least `RulesScorer.threshold` similar counts as a match;
- `requires`: patterns that must ALSO match the same sentence (e.g. a number for "showed
  the base payment");
- `question`: the sentence must be a question (ends with "?" / opens with "¿");
- `context`: where the sentence may be: `anywhere`, `objection_opening` (the first
  sentence of the trainee's reply to a customer objection; the check is not applicable
  when the customer raised none, and passes only when EVERY objection reply opens so),
  `objection_reply` (any sentence of such a reply; passes when one matches);
- `negatable`: a match with a negation in its clause before the match ends does not
  count ("I would never tell you it's required" is not "it's required", nor "the bank
  doesn't need it" "the bank needs it"); `negated_patterns` are patterns whose own words
  hold a negation ("won't get approved without it"): only a negation before such a match
  cancels it;
- `unless`: patterns that cancel a match of `patterns` or `negated_patterns` when found
  in the same clause (clauses as for negation): speech the trainee attributes to
  someone else ("some customers think the bank requires it", "si alguien le dijo que…")
  or the lawful context of a statement ("your factory warranty won't cover it once it
  expires"); a later clause is not covered ("some people think it's optional, but the
  bank requires GAP" still matches);
- `forbidden`: the check is a prohibition: it passes when NO sentence matches, and a
  failed one cites the violating sentences;
- `before`: an order constraint: the check passes when its first matching sentence comes
  before the first trainee sentence matching any of `before` (or none does), e.g. value
  stated before a price is quoted.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

Language = Literal["en", "es"]
CheckContext = Literal["anywhere", "objection_opening", "objection_reply"]


class Check(msgspec.Struct, frozen=True, kw_only=True):
    """One objective yes/no check; see the module docstring for what the fields mean."""

    id: str
    description: str
    needs_evidence: bool = True
    """A check that needs evidence is never `passed: true` (or, when `forbidden`, never
    `passed: false`) without a verified verbatim quote of the trainee."""
    patterns: tuple[str, ...] = ()
    negated_patterns: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    exemplars: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    question: bool = False
    context: CheckContext = "anywhere"
    negatable: bool = False
    forbidden: bool = False
    before: tuple[str, ...] = ()
    advice: str = ""
    advice_es: str = ""


class Criterion(msgspec.Struct, frozen=True, kw_only=True):
    """A skill made of checks. `weight` (≥ 0) weighs its score in the overall score;
    a `blocker` criterion is compliance: one failed check fails the session whatever the
    score (blockers carry weight 0 in the built-in rubric: not breaking the law earns no
    points, it is the condition of passing)."""

    id: str
    title: str
    weight: float
    blocker: bool = False
    checks: tuple[Check, ...]
    advice: str
    advice_es: str = ""
    title_es: str = ""


class Rubric(msgspec.Struct, frozen=True, kw_only=True):
    """A versioned, immutable rubric. `objection_patterns` / `objection_exemplars` tell
    a customer (persona) message that raises an objection, for the checks whose
    `context` is an objection reply."""

    id: str
    version: int
    title: str
    description: str
    criteria: tuple[Criterion, ...]
    objection_patterns: tuple[str, ...] = ()
    objection_exemplars: tuple[str, ...] = ()

    def checks(self) -> Iterable[tuple[Criterion, Check]]:
        """Every (criterion, check) pair in rubric order."""
        for criterion in self.criteria:
            for check in criterion.checks:
                yield criterion, check


class RubricRef(msgspec.Struct, frozen=True, kw_only=True):
    """Names one rubric version: what a scorecard records."""

    id: str
    version: int


class UnknownRubric(LookupError):
    """No rubric with that id (and version) is registered."""


class RubricRegistry:
    """Rubrics by `(id, version)`. A version, once registered, can never be replaced by a
    different value (ValueError); registering the identical value again is a no-op."""

    def __init__(self, rubrics: Iterable[Rubric] = ()) -> None:
        self._by_key: dict[tuple[str, int], Rubric] = {}
        for rubric in rubrics:
            self.register(rubric)

    def register(self, rubric: Rubric) -> None:
        key = (rubric.id, rubric.version)
        existing = self._by_key.get(key)
        if existing is not None and existing != rubric:
            raise ValueError(f"rubric {rubric.id} v{rubric.version} is already registered")
        self._by_key[key] = rubric

    def get(self, rubric_id: str, version: int) -> Rubric:
        """The rubric `rubric_id` at `version`; `UnknownRubric` when absent."""
        try:
            return self._by_key[(rubric_id, version)]
        except KeyError:
            raise UnknownRubric(f"{rubric_id} v{version}") from None

    def latest(self, rubric_id: str) -> Rubric:
        """The highest version of `rubric_id`; `UnknownRubric` when none is registered."""
        versions = [v for (rid, v) in self._by_key if rid == rubric_id]
        if not versions:
            raise UnknownRubric(rubric_id)
        return self._by_key[(rubric_id, max(versions))]

    def versions(self, rubric_id: str) -> list[int]:
        """The registered versions of `rubric_id`, ascending."""
        return sorted(v for (rid, v) in self._by_key if rid == rubric_id)

    def ids(self) -> list[str]:
        return sorted({rid for rid, _ in self._by_key})
