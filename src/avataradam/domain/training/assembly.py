"""Turning check results into a scorecard, the same for every scorer (`rules`,
`llm`): a criterion's score and verdict from its checks, the weighted overall score,
the blockers failed, and keep/start/stop with the trainee's own words quoted.
The math is docs/rubrics.md's (`domain.training.scorecard` holds its pieces)."""

from __future__ import annotations

from avataradam.domain.training.rubrics import Criterion, Rubric, RubricRef
from avataradam.domain.training.scorecard import (
    CheckResult,
    CriterionResult,
    Scorecard,
    ScorerRef,
    criterion_score,
    overall_score,
    session_passed,
    verdict,
)


def criterion_result(
    criterion: Criterion, checks: tuple[CheckResult, ...], language: str
) -> CriterionResult:
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
