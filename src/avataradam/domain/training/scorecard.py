"""Transcripts in, scorecards out (DESIGN "The training product", issue 17).

Scoring math (documented in docs/rubrics.md):

- a check is `passed` (bool) or not applicable (`applicable=False`, never counted);
- a criterion's `score` is the share of its applicable checks passed, 0-100 (rounded
  half up); its verdict is `met` at ≥ `MET_SCORE` (Good), `partly` above 0 (Fair),
  `missed` at 0 (Poor), `not_applicable` when no check applies. A blocker criterion is
  `met` only when every check passed, else `missed`;
- `overall` is the weight-averaged score of the applicable criteria with weight > 0,
  rounded half up (0 when none applies);
- `passed` is true when no blocker failed AND `overall` ≥ `PASS_MARK`.

Evidence: every quote must be a verbatim substring of the TRAINEE's (role `user`)
message it names. `verify_evidence` drops anything else, and `settle_check` then makes
a check that needs evidence fail (or, for a prohibition, pass) when no quote survives.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from uuid import UUID

import msgspec

from avataradam.domain.training.rubrics import Check, Criterion, Language, Rubric, RubricRef

PASS_MARK = 70
"""Overall score (0-100) a session needs, with no blocker failed, to pass: a trainer's
"C" — most skills shown, none missing entirely."""
MET_SCORE = 75
"""A criterion scoring at least this is `met` (Good): e.g. 3 of 4 discovery questions."""

Role = Literal["user", "assistant"]
Verdict = Literal["met", "partly", "missed", "not_applicable"]


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a roleplay session: `user` is the trainee, `assistant` the customer
    persona. `id` is the stored message's id as text (a UUID's `str`)."""

    id: str
    role: Role
    text: str


class Transcript(msgspec.Struct, frozen=True, kw_only=True):
    """A session's messages in order, and the language it was practised in."""

    messages: tuple[Message, ...]
    language: Language = "en"

    @classmethod
    def of(
        cls, messages: Iterable[tuple[str | UUID, Role, str]], language: Language = "en"
    ) -> Transcript:
        """From `(id, role, text)` triples; UUID ids become their text."""
        return cls(
            messages=tuple(Message(id=str(i), role=r, text=t) for i, r, t in messages),
            language=language,
        )

    def trainee_text(self, message_id: str) -> str | None:
        """The text of the trainee message `message_id`, or None (absent, or the
        customer's)."""
        for message in self.messages:
            if message.id == message_id:
                return message.text if message.role == "user" else None
        return None


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    quote: str


class CheckResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    passed: bool
    evidence: tuple[Evidence, ...] = ()
    applicable: bool = True


class WordingSource(msgspec.Struct, frozen=True, kw_only=True):
    """The passage of the dealership's documents a suggested wording was drawn from."""

    document_id: UUID
    filename: str
    chunk_id: str
    page: int | None = None
    section: str | None = None


class CriterionResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    verdict: Verdict
    score: int
    checks: tuple[CheckResult, ...]
    advice: str | None = None
    blocker: bool = False
    suggested_wording: str | None = None
    """For a criterion missed or partly met: what the dealership's own playbook,
    objection-handling or compliance documents say to say (`training.suggestions`)."""
    sources: tuple[WordingSource, ...] = ()
    """Where `suggested_wording` comes from."""


FallbackReason = Literal[
    "invalid_output",
    "missing",
    "unverified_quote",
    "customer_words",
    "no_evidence",
    "not_applicable_claim",
    "blocker_upheld",
]
"""Why a check the `llm` judge answered was decided by `rules` (`training.llm_judge`)."""


class Fallback(msgspec.Struct, frozen=True, kw_only=True):
    """A check the `rules` scorer decided, and why the judge's verdict was not used."""

    id: str
    reason: FallbackReason


class ScorerRef(msgspec.Struct, frozen=True, kw_only=True):
    """`{kind, model}`; for `llm`, also `judged` (ids of the checks the judge decided, in
    rubric order) and `fell_back` (the others, each with its reason): every check of
    the rubric is in exactly one of them."""

    kind: Literal["rules", "llm"]
    model: str | None = None
    judged: tuple[str, ...] = ()
    fell_back: tuple[Fallback, ...] = ()


class Scorecard(msgspec.Struct, frozen=True, kw_only=True):
    """DESIGN's scorecard without the persistence fields (`status`), which the stored
    record adds."""

    overall: int
    passed: bool
    blockers_failed: tuple[str, ...]
    criteria: tuple[CriterionResult, ...]
    keep: tuple[str, ...]
    start: tuple[str, ...]
    stop: tuple[str, ...]
    rubric: RubricRef
    scorer: ScorerRef


def verify_evidence(transcript: Transcript, evidence: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """The pieces of `evidence` whose quote is a non-blank verbatim substring of the
    trainee message it names; duplicates dropped, order kept."""
    kept: list[Evidence] = []
    for piece in evidence:
        text = transcript.trainee_text(piece.message_id)
        if text is None or not piece.quote.strip() or piece.quote not in text:
            continue
        if piece not in kept:
            kept.append(piece)
    return tuple(kept)


def settle_check(
    transcript: Transcript, check: Check, *, passed: bool, evidence: Iterable[Evidence]
) -> CheckResult:
    """A check's result with only verified evidence. Without a verified quote, a check
    that needs evidence cannot pass (a positive check) or fail (a `forbidden` one)."""
    verified = verify_evidence(transcript, evidence)
    if check.needs_evidence and not verified:
        passed = check.forbidden
    return CheckResult(id=check.id, passed=passed, evidence=verified)


def round_half_up(value: float) -> int:
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def criterion_score(checks: Sequence[CheckResult]) -> int | None:
    """Share of the applicable checks passed, 0-100; None when none applies."""
    applicable = [c for c in checks if c.applicable]
    if not applicable:
        return None
    return round_half_up(100 * sum(c.passed for c in applicable) / len(applicable))


def verdict(score: int | None, *, blocker: bool) -> Verdict:
    if score is None:
        return "not_applicable"
    if blocker:
        return "met" if score == 100 else "missed"
    return "met" if score >= MET_SCORE else "partly" if score > 0 else "missed"


def overall_score(criteria: Sequence[CriterionResult], weights: dict[str, float]) -> int:
    """Weight-averaged score of the applicable criteria with weight > 0 (0 when none)."""
    total = weight_sum = 0.0
    for result in criteria:
        weight = weights.get(result.id, 0.0)
        if result.verdict == "not_applicable" or weight <= 0:
            continue
        total += weight * result.score
        weight_sum += weight
    return round_half_up(total / weight_sum) if weight_sum else 0


def session_passed(overall: int, blockers_failed: Sequence[str]) -> bool:
    return not blockers_failed and overall >= PASS_MARK


def criterion_result(
    criterion: Criterion, checks: tuple[CheckResult, ...], language: str
) -> CriterionResult:
    """A criterion's result from its checks' (score, verdict, title and advice in the
    transcript's language); shared by the `rules` and `llm` scorers."""
    score = criterion_score(checks)
    result_verdict = verdict(score, blocker=criterion.blocker)
    advice = criterion.advice_es if language == "es" and criterion.advice_es else criterion.advice
    title = criterion.title_es if language == "es" and criterion.title_es else criterion.title
    return CriterionResult(
        id=criterion.id,
        title=title,
        verdict=result_verdict,
        score=score or 0,
        checks=checks,
        advice=advice if result_verdict in ("partly", "missed") else None,
        blocker=criterion.blocker,
    )


def _first_quote(result: CriterionResult, *, passed: bool) -> str | None:
    for check in result.checks:
        if check.applicable and check.passed is passed and check.evidence:
            return check.evidence[0].quote
    return None


def assemble_scorecard(rubric: Rubric, results: list[CriterionResult]) -> Scorecard:
    """The scorecard of `results` (overall, pass, blockers, keep/start/stop) scored
    `rules` against `rubric`; the `llm` scorer replaces `scorer` afterwards."""
    weights = {c.id: c.weight for c in rubric.criteria}
    overall = overall_score(results, weights)
    blockers_failed = tuple(r.id for r in results if r.blocker and r.verdict == "missed")
    keep, start, stop = [], [], []
    for result in results:
        if result.blocker:
            quote = _first_quote(result, passed=False)
            if result.verdict == "missed":
                advice = result.advice or result.title
                stop.append(f"{advice} \u2014 \u201c{quote}\u201d" if quote else advice)
            continue
        if result.verdict == "met":
            quote = _first_quote(result, passed=True)
            keep.append(f"{result.title}: \u201c{quote}\u201d" if quote else result.title)
        elif result.verdict in ("partly", "missed") and result.advice:
            start.append(result.advice)
    return Scorecard(
        overall=overall,
        passed=session_passed(overall, blockers_failed),
        blockers_failed=blockers_failed,
        criteria=tuple(results),
        keep=tuple(keep),
        start=tuple(start),
        stop=tuple(stop),
        rubric=RubricRef(id=rubric.id, version=rubric.version),
        scorer=ScorerRef(kind="rules"),
    )
