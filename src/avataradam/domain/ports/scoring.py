"""The `Scorer` port: judges a roleplay transcript against a rubric (issue 17).

Two implementations: `domain.training.rules.RulesScorer` (`rules`: patterns plus
embedding similarity, deterministic, no generative model) and the `llm` judge (later).
"""

from __future__ import annotations

from typing import Protocol

from avataradam.domain.training.rubrics import Rubric
from avataradam.domain.training.scorecard import Scorecard, Transcript


class Scorer(Protocol):
    """`score` answers the transcript's scorecard against `rubric` (the exact version
    given: the caller resolves and freezes it). Every evidence quote in the answer is a
    verified verbatim substring of the trainee message it names
    (`domain.training.scorecard.verify_evidence`). Raises `EmbedderUnavailable` (retry)
    when a dependency is down; never a partial scorecard."""

    async def score(self, rubric: Rubric, transcript: Transcript) -> Scorecard: ...
