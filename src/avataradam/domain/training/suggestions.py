"""Suggested wording for what a session missed, drawn from the dealership's own
documents (issue 17, "the report": "for each missed criterion a suggested wording drawn
from the dealership's own objection-handling/playbook documents (with citations) when
they have one").

For each criterion a scorecard rates `missed` or `partly`, the dealership's knowledge
base is searched with the criterion's title and advice: its objection-handling and
playbook documents, and its compliance documents for a compliance (blocker) criterion.
The best passage, if it clears the chat relevance floor of the vectors searched, gives
the wording and its source. Nothing is generated: the wording is the document's own
text — a quoted line of at least `MIN_QUOTE` characters when the passage holds one
(playbooks script what to say in quotes), else its opening sentences up to
`MAX_WORDING` characters — so a suggestion can never contradict the document it cites.
A dealership without such documents (or none relevant enough) gets no suggestion.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final
from uuid import UUID

import msgspec

from avataradam.domain.model import Topic
from avataradam.domain.ports.repositories.identity import GenerationReader
from avataradam.domain.retrieval import SearchHit, normalise_query
from avataradam.domain.training.scorecard import CriterionResult, Scorecard, WordingSource
from avataradam.domain.usecases.search import SearchKnowledgeBase

MIN_QUOTE: Final = 20
MAX_WORDING: Final = 300
"""Characters, about two spoken sentences."""
COACHING: Final = (Topic.OBJECTION_HANDLING, Topic.PLAYBOOKS)
COMPLIANCE: Final = (Topic.COMPLIANCE,)

_QUOTED = re.compile(rf"[“\"]([^“”\"]{{{MIN_QUOTE},{MAX_WORDING}}})[”\"]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def wording(text: str) -> str:
    """The wording a passage suggests: its first quoted line of `MIN_QUOTE` to
    `MAX_WORDING` characters, else its opening sentences that fit in `MAX_WORDING`
    characters (the first sentence cut at a word, with an ellipsis, when it alone is
    longer). Whitespace collapsed."""
    flat = " ".join(text.split())
    quoted = _QUOTED.search(flat)
    if quoted:
        return quoted.group(1).strip()
    kept = ""
    for sentence in _SENTENCE_END.split(flat):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > MAX_WORDING:
            break
        kept = candidate
    if kept:
        return kept
    return flat[:MAX_WORDING].rsplit(" ", 1)[0] + "…"


class SuggestWording:
    """`scorecard` with `suggested_wording` and `sources` on every criterion rated
    `missed` or `partly` for which the dealership's documents hold a relevant passage
    (see the module). Raises what search raises (`DependencyUnavailable`: the scoring
    task retries)."""

    def __init__(
        self,
        generations: GenerationReader,
        search: SearchKnowledgeBase,
        floor: Callable[[str | None], float],
    ) -> None:
        """`floor(profile)`: the relevance floor of passages of vectors made by
        `profile` (the chat's, `chat.relevance_floor`)."""
        self._generations, self._search, self._floor = generations, search, floor

    async def __call__(self, dealership_id: UUID, scorecard: Scorecard) -> Scorecard:
        state = await self._generations.state(dealership_id)
        if state is None:
            return scorecard
        floor = self._floor(state.vectors.profile)
        criteria: list[CriterionResult] = []
        for criterion in scorecard.criteria:
            if criterion.verdict not in ("missed", "partly"):
                criteria.append(criterion)
                continue
            query = normalise_query(f"{criterion.title}. {criterion.advice or ''}")
            result = await self._search.retrieve(
                dealership_id=dealership_id,
                generation=state.generation,
                vectors=state.vectors,
                normalised=query,
                topics=COMPLIANCE if criterion.blocker else COACHING,
                top_k=1,
            )
            best = result.hits[0] if result.hits else None
            if best is None or best.score < floor:
                criteria.append(criterion)
                continue
            criteria.append(
                msgspec.structs.replace(
                    criterion, suggested_wording=wording(best.text), sources=(_source(best),)
                )
            )
        return msgspec.structs.replace(scorecard, criteria=tuple(criteria))


def _source(hit: SearchHit) -> WordingSource:
    return WordingSource(
        document_id=hit.document_id,
        filename=hit.filename,
        chunk_id=hit.chunk_id,
        page=hit.page,
        section=hit.section,
    )
